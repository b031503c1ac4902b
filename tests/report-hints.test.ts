import { describe, expect, it } from "vitest";
import type { Json, ReportChart, ReportHints } from "../engine/stage-api.js";

async function chartOf(kind: string): Promise<ReportChart> {
  const hints = ((await import(`../dist/stages/${kind}/report-hints.js`)) as { default: ReportHints }).default;
  return hints.charts![0]!;
}

/** What a chart draws from files of another shape: an older version's, a tampered cache's. */
const MISSHAPEN: Json[] = [null, 3, "x", [], {}, { splits: [] }, { test: { confusion: { matrix: [[1, 2], [3]] } } }, [{ epoch: "1" }], { counts: { train: 1 } }];

describe("the kinds' report charts read their data without trusting its shape", () => {
  it("split: events per split and class from the output's meta", async () => {
    const chart = await chartOf("split");
    const tally = (spon: number, prey: number) => ({ recordings: 2, events: spon + prey, spontaneous: { recordings: 1, events: spon }, prey: { recordings: 1, events: prey } });
    expect(chart.rows!({ counts: { train: tally(10, 9), validation: tally(3, 2), test: tally(10, 2) } })).toEqual([
      { split: "train", class: "spontaneous", events: 10 }, { split: "train", class: "prey", events: 9 },
      { split: "validation", class: "spontaneous", events: 3 }, { split: "validation", class: "prey", events: 2 },
      { split: "test", class: "spontaneous", events: 10 }, { split: "test", class: "prey", events: 2 },
    ]);
  });

  it("train: loss and accuracy per epoch, the validation's where it was measured", async () => {
    const chart = await chartOf("train");
    expect(chart.rows!([{ epoch: 1, loss: 0.7, accuracy: 0.5, validation: { loss: 0.6, accuracy: 0.75 } }, { epoch: 2, loss: 0.5, accuracy: 0.8 }])).toEqual([
      { epoch: 1, measure: "loss", split: "train", value: 0.7 }, { epoch: 1, measure: "accuracy", split: "train", value: 0.5 },
      { epoch: 1, measure: "loss", split: "validation", value: 0.6 }, { epoch: 1, measure: "accuracy", split: "validation", value: 0.75 },
      { epoch: 2, measure: "loss", split: "train", value: 0.5 }, { epoch: 2, measure: "accuracy", split: "train", value: 0.8 },
    ]);
  });

  it("evaluate and svm: the test split's confusion matrices, the streams evaluated only", async () => {
    const evaluate = await chartOf("evaluate");
    const scores = (m: number[][]) => ({ n: 4, accuracy: 0.5, confusion: m });
    const rows = evaluate.rows!({ splits: { test: { n: 4, spatial: scores([[2, 0], [2, 0]]), temporal: { n: 0 }, fused: scores([[1, 1], [0, 2]]), events: scores([[1, 0], [0, 1]]) } } });
    expect([...new Set(rows.map((r) => r["panel"]))]).toEqual(["spatial", "fused", "per event"]);
    expect(rows.filter((r) => r["panel"] === "fused").map((r) => r["count"])).toEqual([1, 1, 0, 2]);
    const svm = await chartOf("svm");
    expect(svm.rows!({ test: { confusion: { matrix: [[5, 1], [2, 4]] } } }).map((r) => [r["true"], r["predicted"], r["count"]])).toEqual([
      ["spontaneous", "spontaneous", 5], ["spontaneous", "prey", 1], ["prey", "spontaneous", 2], ["prey", "prey", 4],
    ]);
  });

  it("draws nothing, and throws nothing, from data of another shape", async () => {
    for (const kind of ["split", "train", "evaluate", "svm"]) {
      const chart = await chartOf(kind);
      for (const data of MISSHAPEN) expect(chart.rows!(data), `${kind} ${JSON.stringify(data)}`).toEqual([]);
    }
  });
});
