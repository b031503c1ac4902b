"""PyTorch reference for bench/train.ts: the same two-stream network (read from the
architecture JSON that the TypeScript benchmark writes; default and paper, and the paper's
temporal stream alone), the same loss (NLL of the averaged
log-softmax) and optimiser (Adam with weight decay), random inputs; prints one JSON line per
network with its training throughput in samples/s.

    python3 bench/train_reference.py archs.json [--threads N] [--steps 3] [--paper-steps 1]
                                     [--batch 32] [--paper-batch 4]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def stream(arch, channels, is_spatial):
    layers = []
    side = arch["input_size"]
    for layer in arch["conv"]:
        layers += [nn.Conv2d(channels, layer["filters"], layer["kernel"], layer["stride"], layer["pad"]), nn.ReLU(inplace=True)]
        side = (side + 2 * layer["pad"] - layer["kernel"]) // layer["stride"] + 1
        if layer["lrn"] in ("both", "spatial" if is_spatial else "temporal"):
            p = arch["lrn"]
            layers.append(nn.LocalResponseNorm(p["size"], p["alpha"], p["beta"], p["k"]))
        if layer["pool"]:
            layers.append(nn.MaxPool2d(arch["pool"]["size"], arch["pool"]["stride"]))
            side = (side - arch["pool"]["size"]) // arch["pool"]["stride"] + 1
        channels = layer["filters"]
    layers.append(nn.Flatten())
    units = side * side * channels
    for hidden in arch["fc"]:
        layers += [nn.Linear(units, hidden), nn.ReLU(inplace=True), nn.Dropout(arch["dropout"])]
        units = hidden
    layers.append(nn.Linear(units, arch["classes"]))
    return nn.Sequential(*layers)


def flow_channels(arch):
    return 2 * len(range(0, arch["flow_pairs"], arch["flow_stride"]))


def samples_per_second(arch, batch, steps, temporal_only):
    spatial, temporal = stream(arch, 1, True), stream(arch, flow_channels(arch), False)
    params = list(temporal.parameters()) + ([] if temporal_only else list(spatial.parameters()))
    optimiser = torch.optim.Adam(params, lr=1e-4, weight_decay=1e-4)
    s = arch["input_size"]
    xs, xt = torch.randn(batch, 1, s, s), torch.randn(batch, flow_channels(arch), s, s)
    y = torch.arange(batch) % 2
    times = []
    for i in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        optimiser.zero_grad()
        if temporal_only:
            out = F.log_softmax(temporal(xt), 1)
        else:
            out = (F.log_softmax(spatial(xs), 1) + F.log_softmax(temporal(xt), 1)) / 2
        F.nll_loss(out, y).backward()
        optimiser.step()
        if i > 0:
            times.append(time.perf_counter() - start)
    return batch / (sum(times) / len(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--paper-steps", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--paper-batch", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.archs) as f:
        archs = json.load(f)
    networks = [("default", archs["default"], False), ("paper", archs["paper"], False), ("paper-temporal", archs["paper"], True)]
    for name, arch, temporal_only in networks:
        paper = name != "default"
        batch, steps = (a.paper_batch, a.paper_steps) if paper else (a.batch, a.steps)
        rate = samples_per_second(arch, batch, steps, temporal_only)
        print(json.dumps({"network": name, "version": torch.__version__, "threads": a.threads, "batch": batch, "steps": steps, "samples_per_second": rate}), flush=True)


if __name__ == "__main__":
    main()
