/** The evaluation for people: the paper's Table 1 layout, then every split and stream, then the grid. */
import { balancedAccuracy, classRecalls } from "../../lib/model/class-recall.js";
import type { BinaryMetrics } from "../../lib/model/metrics.js";
import type { SplitName } from "../../lib/splits.js";
import type { GridRow } from "./select.js";

export type StreamName = "spatial" | "temporal" | "fused";
/** A stream's metrics with the recall of each class (class_recall[c]: of class c's samples, the share predicted c). */
export type StreamMetrics = BinaryMetrics & { class_recall?: number[] };
export type SplitMetrics = Record<SplitName, ({ n: number; events?: BinaryMetrics } & Partial<Record<StreamName, StreamMetrics>>)>;

/** Table 1, row 2 (corners masked), Breier & Onken 2020. */
const PAPER_ROW = { train: 0.9997, validation: 0.9597, test_spatial: 0.8213, test_temporal: 0.9581, test_fused: 0.9632 };

const f = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits));
const sci = (x: number | null): string => (x === null ? "-" : x.toExponential(0));

export function table1(m: SplitMetrics): typeof PAPER_ROW {
  return {
    train: m.train.fused?.accuracy ?? NaN, validation: m.validation.fused?.accuracy ?? NaN,
    test_spatial: m.test.spatial?.accuracy ?? NaN, test_temporal: m.test.temporal?.accuracy ?? NaN, test_fused: m.test.fused?.accuracy ?? NaN,
  };
}

export function markdownReport(selected: GridRow, reason: string, m: SplitMetrics, grid: GridRow[], backend: string): string {
  const t = table1(m);
  const row = (name: string, r: typeof PAPER_ROW) => `| ${name} | ${f(r.train)} | ${f(r.validation)} | ${f(r.test_spatial)} | ${f(r.test_temporal)} | ${f(r.test_fused)} |`;
  const lines = [
    "# Two-stream CNN: evaluation",
    "",
    `Model \`${selected.id}\` (lr ${sci(selected.lr)}, weight decay ${sci(selected.weight_decay)}): ${reason}. ` +
      `Every sample centre-cropped, not flipped, no dropout; evaluated on the ${backend} backend. Train and validation columns are the fused network's accuracy.`,
    "",
    "| | train | valid | test spatial | test temporal | test fused |",
    "|---|---|---|---|---|---|",
    row("paper (Table 1, masked corners)", PAPER_ROW),
    row("this run", t),
    "",
    "## Per split and stream",
    "",
    "Class 1 (prey) is positive. Confusion: rows true class 0, 1; columns predicted 0, 1. F1 = 2 TP / (2 TP + FP + FN), as the SVM's; " +
      "a precision or recall with no predicted or no true prey sample is undefined (-, null in metrics.json). " +
      "Recall per class: of the spontaneous (0) and prey (1) samples, the share predicted as such; balanced: their mean (0.5 for a stream that predicts one class for everything).",
    "",
    "| split | stream | samples | accuracy | precision | recall | F1 | recall 0 / 1 | balanced | confusion |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const split of ["train", "validation", "test"] as const) {
    for (const stream of ["spatial", "temporal", "fused"] as const) {
      const s = m[split][stream];
      if (!s) continue;
      const recalls = classRecalls(s.confusion).map((r) => f(r)).join(" / ");
      lines.push(`| ${split} | ${stream} | ${s.n} | ${f(s.accuracy)} | ${f(s.precision)} | ${f(s.recall)} | ${f(s.f1)} | ${recalls} | ${f(balancedAccuracy(s.confusion))} | [[${s.confusion[0].join(", ")}], [${s.confusion[1].join(", ")}]] |`);
    }
    if (m[split].n === 0) lines.push(`| ${split} | - | 0 | - | - | - | - | - | - | - |`);
  }
  lines.push(
    "",
    "Per event (fused, an event's subsamples' log-probabilities summed): " +
      (["train", "validation", "test"] as const).map((s) => (m[s].events ? `${s} ${f(m[s].events!.accuracy)} (${m[s].events!.n} events)` : `${s} -`)).join(", ") + ".",
  );
  lines.push("", "## Grid", "", "| point | lr | weight decay | train accuracy (during training) | validation accuracy | validation loss | backend |", "|---|---|---|---|---|---|---|");
  for (const g of grid) {
    const mark = g.id === selected.id ? " **(selected)**" : "";
    lines.push(`| ${g.id}${mark} | ${sci(g.lr)} | ${sci(g.weight_decay)} | ${f(g.train_accuracy)} | ${f(g.validation_accuracy)} | ${f(g.validation_loss)} | ${g.backend ?? "-"} |`);
  }
  return `${lines.join("\n")}\n`;
}
