import sys, torch, numpy as np
sys.path.insert(0, "bench")
from explain_reference import load, layers, forward
m, w, inp = load(sys.argv[1])
x = inp["temporal"].permute(0,3,1,2)
ls = layers(m["arch"], "temporal", w, 0)
h = x
with torch.no_grad():
  for i, l in enumerate(ls):
    if l[0] in ("conv","dense"):
      z = forward(l, h)
      mins = z.abs().reshape(z.shape[0], -1).min(1).values
      print(l[0], i, ["%.1e" % v for v in (mins / z.abs().reshape(z.shape[0],-1).max(1).values)[[3,4,5,19]].tolist()])
    h = forward(l, h)
