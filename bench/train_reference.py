"""PyTorch reference for bench/train.ts: the same two-stream network (read from the
architecture JSON that the TypeScript benchmark writes), or its temporal stream alone, the same
loss (NLL of the averaged log-softmax) and optimiser (Adam with weight decay), random inputs;
prints one JSON line with its training throughput in samples/s.

    python3 bench/train_reference.py net.json [--threads N] [--device cpu|cuda]
    net.json: {"arch": {...}, "temporal_only": false, "batch": 32, "steps": 5}
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


def samples_per_second(arch, batch, steps, temporal_only, device):
    spatial, temporal = stream(arch, 1, True).to(device), stream(arch, flow_channels(arch), False).to(device)
    params = list(temporal.parameters()) + ([] if temporal_only else list(spatial.parameters()))
    optimiser = torch.optim.Adam(params, lr=1e-4, weight_decay=1e-4)
    s = arch["input_size"]
    xs, xt = torch.randn(batch, 1, s, s, device=device), torch.randn(batch, flow_channels(arch), s, s, device=device)
    y = torch.arange(batch, device=device) % 2
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
        if device != "cpu":
            torch.cuda.synchronize()
        if i > 0:
            times.append(time.perf_counter() - start)
    return batch / (sum(times) / len(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("net")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.net) as f:
        net = json.load(f)
    rate = samples_per_second(net["arch"], net["batch"], net["steps"], net["temporal_only"], a.device)
    name = torch.cuda.get_device_name(0) if a.device != "cpu" else "CPU"
    print(json.dumps({"version": torch.__version__, "device": name, "threads": a.threads, "samples_per_second": rate}), flush=True)


if __name__ == "__main__":
    main()
