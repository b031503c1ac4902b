"""PyTorch reference for the explain stage's rules, written independently of lib/explain: the
same stream (read from the architecture and weights that bench/explain-compare.ts exports), the
rules of deep Taylor (z^B on the input layer, z+ above, winner-takes-all at max-pooling, LRN as
identity), LRP-epsilon, LRP-0 (LRN by gradient x input), saliency and guided backprop, each by
the "gradient trick" (zennit's way): a rule's backward pass is autograd through a modified
forward. Writes one float32 file of heatmaps per method and stream, channels-last, and prints
one JSON line of timings.

    python3 bench/explain_reference.py CASE_DIR [--threads N]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(case):
    manifest = json.load(open(os.path.join(case, "manifest.json")))
    data = np.fromfile(os.path.join(case, "data.bin"), dtype="<f4")

    def array(entry):
        n = int(np.prod(entry["shape"]))
        return torch.from_numpy(data[entry["offset"]:entry["offset"] + n].reshape(entry["shape"]).copy())

    weights = {w["name"]: array(w) for w in manifest["weights"]}
    inputs = {k: array(v) for k, v in manifest["inputs"].items()}
    return manifest, weights, inputs


def layers(arch, stream, weights, target):
    out = []
    for i, conv in enumerate(arch["conv"]):
        name = f"{stream}/conv{i + 1}"
        # HWIO (TensorFlow) to OIHW (PyTorch)
        out.append(("conv", weights[name + "/kernel"].permute(3, 2, 0, 1).contiguous(), weights[name + "/bias"], conv["stride"], conv["pad"]))
        out.append(("relu",))
        if conv["lrn"] in ("both", stream):
            out.append(("lrn", arch["lrn"]))
        if conv["pool"]:
            out.append(("pool", arch["pool"]["size"], arch["pool"]["stride"]))
    out.append(("flatten",))
    first = len(arch["conv"]) + 1
    for i in range(len(arch["fc"])):
        name = f"{stream}/fc{first + i}"
        out.append(("dense", weights[name + "/kernel"], weights[name + "/bias"]))
        out.append(("relu",))
    name = f"{stream}/fc{first + len(arch['fc'])}"
    kernel, bias = weights[name + "/kernel"], weights[name + "/bias"]
    classes = kernel.shape[1]
    contrast = torch.full((classes,), -1.0 / (classes - 1), dtype=kernel.dtype)
    contrast[target] = 1.0
    out.append(("dense", (kernel @ contrast)[:, None], (bias @ contrast)[None]))
    return out


def forward(layer, x, kernel=None, bias=True):
    kind = layer[0]
    if kind == "conv":
        w = layer[1] if kernel is None else kernel
        return F.conv2d(x, w, layer[2] if bias else None, stride=layer[3], padding=layer[4])
    if kind == "dense":
        w = layer[1] if kernel is None else kernel
        y = x @ w
        return y + layer[2] if bias else y
    if kind == "relu":
        return F.relu(x)
    if kind == "lrn":
        p = layer[1]
        return F.local_response_norm(x, p["size"], alpha=p["alpha"], beta=p["beta"], k=p["k"])
    if kind == "pool":
        return F.max_pool2d(x, layer[1], layer[2])
    if kind == "flatten":
        # channels-last order, as TensorFlow flattens NHWC
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def grad_of(output, x, weight):
    (g,) = torch.autograd.grad(output, x, grad_outputs=weight)
    return g


def safe_div(r, z):
    return torch.where(z != 0, r / torch.where(z != 0, z, torch.ones_like(z)), torch.zeros_like(z))


def backward(method, index, layer, a, r, bounds, epsilon):
    kind = layer[0]
    a = a.detach().requires_grad_(True)
    linear = kind in ("conv", "dense")
    if method in ("saliency", "guided"):
        if kind == "relu" and method == "guided":
            return r.clamp(min=0) * (a > 0)
        y = forward(layer, a)
        return grad_of(y, a, r)
    if linear and method == "deep_taylor" and index == 0:
        w = layer[1]
        wp, wm = w.clamp(min=0), w.clamp(max=0)
        shape = [-1] + [1] * (a.dim() - 1)
        low = (torch.ones_like(a) * bounds[0].view(shape)).requires_grad_(True)
        high = (torch.ones_like(a) * bounds[1].view(shape)).requires_grad_(True)
        z = forward(layer, a, w, False) - forward(layer, low, wp, False) - forward(layer, high, wm, False)
        s = safe_div(r, z).detach()
        (ga, gl, gh) = torch.autograd.grad(z, (a, low, high), grad_outputs=s)
        # d z / d low = -W+^T s, d z / d high = -W-^T s: the rule's terms with their signs
        return a * ga + low * gl + high * gh
    if linear and method == "deep_taylor":
        z = forward(layer, a, layer[1].clamp(min=0), False)
        return a * grad_of(z, a, safe_div(r, z).detach())
    if linear:
        z = forward(layer, a)
        denominator = z + epsilon * torch.sign(z) if method == "lrp_epsilon" else z
        return a * grad_of(z, a, safe_div(r, denominator).detach())
    if kind == "pool":
        return grad_of(forward(layer, a), a, r)
    if kind == "lrn" and method == "lrp_0":
        y = forward(layer, a)
        return a * grad_of(y, a, safe_div(r, y.detach()).detach())
    if kind == "flatten":
        return r.reshape(a.shape[0], a.shape[2], a.shape[3], a.shape[1]).permute(0, 3, 1, 2)
    return r  # relu, LRN as identity


def explain(manifest, weights, x, stream, targets, method):
    arch = manifest["arch"]
    out = torch.zeros_like(x)
    for target in sorted(set(targets)):
        idx = [i for i, t in enumerate(targets) if t == target]
        xs = x[idx]
        ls = layers(arch, stream, weights, target)
        acts = []
        h = xs
        with torch.no_grad():
            for layer in ls:
                acts.append(h)
                h = forward(layer, h)
        flat = xs.reshape(len(idx), -1)
        bounds = (flat.min(1).values, flat.max(1).values)
        r = h if method not in ("saliency", "guided") else torch.ones_like(h)
        for i in range(len(ls) - 1, -1, -1):
            r = backward(method, i, ls[i], acts[i], r, bounds, manifest["epsilon"]).detach()
        if method == "saliency":
            r = r.abs()
        out[idx] = r
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    manifest, weights, inputs = load(args.case)
    timings = {}
    for method in manifest["methods"]:
        name = "guided" if method == "guided_backprop" else method
        start = time.perf_counter()
        for stream in ("spatial", "temporal"):
            # channels-last (TensorFlow) to channels-first (PyTorch) and back
            x = inputs[stream].permute(0, 3, 1, 2).contiguous()
            heat = explain(manifest, weights, x, stream, manifest["targets"][stream], name)
            heat.permute(0, 2, 3, 1).contiguous().numpy().astype("<f4").tofile(os.path.join(args.case, f"ref-{method}-{stream}.bin"))
        elapsed = time.perf_counter() - start
        timings[method] = {"seconds": elapsed, "samples_per_s": inputs["spatial"].shape[0] / elapsed}
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "timings": timings}))


if __name__ == "__main__":
    main()
