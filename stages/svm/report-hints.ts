/** svm's chart in `dag report`: its test confusion matrix, drawn like the CNN's per event. */
import { confusionChart } from "../../lib/charts/confusion.js";
import { member, squareMatrixOf } from "../../lib/charts/json.js";
import type { Json, ReportHints } from "../../engine/stage-api.js";

const hints: ReportHints = {
  charts: [
    confusionChart("SVM on the test events: confusion", "report", "metrics", ["SVM per event"], (data: Json) => {
      const matrix = squareMatrixOf(member(data, "test", "confusion", "matrix"));
      return matrix ? [{ panel: "SVM per event", matrix }] : [];
    }),
  ],
};
export default hints;
