/**
 * svm: the paper's baseline classifier. A support vector machine on the five tail features,
 * grid-searched with stratified k-fold cross-validation, scored on held-out test recordings (the
 * CNN's test split when a splits file is given). See README.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InputsOf, ItemIn, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { fallbackNote, isFallbackSample } from "../../lib/detect/fallback.js";
import { readSplits, recordingOf } from "../../lib/splits.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import type { FailedEvent } from "./report.js";
import type { Row } from "../../lib/svm/split.js";

function readFeatures(item: ItemIn): { status: string; reason?: string; vector?: number[]; names?: string[] } {
  const path = item.files["features"];
  if (!path) throw new Error(`svm: ${item.id} has no "features" file (it has: ${Object.keys(item.files).join(", ") || "none"}): feed features.features`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { status: string; vector?: number[]; names?: string[] };
  } catch (error) {
    throw new Error(`svm: cannot read the features of ${item.id} (${(error as Error).message}): run the features stage again`);
  }
}

/** Rows of fitted events and the failed ones, checked for labels and feature count. */
function collect(items: ItemIn[]): { rows: Row[]; failed: FailedEvent[]; names: string[] } {
  const rows: Row[] = [];
  const failed: FailedEvent[] = [];
  const unlabelled: string[] = [];
  let names: string[] = [];
  for (const item of items) {
    const label = item.meta["label"];
    const lab = label === 0 || label === 1 ? label : null;
    const f = readFeatures(item);
    if (f.status !== "ok") {
      failed.push({ id: item.id, label: lab, reason: f.reason ?? String(item.meta["reason"] ?? "tail fitting failed") });
      continue;
    }
    if (lab === null) {
      unlabelled.push(item.id);
      continue;
    }
    const x = f.vector ?? [];
    if (names.length === 0) names = f.names ?? x.map((_, i) => `f${i + 1}`);
    if (x.length !== names.length || x.some((v) => !Number.isFinite(v))) {
      throw new Error(`svm: ${item.id} has ${x.length} features (${JSON.stringify(x)}), expected ${names.length} finite numbers: run the features stage again`);
    }
    rows.push({ id: item.id, recording: recordingOf(item), label: lab, x });
  }
  if (unlabelled.length) {
    throw new Error(`svm: ${unlabelled.length} event(s) have no label 0/1 (e.g. ${unlabelled.slice(0, 3).join(", ")}): label the recordings (synthesize or read), or give tailpoints a labels file`);
  }
  return { rows, failed, names };
}

const svm = {
  name: "svm",
  version: 3, // 2: precision, recall undefined (null) rather than 0 without a denominator, F1 = 2TP / (2TP + FP + FN) as evaluate; 3: split and folds drawn from lib/random (sfc32), not mulberry32
  description: "The paper's baseline: an SVM on the five tail features, grid-searched with stratified k-fold CV, scored on held-out test recordings",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      folds: { type: "integer", minimum: 2, default: 5, description: "Folds of the stratified cross-validation on the training events (the paper: 5)." },
      test_fraction: {
        type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.15,
        description: "Without a splits input: the fraction of events (per class, in whole recordings) held out for the test (the paper: 0.15).",
      },
      C: { type: "array", items: { type: "number", exclusiveMinimum: 0 }, minItems: 1, default: [0.01, 0.1, 1, 10], description: "Cost values of the grid, for both kernels (the paper: 0.01, 0.1, 1, 10)." },
      gamma: {
        type: "array", items: { type: "number", exclusiveMinimum: 0 }, minItems: 1, default: [0.1, 0.01, 0.001, 0.0001],
        description: "RBF kernel widths of the grid, exp(-gamma |x - x'|^2) on standardised features (the paper: 1e-1 .. 1e-4).",
      },
      kernels: {
        type: "array", items: { type: "string", enum: ["rbf", "linear"] }, minItems: 1, uniqueItems: true, default: ["rbf", "linear"],
        description: "Kernels of the grid (the paper: RBF and linear).",
      },
      standardise: {
        type: "boolean", default: true,
        description: "Standardise each feature to z-scores, with mean and sd fitted on the training folds only (and on all training events for the final model).",
      },
    },
  },
  inputs: {
    features: { type: "collection", description: "features.features: one JSON per event (failed tail fits included, to be counted)" },
    splits: { type: "artifact", optional: true, description: "the CNN's split (split.splits): the SVM's test set is then its test recordings" },
  },
  outputs: {
    report: { type: "artifact", description: "metrics.json, grid.csv (CV accuracy per grid point), report.md, table.csv (features, split, folds, predictions)" },
  },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const items = inputs.features.items;
    const { rows, failed, names } = collect(items);
    if (rows.length === 0) throw new Error(`svm: none of the ${items.length} events has fitted tail features (${failed.length} failed): check tailfit's reasons in its fit.json files`);
    const splitsIn = inputs.splits;
    const splitsPath = splitsIn ? mainFile(splitsIn, "splits") : undefined;
    if (splitsIn && !splitsPath) throw new Error(`svm: the splits input has no "splits" file (it has: ${fileNames(splitsIn)}): feed split.splits`);
    const splits = splitsPath ? { assignment: readSplits(splitsPath), what: "the splits file" } : undefined;
    const { svmTrainer } = await import("../../lib/svm/libsvm.js");
    const { runBaseline } = await import("../../lib/svm/baseline.js");
    const { gridCsv, metricsJson, reportMd, tableCsv } = await import("./report.js");
    const train = await svmTrainer();
    const res = runBaseline(train, rows, {
      folds: params.folds, testFraction: params.test_fraction, C: params.C, gamma: params.gamma, kernels: params.kernels,
      standardise: params.standardise, seed: ctx.seed, splits,
    }, (done, total) => {
      // Each grid point is a cross-validation (seconds to minutes): where a cancelled task stops.
      ctx.signal.throwIfAborted();
      ctx.progress(done, total);
    });

    const fallbackIds = new Set(items.filter((it) => isFallbackSample(it.meta)).map((it) => it.id));
    const fallbackWindows = rows.filter((r) => fallbackIds.has(r.id)).length;
    const metrics = { ...metricsJson(rows, failed, res, names, params.folds, params.standardise), fallback_windows: fallbackWindows };
    writeFileSync(join(ctx.outDir, "metrics.json"), `${JSON.stringify(metrics, null, 2)}\n`);
    writeFileSync(join(ctx.outDir, "grid.csv"), gridCsv(res, params.folds));
    writeFileSync(join(ctx.outDir, "table.csv"), tableCsv(rows, res, names));
    writeFileSync(join(ctx.outDir, "report.md"), reportMd(metrics, res));
    const best = res.best.kernel === "rbf" ? `rbf C=${res.best.C} gamma=${res.best.gamma}` : `linear C=${res.best.C}`;
    ctx.log(`svm: best ${best}, CV ${res.best.cvMean.toFixed(4)} +- ${res.best.cvSd.toFixed(4)}, test ${res.test.accuracy.toFixed(4)} (${res.test.correct}/${res.test.n}); ${failed.length} of ${items.length} events without a tail fit${fallbackNote(fallbackWindows, rows.length, "fitted events")}`);
    return {
      report: {
        files: { metrics: "metrics.json", grid: "grid.csv", report: "report.md", table: "table.csv" },
        meta: {
          test_accuracy: Number(res.test.accuracy.toFixed(4)), cv_mean: Number(res.best.cvMean.toFixed(4)), cv_sd: Number(res.best.cvSd.toFixed(4)),
          best, events: items.length, fitted: rows.length, tail_fit_failed: failed.length, fallback_windows: fallbackWindows,
        },
      },
    };
  },
} as const;

export type SvmStageParams = ParamsOf<typeof svm.params>;
export default svm satisfies StageKind;
