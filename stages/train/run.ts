/**
 * One grid point of the train stage: pick a backend, train with checkpoints, save the model.
 * Loaded lazily by index.ts (it pulls in TensorFlow.js).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ArtifactIn, ArtifactOut, CollectionIn, StageContext } from "../../engine/stage-api.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { flowChannels, multiplyAdds, parameterCount, resolveArchitecture, type Architecture } from "../../lib/model/architecture.js";
import { activateRoute } from "../../lib/model/backend.js";
import { probeMachine } from "../../lib/model/machine.js";
import { describeRoute, resolveTrainingRoute, routeKey, type TrainingRoute } from "../../lib/model/route.js";
import { SampleCache } from "../../lib/model/dataset.js";
import { toLayersModel } from "../../lib/model/layers-model.js";
import { PREPROCESSING, saveModel, MODEL_JSON, WEIGHTS_BIN } from "../../lib/model/model-files.js";
import { loadPretrained } from "../../lib/model/pretrained.js";
import { trainingRecord } from "../../lib/model/recipe.js";
import { examplesBySplit, flowLayoutOf } from "../../lib/model/splits.js";
import { readSplits } from "../../lib/splits.js";
import { trainTwoStream, type EpochRecord } from "../../lib/model/trainer.js";
import { TRAIN_VERSION, type PointParams } from "./index.js";

/**
 * Checkpoints go to the task's scratch folder (ctx.scratch), which the engine keys by the task
 * key (params but backend and memory_mb, seed, inputs, code): an attempt of the same task resumes
 * there, whatever the backend. The engine deletes it when the task succeeds.
 */
const CHECKPOINT_FINGERPRINT = `train v${TRAIN_VERSION}`;

/** An epoch as a keyed output holds it: what was learnt, not how fast (that goes to ctx.measure). */
function learnt({ seconds: _s, samples_per_second: _r, ...epoch }: EpochRecord): Omit<EpochRecord, "seconds" | "samples_per_second"> {
  return epoch;
}

/** The data's flow pairs (meta from the flow stage), checked against the architecture's. */
function flowPairsOf(data: number | undefined, arch: Partial<Architecture>): number | undefined {
  if (data !== undefined && arch.flow_pairs !== undefined && arch.flow_pairs !== data) {
    throw new Error(`train: architecture.flow_pairs is ${arch.flow_pairs} but the samples have ${data} flow pairs: remove the override or make them agree`);
  }
  return arch.flow_pairs ?? data;
}

const fixed = (x: number | undefined | null, digits = 4): string => (x === undefined || x === null ? "-" : x.toFixed(digits));

function epochLine(r: EpochRecord, epochs: number): string {
  const v = r.validation;
  const val = v ? `validation ${fixed(v.accuracy)} (spatial ${fixed(v.accuracy_spatial)}, temporal ${fixed(v.accuracy_temporal)}), loss ${fixed(v.loss)}` : "no validation samples";
  return `epoch ${r.epoch}/${epochs}: loss ${fixed(r.loss)}, accuracy ${fixed(r.accuracy)}, ${val}, lr ${r.lr.toExponential(2)}, ${r.samples_per_second.toFixed(1)} samples/s, ${r.seconds.toFixed(0)} s`;
}

/** The wasm heap stops near 2 GB and fails with a bare "memory access out of bounds": say what it means. */
function explainOutOfMemory(error: Error, backend: string, arch: Architecture): Error {
  if (backend !== "wasm" || !/memory access out of bounds|Aborted\(|out of memory/i.test(error.message)) return error;
  const gb = (parameterCount(arch) * 4 * 2) / 1e9;
  return new Error(
    `train: the wasm backend ran out of memory (${error.message.split("\n")[0]}): its heap stops near 2 GB and holds the weights and their gradients (${gb.toFixed(1)} GB) ` +
      "and the batch's activations (Adam's moments stay on the host): " +
      "use a smaller batch, a smaller architecture (narrower fc layers), or backend webgpu or tensorflow",
  );
}

/** A training set of one class gives a network that always answers it, and perfect accuracy on data like it. */
function requireBothClasses(train: { label: number }[]): void {
  const prey = train.filter((e) => e.label === 1).length;
  const spontaneous = train.length - prey;
  if (prey && spontaneous) return;
  const has = train.length ? `only ${spontaneous ? "spontaneous (label 0)" : "prey (label 1)"} samples (${train.length})` : "no samples";
  throw new Error(`train: the training split holds ${has}: a classifier needs both classes to learn anything. Give the read stage recordings of both classes (check its labels), or move recordings into the training split (split's fractions)`);
}

/**
 * The plan keyed this task by the route it resolved on the machine that planned (a login node,
 * for a cluster): a machine that would take another route would store other bits under that key.
 */
function requirePlannedRoute(planned: unknown, route: TrainingRoute): void {
  if (planned === undefined) return;
  const here = routeKey(route);
  const p = planned as Partial<typeof here>;
  if (p.backend === here.backend && p.kernels === here.kernels) return;
  throw new Error(
    `train: planned for backend ${String(p.backend)} with ${String(p.kernels)} kernels (resolved where dag ran), but this machine would train on ${describeRoute(route)}: ` +
      "that would store other bits under the planned key. Run dag where the tasks run, or make both resolve alike: name the backend in the stage's params, " +
      "and build the native kernels on both (npm run build) or turn them off on both (DAG_NATIVE_KERNELS=off)",
  );
}

export async function trainPoint(ctx: StageContext, params: PointParams, samples: CollectionIn, splitsIn: ArtifactIn, pretrained?: ArtifactIn): Promise<ArtifactOut> {
  const machine = probeMachine();
  const route = resolveTrainingRoute(params, machine);
  requirePlannedRoute(ctx.machine, route);
  const splitsPath = mainFile(splitsIn, "splits");
  if (!splitsPath) throw new Error(`train: the splits input has no "splits" file (it has: ${fileNames(splitsIn)}): feed split.splits`);
  const sets = examplesBySplit(samples.items, readSplits(splitsPath));
  requireBothClasses(sets.train);
  const layout = flowLayoutOf(samples.items);
  const flowPairs = flowPairsOf(layout.flowPairs, params.architecture);
  const arch = resolveArchitecture({ ...params.architecture, ...(flowPairs !== undefined ? { flow_pairs: flowPairs } : {}) });
  const seed = params.seed ?? ctx.seed;

  const backend = await activateRoute(route, machine);
  ctx.route?.({ ...route });
  ctx.log(`backend ${backend.backend}: ${backend.reason}`);
  ctx.log(`${sets.train.length} training, ${sets.validation.length} validation samples; ${(parameterCount(arch) / 1e6).toFixed(2)} M weights, ${(multiplyAdds(arch) / 1e6).toFixed(0)} M multiply-adds per sample`);

  const start = pretrained ? await loadPretrained(pretrained.files, arch, seed) : undefined;
  for (const note of start?.notes ?? []) ctx.log(`pretrained: ${note}`);

  const source = new SampleCache(flowChannels(arch, layout.pairStride), params.memory_mb * 2 ** 20);
  const record = await trainingRecord(samples.items, sets.train, source, arch);
  const batchesPerEpoch = Math.ceil(((params.augmentation === "all" ? 18 : 1) * sets.train.length) / params.batch);
  const totalBatches = params.epochs * batchesPerEpoch;
  const began = performance.now();

  const result = await trainTwoStream(
    { source, train: sets.train, validation: sets.validation },
    { arch, lr: params.lr, weightDecay: params.weight_decay, epochs: params.epochs, batchSize: params.batch, schedule: params.schedule, augmentation: params.augmentation, seed, keep: params.keep },
    {
      initial: start?.weights,
      checkpoint: { dir: ctx.scratch, fingerprint: CHECKPOINT_FINGERPRINT },
      log: ctx.log,
      signal: ctx.signal,
      route,
      onBatch: (p) => ctx.progress(
        (p.epoch - 1) * batchesPerEpoch + p.batch, totalBatches,
        `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}, loss ${p.loss.toFixed(3)}, accuracy ${p.accuracy.toFixed(2)}, ${p.samplesPerSecond.toFixed(0)} samples/s`,
      ),
      onEpoch: (r) => ctx.log(epochLine(r, params.epochs)),
    },
  ).catch((error: Error) => {
    throw explainOutOfMemory(error, backend.backend, arch);
  });

  const history = result.history;
  const last = history.at(-1)!;
  const kept = history[result.keptEpoch - 1]!;
  if (params.keep === "best") ctx.log(`keeping epoch ${kept.epoch} of ${last.epoch}: ${kept.validation ? `the best validation (${epochLine(kept, params.epochs)})` : "no validation samples to choose by"}`);
  const model = toLayersModel(arch, result.weights);
  try {
    await saveModel(model, ctx.outDir, {
      architecture: arch, preprocessing: PREPROCESSING, ...record, lr: params.lr, weight_decay: params.weight_decay, epochs: params.epochs, kept_epoch: kept.epoch, schedule: params.schedule, seed, backend: backend.backend,
    });
  } finally {
    model.dispose();
  }
  // Keyed outputs hold what was learnt, so two equal trainings give equal bytes and evaluate is
  // spared (early cutoff); how the run went (times, rates, resuming, backend choice) is measured.
  const metrics = {
    backend: backend.backend,
    lr: params.lr, weight_decay: params.weight_decay, epochs: params.epochs, seed,
    samples: { train: sets.train.length, validation: sets.validation.length, test: sets.test.length },
    parameters: parameterCount(arch), multiply_adds_per_sample: multiplyAdds(arch),
    kept_epoch: kept.epoch,
    kept: learnt(kept),
    final: learnt(last),
    pretrained: start?.notes ?? null,
  };
  writeFileSync(join(ctx.outDir, "history.json"), `${JSON.stringify(history.map(learnt), null, 1)}\n`);
  writeFileSync(join(ctx.outDir, "metrics.json"), `${JSON.stringify(metrics, null, 1)}\n`);
  const trainedEpochs = history.filter((h) => h.epoch > result.resumedAfter);
  ctx.measure({
    backend: { name: backend.backend, requested: backend.requested, reason: backend.reason, attempts: backend.attempts.map((x) => ({ ...x })) },
    resumed_after: result.resumedAfter,
    // Over the epochs this run trained (not those restored from a checkpoint).
    samples_per_second: trainedEpochs.length ? trainedEpochs.reduce((s, h) => s + h.samples, 0) / trainedEpochs.reduce((s, h) => s + h.seconds, 0) : null,
    seconds: (performance.now() - began) / 1000,
    epoch_seconds: history.map((h) => h.seconds),
  });
  return {
    files: { model: MODEL_JSON, weights: WEIGHTS_BIN, history: "history.json", metrics: "metrics.json" },
    meta: {
      lr: params.lr, weight_decay: params.weight_decay, epochs: params.epochs, kept_epoch: kept.epoch, backend: backend.backend,
      validation_accuracy: kept.validation?.accuracy ?? null, validation_loss: kept.validation?.loss ?? null, train_accuracy: kept.accuracy,
    },
  };
}
