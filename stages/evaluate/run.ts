/**
 * The evaluate stage's work: load the selected model, predict every sample (centre crop),
 * compute metrics per split and stream, write JSON, Markdown and CSV. Loaded lazily.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { ArtifactIn, ArtifactOut, CollectionIn, StageContext } from "../../engine/stage-api.js";
import { CLASS_NAMES } from "../../lib/classes.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { flowChannels } from "../../lib/model/architecture.js";
import { selectBackend } from "../../lib/model/backend.js";
import { SampleCache, type ExampleRef } from "../../lib/model/dataset.js";
import { binaryMetrics, eventPredictions } from "../../lib/model/metrics.js";
import { classRecalls } from "../../lib/model/class-recall.js";
import { readModel, MODEL_JSON, WEIGHTS_BIN } from "../../lib/model/model-files.js";
import { argmaxRows, predict, type Predictions } from "../../lib/model/predict.js";
import { writePredictions } from "../../lib/model/predictions-file.js";
import { fallbackNote, isFallbackSample } from "../../lib/detect/fallback.js";
import { examplesBySplit, flowLayoutOf } from "../../lib/model/splits.js";
import { readSplits, SPLIT_NAMES, type SplitName } from "../../lib/splits.js";
import type { EvaluateParams } from "./index.js";
import { markdownReport, table1, type SplitMetrics } from "./report.js";
import { gridRows, selectBest } from "./select.js";

const STREAMS = ["spatial", "temporal", "fused"] as const;

/** P(prey) from log-probabilities; the fused ones are normalised (their exponentials do not sum to 1). */
function preyProbability(lp: Float32Array, i: number): number {
  const a = Math.exp(lp[2 * i]!);
  const b = Math.exp(lp[2 * i + 1]!);
  return b / (a + b);
}

function predictionsCsv(rows: { split: SplitName; examples: ExampleRef[]; p: Predictions }[]): string {
  const lines = ["id,recording,split,label,p_spatial,p_temporal,p_fused,predicted"];
  for (const { split, examples, p } of rows) {
    const predicted = argmaxRows(p.fused, p.classes);
    examples.forEach((e, i) => {
      const probs = STREAMS.map((s) => preyProbability(p[s], i).toFixed(6));
      lines.push([JSON.stringify(e.id), JSON.stringify(e.recording), split, e.label, ...probs, predicted[i]].join(","));
    });
  }
  return `${lines.join("\n")}\n`;
}

/** The splits' predictions as one set, rows in the same order as predictions.csv. */
function concatPredictions(parts: Predictions[]): Predictions {
  const join = (s: "spatial" | "temporal" | "fused"): Float32Array => {
    const out = new Float32Array(parts.reduce((n, p) => n + p[s].length, 0));
    let at = 0;
    for (const p of parts) out.set(p[s], (at += p[s].length) - p[s].length);
    return out;
  };
  return { spatial: join("spatial"), temporal: join("temporal"), fused: join("fused"), classes: parts[0]?.classes ?? CLASS_NAMES.length };
}

export async function evaluateModels(ctx: StageContext, params: EvaluateParams, models: CollectionIn, samples: CollectionIn, splitsIn: ArtifactIn): Promise<Record<string, ArtifactOut>> {
  const grid = gridRows(models.items);
  const { index, reason } = selectBest(grid);
  const chosen = models.items[index]!;
  if (!chosen.files["model"] || !chosen.files["weights"]) throw new Error(`evaluate: model ${chosen.id} has no model/weights files (it has: ${Object.keys(chosen.files).join(", ")}): feed train.models`);
  ctx.log(`selected ${chosen.id}: ${reason}`);

  const splitsPath = mainFile(splitsIn, "splits");
  if (!splitsPath) throw new Error(`evaluate: the splits input has no "splits" file (it has: ${fileNames(splitsIn)}): feed split.splits`);
  const sets = examplesBySplit(samples.items, readSplits(splitsPath));
  const fallbackIds = new Set(samples.items.filter((it) => isFallbackSample(it.meta)).map((it) => it.id));
  const fallbackSamples = Object.fromEntries(SPLIT_NAMES.map((s) => [s, sets[s].filter((e) => fallbackIds.has(e.id)).length])) as Record<SplitName, number>;

  const backend = await selectBackend(params.backend);
  // The reason (about 400 characters) is train's to print, once; metrics.json records it.
  ctx.log(`backend ${backend.brief}`);
  const { arch, weights } = await readModel(chosen.files["model"], { [WEIGHTS_BIN]: chosen.files["weights"] });
  const tensors = new Map([...weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
  const source = new SampleCache(flowChannels(arch, flowLayoutOf(samples.items).pairStride), params.memory_mb * 2 ** 20);
  const total = SPLIT_NAMES.reduce((n, s) => n + Math.ceil(sets[s].length / params.batch), 0);
  let done = 0;

  const metrics = {} as SplitMetrics;
  const predicted: { split: SplitName; examples: ExampleRef[]; p: Predictions }[] = [];
  try {
    for (const split of SPLIT_NAMES) {
      const examples = sets[split];
      metrics[split] = { n: examples.length };
      if (examples.length === 0) continue;
      const base = done;
      const p = await predict(arch, tensors, source, examples, {
        batchSize: params.batch, signal: ctx.signal, onBatch: (d) => ctx.progress((done = base + d), total),
      });
      const labels = examples.map((e) => e.label);
      for (const stream of STREAMS) {
        const b = binaryMetrics(labels, argmaxRows(p[stream], p.classes));
        metrics[split][stream] = { ...b, class_recall: classRecalls(b.confusion) };
      }
      const events = eventPredictions(examples.map((e) => e.id), labels, p.fused, p.classes);
      metrics[split].events = binaryMetrics(events.labels, events.predicted);
      predicted.push({ split, examples, p });
      const recall = (s: (typeof STREAMS)[number]) => metrics[split][s]!.class_recall!.map((r) => (Number.isNaN(r) ? "-" : r.toFixed(2))).join("/");
      const missing = CLASS_NAMES.filter((_, c) => !labels.includes(c));
      if (examples.length && missing.length) ctx.warn(`evaluate: the ${split} split holds no ${missing.join(" or ")} sample: its accuracy says nothing of that class (split needs recordings of both classes)`);
      ctx.log(`${split}: ${examples.length} samples, accuracy spatial ${metrics[split].spatial!.accuracy.toFixed(4)}, temporal ${metrics[split].temporal!.accuracy.toFixed(4)}, fused ${metrics[split].fused!.accuracy.toFixed(4)} (recall per class 0/1: spatial ${recall("spatial")}, temporal ${recall("temporal")}, fused ${recall("fused")}); ${events.labels.length} events, fused ${metrics[split].events.accuracy.toFixed(4)}${fallbackNote(fallbackSamples[split], examples.length, "samples")}`);
    }
  } finally {
    tf.dispose([...tensors.values()]);
  }

  const selected = grid[index]!;
  const json = {
    selected: { ...selected, reason },
    table1: table1(metrics),
    splits: metrics,
    fallback_samples: fallbackSamples,
    grid,
    evaluation: "every sample centre-cropped (offset 16/256 of the frame), not flipped, no dropout; class 1 (prey) positive; confusion rows = true class, columns = predicted",
    backend: { name: backend.backend, requested: backend.requested, reason: backend.reason },
  };
  writeFileSync(join(ctx.outDir, "metrics.json"), `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(join(ctx.outDir, "table.md"), markdownReport(selected, reason, metrics, grid, backend.backend));
  writeFileSync(join(ctx.outDir, "predictions.csv"), predictionsCsv(predicted));
  await writePredictions(join(ctx.outDir, "predictions.h5"), predicted.flatMap((r) => r.examples.map((e) => e.id)), concatPredictions(predicted.map((r) => r.p)), CLASS_NAMES);
  copyFileSync(chosen.files["model"], join(ctx.outDir, MODEL_JSON));
  copyFileSync(chosen.files["weights"], join(ctx.outDir, WEIGHTS_BIN));
  const modelFiles: Record<string, string> = { model: MODEL_JSON, weights: WEIGHTS_BIN };
  if (chosen.files["history"]) {
    copyFileSync(chosen.files["history"], join(ctx.outDir, "history.json"));
    modelFiles["history"] = "history.json";
  }
  const t = json.table1;
  const round = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)) : null);
  return {
    report: {
      files: { metrics: "metrics.json", table: "table.md", predictions: "predictions.csv", log_probabilities: "predictions.h5" },
      meta: {
        selected: chosen.id, train: round(t.train), validation: round(t.validation), test_spatial: round(t.test_spatial), test_temporal: round(t.test_temporal), test_fused: round(t.test_fused),
        ...Object.fromEntries(STREAMS.map((s) => [`test_recall_${s}`, metrics.test[s]?.class_recall?.map(round) ?? null])),
        fallback_samples: SPLIT_NAMES.reduce((n, s) => n + fallbackSamples[s], 0),
      },
    },
    model: { files: modelFiles, meta: { selected: chosen.id, lr: selected.lr, weight_decay: selected.weight_decay } },
  };
}
