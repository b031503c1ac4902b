/** evaluate's charts in `dag report`: the test split's confusion matrices, per stream and per event. */
import { confusionChart } from "../../lib/charts/confusion.js";
import { member, numberAt, squareMatrixOf } from "../../lib/charts/json.js";
import type { Json, ReportHints } from "../../engine/stage-api.js";

const hints: ReportHints = {
  charts: [
    confusionChart("CNN on the test split: confusion per stream, and per event (fused)", "report", "metrics", ["spatial", "temporal", "fused", "per event"], (data: Json) =>
      ["spatial", "temporal", "fused", "events"].flatMap((stream) => {
        // metrics.json: splits.test.<stream> = { n, confusion, ... } (n 0: not evaluated).
        const scores = member(data, "splits", "test", stream);
        const matrix = squareMatrixOf(member(scores, "confusion"));
        return numberAt(scores, "n") && matrix ? [{ panel: stream === "events" ? "per event" : stream, matrix }] : [];
      }),
    ),
  ],
};
export default hints;
