/**
 * How the trainer takes one step: in this thread on the active backend's variables (AdamL2), or
 * on fixed shards of each batch, in this thread or across worker threads, with the weights and
 * Adam on the host (parallel/). Both
 * take the same batches and the same dropout masks, drawn here in the order the forward pass
 * asks for them (spatial stream first, fc layers in order).
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients.js";
import { Rng } from "../random.js";
import { AdamL2, type AdamState } from "./adam.js";
import { STREAMS, type Architecture, type Stream } from "./architecture.js";
import { nllLoss, type DropoutMasks, type TensorWeights } from "./forward.js";
import { trainedLogProbs } from "./objective.js";
import { batchTensors, type StreamSample } from "./input.js";
import { HostAdam } from "./parallel/host-adam.js";
import { HeapAdam } from "./heap-adam.js";
import { GradientPool, maskKey, type BatchMasks } from "./parallel/pool.js";
import type { WorkerBackend } from "./parallel/protocol.js";
import type { HostWeights } from "./weights.js";

export interface StepResult {
  loss: number;
  /** Fused log-probabilities [batch * classes]. */
  fused: Float32Array;
}

export interface TrainStep {
  step(samples: StreamSample[], augmentations: number[], labels: number[], masks: BatchMasks, lr: number): Promise<StepResult>;
  /** The current weights as tensors, for validation; release() frees what it made. */
  tensors(): { weights: TensorWeights; release(): void };
  weights(): Promise<HostWeights>;
  adamState(): Promise<AdamState>;
  close(): Promise<void>;
}

/** Inverted-dropout masks of one batch: 0 or 1/(1-rate) per unit of every hidden fc layer; none without dropout. */
export function drawMasks(arch: Architecture, batch: number, rng: Rng, streams: readonly Stream[] = STREAMS): BatchMasks {
  const masks: BatchMasks = new Map();
  if (arch.dropout <= 0) return masks;
  const keep = 1 / (1 - arch.dropout);
  for (const stream of streams) {
    arch.fc.forEach((units, i) => {
      const values = new Float32Array(batch * units);
      for (let k = 0; k < values.length; k++) values[k] = rng.next() < arch.dropout ? 0 : keep;
      masks.set(maskKey(stream, arch.conv.length + 1 + i), { cols: units, values });
    });
  }
  return masks;
}

const maskFunction = (masks: BatchMasks): DropoutMasks => (stream, layer, [rows, cols]) => tf.tensor2d(masks.get(maskKey(stream, layer))!.values, [rows, cols]);

function oneHot(labels: number[], classes: number): tf.Tensor2D {
  const values = new Float32Array(labels.length * classes);
  labels.forEach((y, i) => (values[i * classes + y] = 1));
  return tf.tensor2d(values, [labels.length, classes]);
}

async function readVariables(vars: Map<string, tf.Variable>): Promise<HostWeights> {
  const out: HostWeights = new Map();
  for (const [name, v] of vars) out.set(name, { shape: v.shape, values: (await v.data()) as Float32Array });
  return out;
}

/** Variables on the active backend, gradients by tf.variableGrads, AdamL2 (on the heap for wasm). */
export function inProcessStep(arch: Architecture, initial: HostWeights, weightDecay: number, adamState?: AdamState): TrainStep {
  const vars = new Map<string, tf.Variable>();
  for (const [name, w] of initial) {
    const t = tf.tensor(w.values, w.shape);
    vars.set(name, tf.variable(t, true));
    t.dispose(); // the variable holds its own reference to the data
  }
  const varList = [...vars.values()];
  const nameOf = new Map(varList.map((v, i) => [v.name, [...vars.keys()][i]!]));
  // On wasm the update reads the heap directly (heap-adam.ts); elsewhere it is TF.js ops.
  const adam = tf.getBackend() === "wasm" ? new HeapAdam(vars, { weightDecay }, adamState) : new AdamL2(vars, { weightDecay }, adamState);
  return {
    async step(samples, augmentations, labels, masks, lr) {
      const input = batchTensors(samples, augmentations, arch.input_size);
      const target = oneHot(labels, arch.classes);
      let fused: tf.Tensor2D | undefined;
      const { value, grads } = tf.variableGrads(() => {
        fused = tf.keep(trainedLogProbs(arch, vars, input.spatial, input.temporal, maskFunction(masks)));
        return nllLoss(fused, target);
      }, varList);
      const named: Record<string, tf.Tensor> = {};
      for (const [id, g] of Object.entries(grads)) named[nameOf.get(id)!] = g;
      adam.apply(named, lr);
      const loss = (await value.data())[0]!;
      const probs = (await fused!.data()) as Float32Array;
      tf.dispose([value, fused!, target, input.spatial, input.temporal, ...Object.values(grads)]);
      return { loss, fused: probs };
    },
    tensors: () => ({ weights: vars, release: () => {} }),
    weights: () => readVariables(vars),
    adamState: () => adam.state(),
    async close() {
      adam.dispose();
      for (const v of varList) v.dispose();
    },
  };
}

/** Fixed shards of each batch on `threads` threads (worker threads from 2), the weights and Adam on the host. */
export async function parallelStep(arch: Architecture, initial: HostWeights, weightDecay: number, threads: number, backend: WorkerBackend, adamState?: AdamState): Promise<TrainStep> {
  const pool = await GradientPool.start(arch, initial, threads, backend);
  const adam = new HostAdam(new Map([...pool.weights].map(([n, w]) => [n, w.shape])), { weightDecay }, adamState);
  const copy = (w: HostWeights): HostWeights => new Map([...w].map(([n, t]) => [n, { shape: t.shape, values: t.values.slice() }]));
  return {
    async step(samples, augmentations, labels, masks, lr) {
      const { grads, loss, fused } = await pool.gradients(samples, augmentations, labels, masks);
      adam.apply(pool.weights, grads, lr);
      return { loss, fused };
    },
    tensors() {
      const weights: TensorWeights = new Map([...pool.weights].map(([n, w]) => [n, tf.tensor(w.values, w.shape)]));
      return { weights, release: () => tf.dispose([...weights.values()]) };
    },
    weights: async () => copy(pool.weights),
    adamState: async () => adam.state(),
    close: () => pool.close(),
  };
}
