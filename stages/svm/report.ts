/** What the svm stage writes: metrics.json, grid.csv, report.md and table.csv (the feature table with split, folds and predictions). */
import type { BaselineResult } from "../../lib/svm/baseline.js";
import type { Row } from "../../lib/svm/split.js";

export interface FailedEvent {
  id: string;
  label: number | null;
  reason: string;
}

/** "points off the frame: point 3 ..." -> "points off the frame". */
export function reasonKind(reason: string): string {
  return reason.split(":")[0]!.trim();
}

const r4 = (v: number): number => Number(v.toFixed(4));

function paramLabel(p: { kernel: string; C: number; gamma?: number }): string {
  return p.kernel === "rbf" ? `rbf, C = ${p.C}, gamma = ${p.gamma}` : `linear, C = ${p.C}`;
}

export function metricsJson(rows: Row[], failed: FailedEvent[], res: BaselineResult, featureNames: readonly string[], folds: number, standardise: boolean): Record<string, unknown> {
  const byKind: Record<string, number> = {};
  for (const f of failed) byKind[reasonKind(f.reason)] = (byKind[reasonKind(f.reason)] ?? 0) + 1;
  const classes = (idx: number[]): { spontaneous: number; prey: number } => ({
    spontaneous: idx.filter((i) => rows[i]!.label === 0).length,
    prey: idx.filter((i) => rows[i]!.label === 1).length,
  });
  const recs = (idx: number[]): string[] => [...new Set(idx.map((i) => rows[i]!.recording))].sort();
  const t = res.test;
  return {
    events: {
      total: rows.length + failed.length,
      fitted: rows.length,
      tail_fit_failed: failed.length,
      failed_by_reason: byKind,
      failed_by_class: { spontaneous: failed.filter((f) => f.label === 0).length, prey: failed.filter((f) => f.label === 1).length },
    },
    features: featureNames,
    split: {
      source: res.split.source,
      train: { events: res.split.train.length, ...classes(res.split.train), recordings: recs(res.split.train) },
      test: { events: res.split.test.length, ...classes(res.split.test), recordings: recs(res.split.test) },
    },
    cross_validation: { folds, stratified: true, standardised: standardise ? "z-scores fitted on the training folds only" : "no" },
    grid: res.grid.map((g) => ({ kernel: g.kernel, C: g.C, gamma: g.gamma ?? null, cv_mean: r4(g.cvMean), cv_sd: r4(g.cvSd), fold_accuracy: g.folds.map(r4) })),
    best: { kernel: res.best.kernel, C: res.best.C, gamma: res.best.gamma ?? null, cv_mean: r4(res.best.cvMean), cv_sd: r4(res.best.cvSd) },
    test: {
      events: t.n,
      correct: t.correct,
      accuracy: r4(t.accuracy),
      confusion: { rows: "true label 0, 1", columns: "predicted 0, 1", matrix: t.confusion },
      prey: { precision: r4(t.per_class["1"].precision), recall: r4(t.per_class["1"].recall), f1: r4(t.per_class["1"].f1) },
      spontaneous: { precision: r4(t.per_class["0"].precision), recall: r4(t.per_class["0"].recall), f1: r4(t.per_class["0"].f1) },
    },
    paper: { events_fitted: "953 of 1,214", cv: "0.9457 +- 0.0391", test_accuracy: 0.9021, best: "rbf, C = 1, gamma = 1e-3" },
  };
}

export function gridCsv(res: BaselineResult, folds: number): string {
  const head = ["kernel", "C", "gamma", "cv_mean", "cv_sd", ...Array.from({ length: folds }, (_, i) => `fold${i + 1}`)];
  const lines = res.grid.map((g) => [g.kernel, g.C, g.gamma ?? "", g.cvMean.toFixed(6), g.cvSd.toFixed(6), ...g.folds.map((f) => f.toFixed(6))].join(","));
  return `${head.join(",")}\n${lines.join("\n")}\n`;
}

/** The feature table with everything a second implementation needs to repeat the run exactly. */
export function tableCsv(rows: Row[], res: BaselineResult, featureNames: readonly string[]): string {
  // fold: 0..k-1 for training rows, -1 for test rows; numbers in shortest round-trip form (exact).
  const head = ["id", "recording", "label", "split", "fold", ...featureNames, "predicted"];
  const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = rows.map((r, i) => [quote(r.id), quote(r.recording), r.label, res.fold[i]! < 0 ? "test" : "train", res.fold[i], ...r.x.map((v) => String(v)), res.predicted[i] ?? ""].join(","));
  return `${head.join(",")}\n${lines.join("\n")}\n`;
}

export function reportMd(m: Record<string, unknown>, res: BaselineResult): string {
  const ev = m.events as { total: number; fitted: number; tail_fit_failed: number; failed_by_reason: Record<string, number> };
  const t = res.test;
  const pct = (v: number): string => (Number.isNaN(v) ? "-" : `${(100 * v).toFixed(1)} %`);
  const failed = Object.entries(ev.failed_by_reason).map(([k, n]) => `${n} ${k}`).join(", ");
  const best = [...res.grid].sort((a, b) => b.cvMean - a.cvMean).slice(0, 5);
  return [
    "# SVM baseline (Semmelhack et al. 2014 tail features)",
    "",
    `Events: ${ev.total}; tail fitted: ${ev.fitted}; failed: ${ev.tail_fit_failed}${failed ? ` (${failed})` : ""}. The paper: 953 of 1,214 fitted.`,
    "",
    `Split: ${res.split.source}; ${res.split.train.length} training events, ${res.split.test.length} test events.`,
    "",
    "| | ours | paper |",
    "|---|---|---|",
    `| best parameters | ${paramLabel(res.best)} | rbf, C = 1, gamma = 1e-3 |`,
    `| CV accuracy (mean +- sd over folds) | ${res.best.cvMean.toFixed(4)} +- ${res.best.cvSd.toFixed(4)} | 0.9457 +- 0.0391 |`,
    `| held-out test accuracy | ${t.accuracy.toFixed(4)} (${t.correct} / ${t.n}) | 0.9021 |`,
    "",
    `Test, prey as positive: precision ${pct(t.per_class["1"].precision)}, recall ${pct(t.per_class["1"].recall)}, F1 ${Number.isNaN(t.per_class["1"].f1) ? "-" : t.per_class["1"].f1.toFixed(3)} ` +
      "(F1 = 2 TP / (2 TP + FP + FN), as the CNN's in evaluate; a precision or recall with no predicted or no true prey event is undefined: -, null in metrics.json).",
    "",
    "| true \\ predicted | spontaneous | prey |",
    "|---|---|---|",
    `| spontaneous | ${t.confusion[0][0]} | ${t.confusion[0][1]} |`,
    `| prey | ${t.confusion[1][0]} | ${t.confusion[1][1]} |`,
    "",
    "Top grid points (all in grid.csv):",
    "",
    "| kernel | C | gamma | CV accuracy |",
    "|---|---|---|---|",
    ...best.map((g) => `| ${g.kernel} | ${g.C} | ${g.gamma ?? ""} | ${g.cvMean.toFixed(4)} +- ${g.cvSd.toFixed(4)} |`),
    "",
  ].join("\n");
}
