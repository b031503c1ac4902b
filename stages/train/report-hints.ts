/** train's chart in `dag report`: loss and accuracy per epoch, training and validation. */
import type { Json, JsonObject, ReportHints } from "../../engine/stage-api.js";

interface Epoch {
  epoch: number;
  loss: number;
  accuracy: number;
  validation?: { loss: number; accuracy: number };
}

const hints: ReportHints = {
  charts: [
    {
      title: "Training curves",
      output: "models",
      file: "history",
      rows: (data: Json) =>
        (data as unknown as Epoch[]).flatMap((e): JsonObject[] => [
          { epoch: e.epoch, measure: "loss", split: "train", value: e.loss },
          { epoch: e.epoch, measure: "accuracy", split: "train", value: e.accuracy },
          ...(e.validation
            ? [
                { epoch: e.epoch, measure: "loss", split: "validation", value: e.validation.loss },
                { epoch: e.epoch, measure: "accuracy", split: "validation", value: e.validation.accuracy },
              ]
            : []),
        ]),
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
