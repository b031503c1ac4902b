/** train's chart in `dag report`: loss and accuracy per epoch, training and validation. */
import { numberAt } from "../../lib/charts/json.js";
import type { Json, JsonObject, ReportHints } from "../../engine/stage-api.js";

/** history.json: [{ epoch, loss, accuracy, validation?: { loss, accuracy } }], as rows of one measure each. */
function curveRows(history: Json): JsonObject[] {
  if (!Array.isArray(history)) return [];
  return history.flatMap((e): JsonObject[] => {
    const epoch = numberAt(e, "epoch");
    if (epoch === undefined) return [];
    const point = (measure: string, split: string, value: number | undefined): JsonObject[] => (value === undefined ? [] : [{ epoch, measure, split, value }]);
    return [
      ...point("loss", "train", numberAt(e, "loss")),
      ...point("accuracy", "train", numberAt(e, "accuracy")),
      ...point("loss", "validation", numberAt(e, "validation", "loss")),
      ...point("accuracy", "validation", numberAt(e, "validation", "accuracy")),
    ];
  });
}

const hints: ReportHints = {
  charts: [
    {
      title: "Training curves",
      output: "models",
      file: "history",
      rows: curveRows,
      spec: {
        facet: { column: { field: "measure", type: "nominal", title: null, sort: ["loss", "accuracy"] } },
        resolve: { scale: { y: "independent" } },
        spec: {
          width: 240,
          height: 170,
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
            y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
            color: { field: "split", type: "nominal" },
          },
        },
      },
    },
  ],
};
export default hints;
