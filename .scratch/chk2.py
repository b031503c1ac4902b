import sys, torch
sys.path.insert(0, "bench")
import explain_reference as er
m, w, inp = er.load(sys.argv[1])
x = inp["temporal"].permute(0,3,1,2).contiguous()
t = m["targets"]["temporal"]
h32 = er.explain(m, w, x, "temporal", t, "saliency")
w64 = {k: v.double() for k, v in w.items()}
h64 = er.explain(m, w64, x.double(), "temporal", t, "saliency").float()
d = (h32 - h64).abs().reshape(32, -1).max(1).values / h64.abs().reshape(32, -1).max(1).values
print(["%d:%.1e" % (i, v) for i, v in enumerate(d.tolist()) if v > 1e-4])
