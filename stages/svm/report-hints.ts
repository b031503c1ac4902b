/** svm's chart in `dag report`: its test confusion matrix, drawn like the CNN's per event. */
import { confusionChart } from "../../lib/charts/confusion.js";
import type { Json, ReportHints } from "../../engine/stage-api.js";

const hints: ReportHints = {
  charts: [
    confusionChart("SVM on the test events: confusion", "report", "metrics", ["SVM per event"], (data: Json) => {
      const test = (data as unknown as { test: { confusion: { matrix: number[][] } } }).test;
      return [{ panel: "SVM per event", matrix: test.confusion.matrix }];
    }),
  ],
};
export default hints;
