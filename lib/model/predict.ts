/** Log-probabilities of both streams and their fusion for a list of samples, batch by batch. */
import * as tf from "@tensorflow/tfjs-core";
import type { Architecture } from "./architecture.js";
import { CENTER } from "./batches.js";
import type { ExampleRef, SampleSource } from "./dataset.js";
import { twoStream, type TensorWeights } from "./forward.js";
import { batchTensors } from "./input.js";

export interface Predictions {
  /** Log-probabilities [n * classes], row-major, for the spatial and temporal streams and their fusion. */
  spatial: Float32Array;
  temporal: Float32Array;
  fused: Float32Array;
  classes: number;
}

export interface PredictOptions {
  batchSize: number;
  /** Which of the 18 augmentations every sample is shown in (default: centre crop, not flipped). */
  augmentation?: number;
  onBatch?(done: number, total: number): void;
  signal?: AbortSignal;
}

export async function predict(arch: Architecture, weights: TensorWeights, source: SampleSource, examples: ExampleRef[], options: PredictOptions): Promise<Predictions> {
  const k = arch.classes;
  const out = { spatial: new Float32Array(examples.length * k), temporal: new Float32Array(examples.length * k), fused: new Float32Array(examples.length * k), classes: k };
  const batches = Math.ceil(examples.length / options.batchSize);
  for (let b = 0; b < batches; b++) {
    if (options.signal?.aborted) throw new Error("cancelled");
    const part = examples.slice(b * options.batchSize, (b + 1) * options.batchSize);
    const samples = await Promise.all(part.map((e) => source.get(e)));
    const input = batchTensors(samples, part.map(() => options.augmentation ?? CENTER), arch.input_size);
    const result = tf.tidy(() => twoStream(arch, weights, input.spatial, input.temporal) as unknown as tf.NamedTensorMap) as unknown as Record<"spatial" | "temporal" | "fused", tf.Tensor>;
    for (const key of ["spatial", "temporal", "fused"] as const) {
      out[key].set(await result[key].data(), b * options.batchSize * k);
      result[key].dispose();
    }
    input.spatial.dispose();
    input.temporal.dispose();
    options.onBatch?.(b + 1, batches);
  }
  return out;
}

/** The most probable class of each row of [n * classes] log-probabilities. */
export function argmaxRows(logProbs: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < logProbs.length; i += classes) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logProbs[i + c]! > logProbs[i + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Mean negative log-likelihood of the true labels. */
export function meanNll(logProbs: Float32Array, labels: number[], classes: number): number {
  let sum = 0;
  labels.forEach((y, i) => (sum -= logProbs[i * classes + y]!));
  return labels.length ? sum / labels.length : NaN;
}

export function accuracyOf(logProbs: Float32Array, labels: number[], classes: number): number {
  const predicted = argmaxRows(logProbs, classes);
  return labels.length ? predicted.filter((p, i) => p === labels[i]).length / labels.length : NaN;
}
