/**
 * The training loop of the two-stream network: Adam with L2 weight decay, learning rate times
 * 1/sqrt(epoch), loss = NLL of the fused log-softmax, validation after every epoch, a checkpoint
 * after every epoch.
 *
 * Reproducible for a given seed and backend: the weights are drawn on the host from the seed,
 * and epoch e's order, augmentations and dropout masks come from a generator seeded by
 * (seed, e) alone, so resuming after epoch e replays exactly what an uninterrupted run does.
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients.js";
import { Rng, hash32 } from "../random.js";
import { AdamL2, learningRate, type Schedule } from "./adam.js";
import type { Architecture } from "./architecture.js";
import { epochDraws, recordingBatches, type Augmentation } from "./batches.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { ExampleRef, SampleSource } from "./dataset.js";
import { nllLoss, twoStream, type DropoutMasks, type TensorWeights } from "./forward.js";
import { batchTensors } from "./input.js";
import { accuracyOf, meanNll, predict } from "./predict.js";
import { initialWeights, type HostWeights } from "./weights.js";

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

export async function readWeights(vars: Map<string, tf.Variable>): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const [name, v] of vars) out.set(name, { shape: v.shape, values: (await v.data()) as Float32Array });
  return out;
}

/**
 * Whether epoch record `a` validates better than `b`: higher fused accuracy, and at equal
 * accuracy (a few dozen validation samples make ties common) lower fused loss.
 */
export function validatesBetter(a: ValidationRecord, b: ValidationRecord): boolean {
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss);
}

/** Inverted-dropout masks drawn in call order from `rng`. */
function dropoutFrom(rng: Rng, rate: number): DropoutMasks {
  return (_stream, _layer, [rows, cols]) => {
    const mask = new Float32Array(rows * cols);
    const keep = 1 / (1 - rate);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < rate ? 0 : keep;
    return tf.tensor2d(mask, [rows, cols]);
  };
}

function oneHot(labels: number[], classes: number): tf.Tensor2D {
  const values = new Float32Array(labels.length * classes);
  labels.forEach((y, i) => (values[i * classes + y] = 1));
  return tf.tensor2d(values, [labels.length, classes]);
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

export async function trainTwoStream(data: TrainData, s: TrainSettings, options: TrainOptions = {}): Promise<TrainResult> {
  if (data.train.length === 0) throw new Error("no training samples: the splits file assigns no recording of these samples to \"train\"");
  const { arch } = s;
  const log = options.log ?? (() => {});
  const resumed = options.checkpoint ? loadCheckpoint<EpochRecord>(options.checkpoint.dir, options.checkpoint.fingerprint) : undefined;
  if (resumed) log(resumed.reason);
  const start = resumed?.checkpoint;
  const host = start?.weights ?? options.initial ?? initialWeights(arch, s.seed);
  const vars = new Map<string, tf.Variable>();
  for (const [name, w] of host) {
    const t = tf.tensor(w.values, w.shape);
    vars.set(name, tf.variable(t, true));
    t.dispose(); // the variable holds its own reference to the data
  }
  const varList = [...vars.values()];
  const nameOf = new Map(varList.map((v, i) => [v.name, [...vars.keys()][i]!]));
  const adam = new AdamL2(vars, { weightDecay: s.weightDecay }, start?.adam);
  const history: EpochRecord[] = [...(start?.history ?? [])];
  let best = start?.best;
  const batchesPerEpoch = Math.ceil((s.augmentation === "all" ? 18 : 1) * data.train.length / s.batchSize);

  try {
    for (let epoch = (start?.epoch ?? 0) + 1; epoch <= s.epochs; epoch++) {
      const rng = new Rng(hash32(s.seed, "epoch", epoch));
      const batches = recordingBatches(epochDraws(data.train.length, s.augmentation, rng), data.train, s.batchSize, rng);
      const dropout = dropoutFrom(rng, arch.dropout);
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
        const input = batchTensors(samples, batch.map((d) => d.augmentation), arch.input_size);
        const labels = examples.map((e) => e.label);
        const target = oneHot(labels, arch.classes);
        let fused: tf.Tensor2D | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const out = twoStream(arch, vars, input.spatial, input.temporal, dropout);
          fused = tf.keep(out.fused);
          return nllLoss(out.fused, target);
        }, varList);
        const named: Record<string, tf.Tensor> = {};
        for (const [id, g] of Object.entries(grads)) named[nameOf.get(id)!] = g;
        adam.apply(named, lr);
        const loss = (await value.data())[0]!;
        correct += accuracyOf((await fused!.data()) as Float32Array, labels, arch.classes) * labels.length;
        tf.dispose([value, fused!, target, input.spatial, input.temporal, ...Object.values(grads)]);
        lossSum += loss * labels.length;
        seen += labels.length;
        options.onBatch?.({
          epoch, epochs: s.epochs, batch: b + 1, batches: batchesPerEpoch, loss, accuracy: correct / seen,
          samplesPerSecond: seen / ((performance.now() - began) / 1000),
        });
      }
      const seconds = (performance.now() - began) / 1000;
      const validation = await validate(arch, vars, data.source, data.validation, s.batchSize, options.signal);
      const record: EpochRecord = { epoch, lr, loss: lossSum / seen, accuracy: correct / seen, validation, samples: seen, seconds, samples_per_second: seen / seconds };
      history.push(record);
      const bestRecord = best ? history[best.epoch - 1]!.validation : null;
      const improved = s.keep === "best" && validation !== null && (!bestRecord || validatesBetter(validation, bestRecord));
      // Reading the weights back to the host costs a GPU round trip: only for a checkpoint or a new best.
      const weights = improved || options.checkpoint ? await readWeights(vars) : undefined;
      if (improved) best = { epoch, weights: weights! };
      if (options.checkpoint) {
        saveCheckpoint(options.checkpoint.dir, { fingerprint: options.checkpoint.fingerprint, epoch, history, weights: weights!, adam: await adam.state(), ...(best ? { best } : {}) });
      }
      options.onEpoch?.(record);
    }
    // Without validation samples there is nothing to choose by: the last epoch stays.
    const kept = best ?? { epoch: history.length, weights: await readWeights(vars) };
    return { weights: kept.weights, keptEpoch: kept.epoch, history, resumedAfter: start?.epoch ?? 0 };
  } finally {
    adam.dispose();
    for (const v of varList) v.dispose();
  }
}
