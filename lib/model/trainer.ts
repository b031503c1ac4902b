/**
 * The training loop of the two-stream network: Adam with L2 weight decay, learning rate times
 * 1/sqrt(epoch), loss = NLL of the fused log-softmax, validation after every epoch, a checkpoint
 * after every epoch.
 *
 * Reproducible for a given seed and route (route.ts: backend and kernels; any thread count gives
 * the same bits): the weights are drawn on the host
 * from the seed, and epoch e's order, augmentations and dropout masks come from a generator
 * seeded by (seed, e) alone, so resuming after epoch e replays exactly what an uninterrupted run
 * does. Each step runs in this thread or across worker threads (train-step.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients.js";
import { Rng, hash32 } from "../random.js";
import { learningRate, type AdamState, type Schedule } from "./adam.js";
import type { Architecture } from "./architecture.js";
import { epochDraws, recordingBatches, type Augmentation } from "./batches.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { ExampleRef, SampleSource } from "./dataset.js";
import type { TensorWeights } from "./forward.js";
import { accuracyOf, meanNll, predict } from "./predict.js";
import { drawMasks, inProcessStep, parallelStep, type TrainStep } from "./train-step.js";
import { initialWeights, type HostWeights } from "./weights.js";
import { setNativeThreads } from "./native-kernels.js";
import { probeMachine, type ConcreteBackend } from "./machine.js";
import { describeRoute, resolveTrainingRoute, type TrainingRoute } from "./route.js";

/** Which epoch's weights a training returns: the best on the validation samples, or the last. */
export type KeepEpoch = "best" | "last";

export interface TrainSettings {
  arch: Architecture;
  lr: number;
  weightDecay: number;
  epochs: number;
  batchSize: number;
  schedule: Schedule;
  augmentation: Augmentation;
  seed: number;
  keep: KeepEpoch;
}

export interface ValidationRecord {
  loss: number;
  accuracy: number;
  accuracy_spatial: number;
  accuracy_temporal: number;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  /** Mean training loss and accuracy over the epoch's batches (with dropout and augmentation). */
  loss: number;
  accuracy: number;
  /** On the validation samples (centre crop, no flip, no dropout); null without validation samples. */
  validation: ValidationRecord | null;
  samples: number;
  /** Seconds of training (data preparation included, validation not). */
  seconds: number;
  samples_per_second: number;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
}

export interface TrainData {
  source: SampleSource;
  train: ExampleRef[];
  validation: ExampleRef[];
}

export interface TrainOptions {
  /** Starting weights (a weights file); default: seeded random initialisation. */
  initial?: HostWeights;
  /** Checkpoint folder and what the training depends on; omit to train without checkpoints. */
  checkpoint?: { dir: string; fingerprint: string };
  onBatch?(progress: BatchProgress): void;
  /** Called after the epoch's checkpoint is written. */
  onEpoch?(record: EpochRecord): void;
  log?(message: string): void;
  signal?: AbortSignal;
  /** The route to train on (route.ts), its backend active; default: the active backend's on `threads`. */
  route?: TrainingRoute;
  /** Without a route: threads on the wasm or cpu backend (default 1); the bits are the same for any count. */
  threads?: number;
}

export interface TrainResult {
  /** The kept epoch's weights. */
  weights: HostWeights;
  /** The epoch whose weights these are (the last one unless `keep` is "best"). */
  keptEpoch: number;
  history: EpochRecord[];
  /** Epochs that came from a checkpoint (0 when training started from scratch). */
  resumedAfter: number;
}

/**
 * Whether epoch record `a` validates better than `b`: higher fused accuracy, and at equal
 * accuracy (a few dozen validation samples make ties common) lower fused loss.
 */
export function validatesBetter(a: ValidationRecord, b: ValidationRecord): boolean {
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss);
}

export async function validate(arch: Architecture, weights: TensorWeights, source: SampleSource, examples: ExampleRef[], batchSize: number, signal?: AbortSignal): Promise<ValidationRecord | null> {
  if (examples.length === 0) return null;
  const p = await predict(arch, weights, source, examples, { batchSize, signal });
  const labels = examples.map((e) => e.label);
  return {
    loss: meanNll(p.fused, labels, p.classes),
    accuracy: accuracyOf(p.fused, labels, p.classes),
    accuracy_spatial: accuracyOf(p.spatial, labels, p.classes),
    accuracy_temporal: accuracyOf(p.temporal, labels, p.classes),
  };
}

/** The route's way of taking a step: in this thread (the native kernels on the route's threads), or on fixed batch shards. */
export async function openStep(arch: Architecture, initial: HostWeights, weightDecay: number, route: TrainingRoute, adam?: AdamState): Promise<TrainStep> {
  if (route.parallel === "batch-shards") return parallelStep(arch, initial, weightDecay, route.threads, route.backend as "wasm" | "cpu", adam);
  setNativeThreads(route.parallel === "native-kernels" ? route.threads : 1);
  return inProcessStep(arch, initial, weightDecay, adam);
}

/** The route of the active backend on this machine: for callers that chose a backend themselves. */
export function activeRoute(threads: number, batch: number): TrainingRoute {
  return resolveTrainingRoute({ backend: tf.getBackend() as ConcreteBackend, threads, batch }, probeMachine());
}

export async function trainTwoStream(data: TrainData, s: TrainSettings, options: TrainOptions = {}): Promise<TrainResult> {
  if (data.train.length === 0) throw new Error("no training samples: the splits file assigns no recording of these samples to \"train\"");
  const { arch } = s;
  const log = options.log ?? (() => {});
  const resumed = options.checkpoint ? loadCheckpoint<EpochRecord>(options.checkpoint.dir, options.checkpoint.fingerprint) : undefined;
  if (resumed) log(resumed.reason);
  const start = resumed?.checkpoint;
  const host = start?.weights ?? options.initial ?? initialWeights(arch, s.seed);
  const route = options.route ?? activeRoute(options.threads ?? 1, s.batchSize);
  const stepper = await openStep(arch, host, s.weightDecay, route, start?.adam);
  log(`training on ${describeRoute(route)}`);
  const history: EpochRecord[] = [...(start?.history ?? [])];
  let best = start?.best;
  const batchesPerEpoch = Math.ceil((s.augmentation === "all" ? 18 : 1) * data.train.length / s.batchSize);

  try {
    for (let epoch = (start?.epoch ?? 0) + 1; epoch <= s.epochs; epoch++) {
      const rng = new Rng(hash32(s.seed, "epoch", epoch));
      const batches = recordingBatches(epochDraws(data.train.length, s.augmentation, rng), data.train, s.batchSize, rng);
      const lr = learningRate(s.lr, epoch, s.schedule);
      const began = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches.length; b++) {
        if (options.signal?.aborted) throw new Error("training cancelled");
        const batch = batches[b]!;
        const examples = batch.map((d) => data.train[d.example]!);
        const samples = await Promise.all(examples.map((e) => data.source.get(e)));
        const labels = examples.map((e) => e.label);
        const { loss, fused } = await stepper.step(samples, batch.map((d) => d.augmentation), labels, drawMasks(arch, batch.length, rng), lr);
        correct += accuracyOf(fused, labels, arch.classes) * labels.length;
        lossSum += loss * labels.length;
        seen += labels.length;
        options.onBatch?.({
          epoch, epochs: s.epochs, batch: b + 1, batches: batchesPerEpoch, loss, accuracy: correct / seen,
          samplesPerSecond: seen / ((performance.now() - began) / 1000),
        });
      }
      const seconds = (performance.now() - began) / 1000;
      const current = stepper.tensors();
      const validation = await validate(arch, current.weights, data.source, data.validation, s.batchSize, options.signal).finally(() => current.release());
      const record: EpochRecord = { epoch, lr, loss: lossSum / seen, accuracy: correct / seen, validation, samples: seen, seconds, samples_per_second: seen / seconds };
      history.push(record);
      const bestRecord = best ? history[best.epoch - 1]!.validation : null;
      const improved = s.keep === "best" && validation !== null && (!bestRecord || validatesBetter(validation, bestRecord));
      // Reading the weights back to the host costs a GPU round trip: only for a checkpoint or a new best.
      const weights = improved || options.checkpoint ? await stepper.weights() : undefined;
      if (improved) best = { epoch, weights: weights! };
      if (options.checkpoint) {
        saveCheckpoint(options.checkpoint.dir, { fingerprint: options.checkpoint.fingerprint, epoch, history, weights: weights!, adam: await stepper.adamState(), ...(best ? { best } : {}) });
      }
      options.onEpoch?.(record);
    }
    // Without validation samples there is nothing to choose by: the last epoch stays.
    const kept = best ?? { epoch: history.length, weights: await stepper.weights() };
    return { weights: kept.weights, keptEpoch: kept.epoch, history, resumedAfter: start?.epoch ?? 0 };
  } finally {
    await stepper.close();
  }
}
