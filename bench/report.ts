/**
 * `dag report`'s costs: loading vega + vega-lite, rendering one chart to SVG (the first and the
 * following ones), and building the whole page of recorded runs of a workspace.
 *
 *   node dist/bench/report.js [pipeline.yaml run...]   (e.g. ../exp2/pipeline.yaml before after)
 */
import { Store } from "../cache/store.js";
import { findRun } from "../engine/compare.js";
import { loadPipeline } from "../engine/pipeline.js";
import { buildReport } from "../engine/report/build.js";
import { renderChart } from "../engine/report/charts.js";

const ms = (start: number): string => `${(performance.now() - start).toFixed(0)} ms`;

const rows = Array.from({ length: 15 }, (_, i) => ["train", "validation"].map((split) => ({ epoch: i + 1, split, loss: 1 / (i + 1) + (split === "validation" ? 0.1 : 0) }))).flat();
const spec = { width: 360, height: 200, mark: { type: "line", point: true }, encoding: { x: { field: "epoch", type: "quantitative" }, y: { field: "loss", type: "quantitative" }, color: { field: "split", type: "nominal" } } };

let start = performance.now();
await Promise.all([import("vega"), import("vega-lite")]);
console.log(`import vega + vega-lite: ${ms(start)}`);
start = performance.now();
await renderChart(spec, rows);
console.log(`first chart (30 points) to SVG: ${ms(start)}`);
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  await renderChart(spec, rows);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(`next 20 charts: median ${times[10]!.toFixed(1)} ms, slowest ${times[19]!.toFixed(1)} ms`);

const [file, ...refs] = process.argv.slice(2);
if (file) {
  const pipeline = await loadPipeline(file);
  const store = new Store(pipeline.cacheDir);
  const runs = refs.map((r) => findRun(store, r));
  start = performance.now();
  const html = await buildReport(store, pipeline, runs);
  console.log(`report of ${refs.join(", ")}: ${ms(start)}, ${(html.length / 2 ** 20).toFixed(1)} MiB, ${(html.match(/<svg/g) ?? []).length} charts`);
}
