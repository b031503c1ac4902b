/** Messages between the data-parallel trainer (pool.ts) and its gradient workers (gradient-worker.ts). */
import type { Architecture } from "../architecture.js";
import type { StreamSample } from "../input.js";

export type WorkerBackend = "wasm" | "cpu";

export interface InitMessage {
  type: "init";
  arch: Architecture;
  backend: WorkerBackend;
  /** Weight names in order, their shapes, and the shared buffers the trainer updates in place. */
  names: string[];
  shapes: number[][];
  buffers: SharedArrayBuffer[];
}

/** Dropout mask rows of one hidden fc layer for one shard: key `${stream}/${layer}`. */
export interface SliceMask {
  key: string;
  rows: number;
  cols: number;
  values: Float32Array;
}

/** One fixed shard of a batch (route.ts `batchShards`). */
export interface ShardMessage {
  samples: StreamSample[];
  augmentations: number[];
  labels: number[];
  masks: SliceMask[];
  /** This shard's share of the batch: its mean loss is scaled by it, so the shards' gradients sum to the batch's. */
  share: number;
}

/** A shard's gradients (in weight order), its mean loss, its fused log-probabilities. */
export interface ShardResult {
  grads: Float32Array[];
  loss: number;
  fused: Float32Array;
}

/** The shards of a batch that one worker computes, each on its own (never summed in the worker). */
export interface StepMessage {
  type: "step";
  shards: ShardMessage[];
}

export type ToWorker = InitMessage | StepMessage;

export type FromWorker =
  | { type: "ready"; reason: string }
  | { type: "grads"; shards: ShardResult[] }
  | { type: "error"; message: string };
