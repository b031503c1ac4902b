/**
 * The classify stage's work: load the model, refuse samples made another way than its training
 * samples, warn about data unlike them, predict every sample (centre crop, as evaluate), gather
 * events and recordings, write the tables and figures. Loaded lazily (TensorFlow.js).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import type { ArtifactIn, CollectionIn, ItemOut, Json, OutputValue, StageContext } from "../../engine/stage-api.js";
import { member, numberAt } from "../../lib/charts/json.js";
import { CLASS_NAMES } from "../../lib/classes.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { flowChannels } from "../../lib/model/architecture.js";
import { selectBackend } from "../../lib/model/backend.js";
import { outliers, sampleStatistics, STATISTICS, type DataProfile, type Outlier } from "../../lib/model/data-profile.js";
import { SampleCache, type ExampleRef } from "../../lib/model/dataset.js";
import { readModel, WEIGHTS_BIN } from "../../lib/model/model-files.js";
import { argmaxRows, predict } from "../../lib/model/predict.js";
import { writePredictions } from "../../lib/model/predictions-file.js";
import { labelledClasses, recipeMismatches, recipeOfModel, sampleRecipe, type SampleRecipe } from "../../lib/model/recipe.js";
import { recordingOf } from "../../lib/splits.js";
import { eventRows, eventsCsv, recordingRows, recordingsCsv, type EventRow, type RecordingRow } from "./events.js";
import { drawRecording, type Trace } from "./figure.js";
import type { ClassifyParams } from "./index.js";

/** What the figures and rates read of extract's report.json. */
interface RecordingReport {
  frames: number;
  fps: number;
  trace: Trace | null;
}

function readReports(reports: CollectionIn | undefined): Map<string, RecordingReport> {
  const out = new Map<string, RecordingReport>();
  for (const item of reports?.items ?? []) {
    const path = mainFile(item, "report");
    if (!path) throw new Error(`classify: report ${item.id} has no "report" file (it has: ${fileNames(item)}): feed extract.reports`);
    const json = JSON.parse(readFileSync(path, "utf8")) as Json;
    const [recording, frames, fps] = [member(json, "recording"), numberAt(json, "frames"), numberAt(json, "fps")];
    if (typeof recording !== "string" || !frames || !fps) throw new Error(`classify: ${path} is not an extract report (no recording, frames, fps): feed extract.reports`);
    const values = member(json, "trace", "values");
    const threshold = numberAt(json, "trace", "threshold");
    const trace = Array.isArray(values) && threshold !== undefined ? { values: values.map((v) => (typeof v === "number" ? v : 0)), threshold } : null;
    out.set(recording, { frames, fps, trace });
  }
  return out;
}

/** The refusal (or, for allowed parameters, warnings) when the samples were made another way than the model's. */
function checkRecipe(ctx: StageContext, params: ClassifyParams, metadata: Record<string, unknown>, samples: CollectionIn, data: SampleRecipe, modelPath: string): void {
  const recipe = recipeOfModel(metadata);
  if (!recipe) {
    ctx.warn(`classify: ${modelPath} records no preprocessing (saved before models recorded how their samples were made): whether these samples were made the same way cannot be checked; retrain to record it`);
    return;
  }
  const labelled = labelledClasses(samples.items);
  const expected = params.classes ? { names: params.classes, from: "the classes param names" } : labelled ? { names: labelled, from: "the samples' labels name" } : null;
  const mismatches = recipeMismatches(recipe, data, expected);
  const allowed = (m: string): boolean => params.allow_mismatch.some((p) => m.startsWith(`${p}:`) || m.startsWith(`${p} `) || m.startsWith(`flow ${p}:`));
  for (const m of mismatches.filter(allowed)) ctx.warn(`classify: allowed by allow_mismatch, ${m}`);
  const refused = mismatches.filter((m) => !allowed(m));
  if (refused.length) {
    throw new Error(
      `classify: these samples were made differently from the model's training samples, and its answers on them would be confident nonsense:\n${refused.map((m) => `  - ${m}`).join("\n")}\n` +
        `Make the samples the way the model's were (its model.json, userDefinedMetadata.inputs), retrain on samples made this way, or, knowing the risk, list the parameter in allow_mismatch`,
    );
  }
}

/** Per recording, the statistics whose median lies outside the training data's range: one warning each. */
function warnOutOfDistribution(ctx: StageContext, profile: DataProfile | undefined, examples: ExampleRef[], stats: Record<string, number>[]): (Outlier & { recording: string })[] {
  if (!profile) {
    ctx.warn("classify: the model file keeps no statistics of its training data (saved before models did): data unlike it cannot be detected");
    return [];
  }
  const byRecording = new Map<string, Record<string, number>[]>();
  examples.forEach((e, i) => byRecording.set(e.recording, [...(byRecording.get(e.recording) ?? []), stats[i]!]));
  const found: (Outlier & { recording: string })[] = [];
  for (const [recording, rows] of byRecording) {
    const out = outliers(profile, rows);
    for (const o of out) found.push({ recording, ...o });
    if (out.length) {
      const named = out.map((o) => `${o.statistic} (${STATISTICS[o.statistic]?.what ?? o.statistic}) is ${o.value}, outside ${o.low} to ${o.high}`).join("; ");
      ctx.warn(`classify: recording ${recording} is unlike the model's training data (medians of its ${rows.length} samples against the training samples' 1st-99th percentiles, widened by a quarter of their range or the statistic's resolution): ${named}. The model has not seen such data: its classes here may be confidently wrong`);
    }
  }
  return found;
}

function markdown(rows: RecordingRow[], events: EventRow[], classes: readonly string[], accuracy: Json, ood: (Outlier & { recording: string })[]): string {
  const lines = [
    "# Classified bouts", "",
    `${events.length} events in ${rows.length} recordings; ${events.filter((e) => e.uncertain).length} uncertain.`, "",
    `| recording | events | ${classes.join(" | ")} | uncertain | bouts/min |`,
    `|---|---|${classes.map(() => "---|").join("")}---|---|`,
    ...rows.map((r) => `| ${r.recording} | ${r.events} | ${classes.map((c) => r.bouts[c]).join(" | ")} | ${r.uncertain} | ${r.rate_per_min ?? "-"} |`),
  ];
  if (accuracy) lines.push("", `Against the samples' labels: ${JSON.stringify(accuracy)}.`);
  if (ood.length) lines.push("", "## Unlike the training data", "", ...ood.map((o) => `- ${o.recording}: ${o.statistic} ${o.value} outside ${o.low} to ${o.high}`));
  return `${lines.join("\n")}\n`;
}

export async function classifySamples(ctx: StageContext, params: ClassifyParams, modelIn: ArtifactIn, samples: CollectionIn, reportsIn?: CollectionIn): Promise<Record<string, OutputValue>> {
  const modelPath = mainFile(modelIn, "model");
  if (!modelPath) throw new Error(`classify: the model input holds neither a "model" file nor a single file (it has: ${fileNames(modelIn)}): feed evaluate.model or { file: .../model.json }`);
  // Before readModel: decoding the weights needs a backend.
  const backend = await selectBackend(params.backend);
  ctx.log(`backend ${backend.brief}`);
  const { arch, weights, metadata } = await readModel(modelPath, modelIn.files["weights"] ? { [WEIGHTS_BIN]: modelIn.files["weights"] } : {});
  const data = await sampleRecipe(samples.items);
  checkRecipe(ctx, params, metadata, samples, data, modelPath);
  const classes = recipeOfModel(metadata)?.classes ?? CLASS_NAMES.slice(0, arch.classes);

  const examples: ExampleRef[] = samples.items.map((item) => {
    const path = mainFile(item, "sample");
    if (!path) throw new Error(`classify: sample ${item.id} has no "sample" file (it has: ${fileNames(item)}): feed flow.samples`);
    const label = item.meta["label"];
    return { id: item.id, recording: recordingOf(item), label: typeof label === "number" ? label : -1, path };
  });
  const source = new SampleCache(flowChannels(arch, data.pair_stride ?? 1), params.memory_mb * 2 ** 20);

  const began = performance.now();
  const stats: Record<string, number>[] = [];
  for (const e of examples) stats.push(sampleStatistics(await source.get(e)));
  const ood = warnOutOfDistribution(ctx, metadata["training_data"] as DataProfile | undefined, examples, stats);
  const tensors = new Map([...weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
  let predictions;
  try {
    predictions = await predict(arch, tensors, source, examples, { batchSize: params.batch, signal: ctx.signal, onBatch: (d, t) => ctx.progress(d, t) });
  } finally {
    tf.dispose([...tensors.values()]);
  }
  const seconds = (performance.now() - began) / 1000;

  const events = eventRows(samples.items, predictions, classes, params.uncertain_below);
  const reports = readReports(reportsIn);
  const durations = new Map([...reports].map(([r, rep]) => [r, rep.frames / rep.fps]));
  const recordings = recordingRows(events, classes, durations);
  const labelled = examples.length > 0 && examples.every((e) => e.label >= 0);
  const predicted = argmaxRows(predictions.fused, predictions.classes);
  const accuracy = labelled
    ? {
        samples: Number((examples.filter((e, i) => predicted[i] === e.label).length / examples.length).toFixed(4)),
        events: Number((events.filter((e) => e.truth === e.fused.class).length / events.length).toFixed(4)),
      }
    : null;
  ctx.measure({ seconds, samples: examples.length, events: events.length, events_per_second: events.length / Math.max(seconds, 1e-9) });
  ctx.log(`${examples.length} samples, ${events.length} events in ${recordings.length} recordings: ${classes.map((c) => `${events.filter((e) => e.fused.class === c).length} ${c}`).join(", ")}; ${events.filter((e) => e.uncertain).length} uncertain${accuracy ? `; against the samples' labels: accuracy ${accuracy.samples} per sample, ${accuracy.events} per event` : ""}`);

  await writePredictions(join(ctx.outDir, "subsamples.h5"), examples.map((e) => e.id), predictions, classes);
  writeFileSync(join(ctx.outDir, "events.csv"), eventsCsv(events, labelled));
  writeFileSync(join(ctx.outDir, "recordings.csv"), recordingsCsv(recordings, classes));
  const json = {
    classes, uncertain_below: params.uncertain_below,
    model: { selected: metadata["selected"] ?? null, inputs: (metadata["inputs"] ?? null) as Json, weights_sha256: (metadata["weights_sha256"] ?? null) as Json },
    samples: data as unknown as Json,
    accuracy, out_of_distribution: ood as unknown as Json,
    recordings: recordings as unknown as Json, events: events as unknown as Json,
    how: "per sample: centre crop, not flipped, no dropout (as evaluate); per event and stream: the class of the subsamples' summed log-probabilities, its probability the softmax of their mean; uncertain: the streams disagree or the fused probability is below uncertain_below",
  };
  writeFileSync(join(ctx.outDir, "events.json"), `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(join(ctx.outDir, "summary.md"), markdown(recordings, events, classes, accuracy, ood));

  const items: ItemOut[] = recordings.map((r, k) => {
    const report = reports.get(r.recording);
    const rows = events.filter((e) => e.recording === r.recording);
    const fps = report?.fps ?? numberAt(samples.items.find((i) => recordingOf(i) === r.recording)?.meta ?? {}, "fps") ?? null;
    const frames = report?.frames ?? Math.max(1, ...rows.map((e) => e.end ?? 0));
    const file = `figure-${k}.png`;
    writeFileSync(join(ctx.outDir, file), drawRecording(r.recording, rows, classes, report?.trace ?? null, frames, fps).png());
    return { id: r.recording, files: { figure: file }, meta: { events: r.events, bouts: r.bouts, uncertain: r.uncertain, rate_per_min: r.rate_per_min } };
  });
  return {
    table: {
      files: { events: "events.csv", json: "events.json", recordings: "recordings.csv", subsamples: "subsamples.h5", summary: "summary.md" },
      meta: { events: events.length, recordings: recordings.length, uncertain: events.filter((e) => e.uncertain).length, ...Object.fromEntries(classes.map((c) => [c, events.filter((e) => e.fused.class === c).length])), accuracy, out_of_distribution: ood.length },
    },
    recordings: { items },
  };
}
