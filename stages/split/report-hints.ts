/** split's chart in `dag report`: events per class in each split (from its meta). */
import { numberAt } from "../../lib/charts/json.js";
import { SPLIT_NAMES } from "../../lib/splits.js";
import type { Json, JsonObject, ReportHints } from "../../engine/stage-api.js";
import { CLASS_NAMES } from "../../lib/classes.js";

/** The output's meta `counts.<split>.<class>.events` (counts.ts), as one row per split and class. */
function eventRows(meta: Json): JsonObject[] {
  return SPLIT_NAMES.flatMap((split) =>
    CLASS_NAMES.flatMap((cls): JsonObject[] => {
      const events = numberAt(meta, "counts", split, cls, "events");
      return events === undefined ? [] : [{ split, class: cls, events }];
    }),
  );
}

const hints: ReportHints = {
  charts: [
    {
      title: "Events per class and split",
      output: "splits",
      rows: eventRows,
      spec: {
        width: 300,
        height: { step: 22 },
        mark: { type: "bar", tooltip: true },
        encoding: {
          y: { field: "split", type: "nominal", sort: ["train", "validation", "test"], title: null },
          x: { field: "events", type: "quantitative", stack: "zero" },
          color: { field: "class", type: "nominal" },
        },
      },
    },
  ],
};
export default hints;
