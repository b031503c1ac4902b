/**
 * Charts for `dag report`: a Vega-Lite spec and its rows, compiled and rendered to SVG in Node
 * (vega's headless View, no canvas, no browser). Vega is imported on first use only, so other
 * commands do not pay for loading it.
 */
import type { JsonObject } from "../stage-api.js";

type VegaModules = [typeof import("vega"), typeof import("vega-lite")];
let modules: Promise<VegaModules> | undefined;

/** One look for every chart: the page's font, no border around the plot. */
const CONFIG = { font: "system-ui, sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } };

export async function renderChart(spec: JsonObject, rows: JsonObject[]): Promise<string> {
  const [vega, vl] = await (modules ??= Promise.all([import("vega"), import("vega-lite")]));
  const full = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", ...spec, data: { values: rows }, config: { ...CONFIG, ...(spec.config as object | undefined) } };
  const view = new vega.View(vega.parse(vl.compile(full as Parameters<typeof vl.compile>[0]).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
