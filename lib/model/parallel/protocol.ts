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

/** Dropout mask rows of one hidden fc layer for this worker's slice: key `${stream}/${layer}`. */
export interface SliceMask {
  key: string;
  rows: number;
  cols: number;
  values: Float32Array;
}

export interface StepMessage {
  type: "step";
  samples: StreamSample[];
  augmentations: number[];
  labels: number[];
  masks: SliceMask[];
  /** This slice's share of the batch: its mean loss is scaled by it, so the slices' gradients sum to the batch's. */
  share: number;
}

export type ToWorker = InitMessage | StepMessage;

export type FromWorker =
  | { type: "ready"; reason: string }
  | { type: "grads"; grads: Float32Array[]; loss: number; fused: Float32Array }
  | { type: "error"; message: string };
