import { readFlowSample } from "../dist/lib/flow/files.js";
import { readdirSync, readFileSync } from "node:fs";
const dir = process.argv[2];
const manifest = JSON.parse(readFileSync(`${dir}/results/flow/samples/manifest.json`, "utf8"));
const items = (manifest.items ?? manifest).slice(0, Number(process.argv[3] ?? 60));
const acc = { 0: [], 1: [] };
for (const it of items) {
  const label = it.meta?.label;
  const p = `${dir}/results/flow/samples/${it.id}/sample.h5`;
  const s = await readFlowSample(p);
  const plane = s.rows * s.cols, C = s.rows / 3 | 0;
  let corner = 0, nc = 0, band = 0, nb = 0, maxCorner = 0;
  for (let c = 0; c < s.channels; c++) {
    const [mn, mx] = [s.range[2*c], s.range[2*c+1]];
    let cc = 0;
    for (let y = 0; y < s.rows; y++) for (let x = 0; x < s.cols; x++) {
      const v = Math.abs(mn + s.flow[c*plane + y*s.cols + x] / 255 * (mx - mn));
      if (x < C && y < C) { corner += v; nc++; cc += v; } else if (y > 0.35*s.rows && y < 0.65*s.rows) { band += v; nb++; }
    }
    maxCorner = Math.max(maxCorner, cc / (C*C));
  }
  acc[label].push([corner / nc, band / nb, maxCorner]);
}
for (const l of [0, 1]) { const a = acc[l]; const m = (k) => (a.reduce((s, v) => s + v[k], 0) / a.length).toFixed(3); console.log("label", l, "n", a.length, "corner", m(0), "band", m(1), "max-pair corner", m(2)); }
