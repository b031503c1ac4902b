#!/usr/bin/python3
"""OpenCV's grey JPEG round trip (libjpeg) of quantised flow channels, beside ours, for bench/flow.ts.

    /usr/bin/python3 bench/flow_jpeg_reference.py channels.npy ours.npy quality

channels.npy: uint8 [n, rows, cols], the quantised channels; ours.npy: the same after
lib/flow/jpeg.ts at `quality`. Prints one JSON line: how often and how much the two differ, the
loss of each, and OpenCV's time and JPEG size per channel.
"""
import json
import sys
import time

import cv2
import numpy as np

channels = np.load(sys.argv[1])
ours = np.load(sys.argv[2])
quality = int(sys.argv[3])
t0 = time.perf_counter()
encoded = [cv2.imencode(".jpg", c, [cv2.IMWRITE_JPEG_QUALITY, quality])[1] for c in channels]
theirs = np.stack([cv2.imdecode(e, cv2.IMREAD_GRAYSCALE) for e in encoded])
seconds = time.perf_counter() - t0
diff = np.abs(ours.astype(int) - theirs.astype(int))
print(json.dumps({
    "quality": quality,
    "equal_share": float((diff == 0).mean()),
    "mean_abs_diff": float(diff.mean()),
    "max_abs_diff": int(diff.max()),
    "loss_opencv": float(np.abs(theirs.astype(int) - channels.astype(int)).mean()),
    "loss_ours": float(np.abs(ours.astype(int) - channels.astype(int)).mean()),
    "opencv_ms_per_channel": seconds * 1e3 / len(channels),
    "jpeg_bytes_per_channel": float(np.mean([len(e) for e in encoded])),
}))
