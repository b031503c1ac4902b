/**
 * Confusion matrices as a Vega-Lite chart for `dag report` (evaluate's CNN, svm's baseline: the
 * same picture, so the two can be read against each other). Class 0 spontaneous, 1 prey.
 */
import type { Json, JsonObject, ReportChart } from "../../engine/stage-api.js";
import { CLASS_NAMES } from "../classes.js";

const CLASSES: string[] = [...CLASS_NAMES];

/** One panel per labelled matrix (rows: true class, columns: predicted), in the order of `panels`. */
export function confusionChart(title: string, output: string, file: string, panels: string[], matrices: (data: Json) => { panel: string; matrix: number[][] }[]): ReportChart {
  return {
    title,
    output,
    file,
    rows: (data) =>
      matrices(data).flatMap(({ panel, matrix }) =>
        matrix.flatMap((row, t) => row.map((count, p): JsonObject => ({ panel, true: CLASSES[t] ?? String(t), predicted: CLASSES[p] ?? String(p), count, share: count / Math.max(1, row.reduce((a, b) => a + b, 0)) }))),
      ),
    spec: {
      facet: { column: { field: "panel", type: "nominal", title: null, sort: panels } },
      spec: {
        width: 130,
        height: 130,
        encoding: {
          x: { field: "predicted", type: "nominal", sort: CLASSES, axis: { labelAngle: 0 } },
          y: { field: "true", type: "nominal", sort: CLASSES },
        },
        layer: [
          { mark: "rect", encoding: { color: { field: "share", type: "quantitative", scale: { domain: [0, 1], scheme: "blues" }, title: "share of true class" } } },
          { mark: { type: "text", fontSize: 13 }, encoding: { text: { field: "count", type: "quantitative" }, color: { condition: { test: "datum.share > 0.6", value: "white" }, value: "black" } } },
        ],
      },
    },
  };
}
