import { readFlowSample } from "../dist/lib/flow/files.js";
import { readdirSync } from "node:fs";
const dir = process.argv[2];
for (const rec of ["rec0", "rec1", "rec2", "rec3"]) {
  const p = `${dir}/results/flow/samples/${rec}/ev00/s0/sample.h5`;
  const s = await readFlowSample(p);
  const plane = s.rows * s.cols;
  let corner = 0, band = 0, nc = 0, nb = 0;
  for (let c = 0; c < s.channels; c++) {
    const [mn, mx] = [s.range[2*c], s.range[2*c+1]];
    for (let y = 0; y < s.rows; y++) for (let x = 0; x < s.cols; x++) {
      const v = Math.abs(mn + s.flow[c*plane + y*s.cols + x] / 255 * (mx - mn));
      if (x < 20 && y < 20) { corner += v; nc++; } else if (Math.abs(y - 32) < 8) { band += v; nb++; }
    }
  }
  console.log(rec, s.channels, s.rows, "corner", (corner/nc).toFixed(3), "band", (band/nb).toFixed(3), Array.from(s.range.slice(0, 8)).map(v=>v.toFixed(2)).join(" "));
}
