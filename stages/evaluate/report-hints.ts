/** evaluate's charts in `dag report`: the test split's confusion matrices, per stream and per event. */
import { confusionChart } from "../../lib/charts/confusion.js";
import type { Json, ReportHints } from "../../engine/stage-api.js";

interface Metrics {
  splits: Record<string, Record<string, { n: number; confusion: number[][] } | number>>;
}

const hints: ReportHints = {
  charts: [
    confusionChart("CNN on the test split: confusion per stream, and per event (fused)", "report", "metrics", ["spatial", "temporal", "fused", "per event"], (data: Json) => {
      const test = (data as unknown as Metrics).splits["test"] ?? {};
      return ["spatial", "temporal", "fused", "events"].flatMap((stream) => {
        const m = test[stream];
        return typeof m === "object" && m.n ? [{ panel: stream === "events" ? "per event" : stream, matrix: m.confusion }] : [];
      });
    }),
  ],
};
export default hints;
