/** split's chart in `dag report`: events per class in each split (from its meta). */
import type { Json, JsonObject, ReportHints } from "../../engine/stage-api.js";

type Counts = Record<string, Record<string, { events: number } | number>>;

const hints: ReportHints = {
  charts: [
    {
      title: "Events per class and split",
      output: "splits",
      rows: (meta: Json) =>
        Object.entries((meta as { counts?: Counts }).counts ?? {}).flatMap(([split, byClass]) =>
          Object.entries(byClass).flatMap(([cls, v]): JsonObject[] => (typeof v === "object" ? [{ split, class: cls, events: v.events }] : [])),
        ),
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
