#!/usr/bin/python3
"""Reference Farneback flow with the system's OpenCV (Debian's python3-opencv), for bench/flow.ts.

    /usr/bin/python3 bench/flow_reference.py frames.npy flows.npy [--threads 1]

frames.npy: uint8 [n, rows, cols]; flows.npy: float32 [n-1, rows, cols, 2] (x, y). Prints one
JSON line of timings. The parameters default to the paper's (FACTS.md, Augmentation).
"""
import argparse
import json
import time

import cv2
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("frames")
parser.add_argument("flows")
parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads; 0 = OpenCV's default")
parser.add_argument("--pyr-scale", type=float, default=0.8)
parser.add_argument("--levels", type=int, default=10)
parser.add_argument("--winsize", type=int, default=10)
parser.add_argument("--iterations", type=int, default=10)
parser.add_argument("--poly-n", type=int, default=13)
parser.add_argument("--poly-sigma", type=float, default=1.8)
parser.add_argument("--flags", type=int, default=0)
args = parser.parse_args()

if args.threads > 0:
    cv2.setNumThreads(args.threads)
frames = np.load(args.frames)
if frames.dtype != np.uint8 or frames.ndim != 3:
    raise SystemExit(f"{args.frames}: expected uint8 [n, rows, cols], got {frames.dtype} {frames.shape}")
params = (args.pyr_scale, args.levels, args.winsize, args.iterations, args.poly_n, args.poly_sigma, args.flags)

def flow(a, b):
    return cv2.calcOpticalFlowFarneback(a, b, None, *params)

for _ in range(2):  # warm-up: first calls allocate buffers
    flow(frames[0], frames[1])

pairs = len(frames) - 1
flows = np.empty((pairs, frames.shape[1], frames.shape[2], 2), np.float32)
times = []
cpu0 = time.process_time()
for k in range(pairs):
    t0 = time.perf_counter()
    flows[k] = flow(frames[k], frames[k + 1])
    times.append(time.perf_counter() - t0)
cpu = time.process_time() - cpu0
np.save(args.flows, flows)
print(json.dumps({
    "opencv": cv2.__version__,
    "threads": cv2.getNumThreads(),
    "pairs": pairs,
    "per_pair_ms_median": float(np.median(times) * 1e3),
    "per_pair_ms_mean": float(np.mean(times) * 1e3),
    "event_s": float(np.sum(times)),
    # CPU time of the process over the event: what the work costs, whatever else runs on the machine.
    "cpu_ms_per_pair": cpu * 1e3 / pairs,
}))
