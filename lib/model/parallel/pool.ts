/**
 * Synchronous data-parallel gradients: each batch is cut into fixed shards (route.ts
 * `batchShards`, the same for any thread count), each shard's gradient is computed on its own
 * (by a worker thread, each on its own TensorFlow.js backend, or in this thread when there is
 * one thread), and the shards' gradients are summed here in shard order. So the bits depend on
 * the batch and the weights alone: 1, 2, 3 or 16 threads give the same. The weights live in
 * shared memory: the trainer updates them in place between steps and every worker reads them at
 * the start of the next.
 *
 * Why workers: the wasm backend runs one thread in Node (TF.js reports no multithread support
 * there, tensorflow/tfjs#3830), so one training used one core.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import type { Architecture, Stream } from "../architecture.js";
import { batchShards } from "../route.js";
import type { StreamSample } from "../input.js";
import type { HostWeights } from "../weights.js";
import type { FromWorker, ShardMessage, ShardResult, ToWorker, WorkerBackend } from "./protocol.js";
import { shardGradient } from "./shard-gradient.js";

/** A batch's dropout masks, whole ([batch, units] per hidden fc layer), by `${stream}/${layer}`. */
export type BatchMasks = Map<string, { cols: number; values: Float32Array }>;

export const maskKey = (stream: Stream, layer: number): string => `${stream}/${layer}`;

export interface BatchGradients {
  grads: Map<string, Float32Array>;
  /** Mean loss over the batch. */
  loss: number;
  /** Fused log-probabilities [batch * classes]. */
  fused: Float32Array;
}

/** Ranges [start, end) of `slices` near-equal contiguous slices of `n` (none empty): which shards each worker takes. */
export function sliceRows(n: number, slices: number): [number, number][] {
  const k = Math.max(1, Math.min(slices, n));
  return Array.from({ length: k }, (_, i) => [Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
}

/** The worker's compiled file; run from the TypeScript sources (vitest), the build's (npm run build). */
function workerFile(): URL {
  const beside = new URL("./gradient-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL("../../../dist/lib/model/parallel/gradient-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`data-parallel training needs the compiled worker ${fileURLToPath(built)}: run npm run build`);
}

class GradientWorker {
  private readonly worker: Worker;
  private pending?: { resolve(m: FromWorker): void; reject(e: Error): void };
  private failure?: Error;

  constructor() {
    this.worker = new Worker(workerFile());
    this.worker.on("message", (m: FromWorker) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(m);
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.pending?.reject(error);
      this.pending = undefined;
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`a gradient worker stopped (exit code ${code})`)));
  }

  request(message: ToWorker): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    }).then((m) => {
      if (m.type === "error") throw new Error(`gradient worker: ${m.message}`);
      return m;
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}

export class GradientPool {
  private readonly names: string[];
  /** None on one thread: the shards are computed in this thread, on the active backend. */
  private readonly workers: GradientWorker[];
  /** Why the workers' backend was taken (the first worker's words). */
  reason = "";

  private constructor(private readonly arch: Architecture, readonly weights: HostWeights, threads: number) {
    this.names = [...weights.keys()];
    this.workers = threads > 1 ? Array.from({ length: threads }, () => new GradientWorker()) : [];
  }

  /**
   * `threads` workers on `backend` (one thread: this one, whose backend must be `backend`);
   * `initial` is copied into shared memory, and the pool's `weights` (the same names and shapes)
   * are what the trainer updates in place.
   */
  static async start(arch: Architecture, initial: HostWeights, threads: number, backend: WorkerBackend): Promise<GradientPool> {
    const shared: HostWeights = new Map();
    for (const [name, w] of initial) {
      const values = new Float32Array(new SharedArrayBuffer(w.values.byteLength));
      values.set(w.values);
      shared.set(name, { shape: w.shape, values });
    }
    const pool = new GradientPool(arch, shared, threads);
    if (!pool.workers.length && tf.getBackend() !== backend) throw new Error(`one-thread training on ${backend} needs that backend active here (it is ${tf.getBackend()})`);
    try {
      const init: ToWorker = {
        type: "init", arch, backend, names: pool.names, shapes: pool.names.map((n) => shared.get(n)!.shape),
        buffers: pool.names.map((n) => shared.get(n)!.values.buffer as SharedArrayBuffer),
      };
      const replies = await Promise.all(pool.workers.map((w) => w.request(init)));
      pool.reason = replies[0]?.type === "ready" ? replies[0].reason : "";
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get threads(): number {
    return Math.max(1, this.workers.length);
  }

  /** Each shard's gradient, in shard order: the workers take contiguous runs of shards. */
  private async shardGradients(shards: ShardMessage[]): Promise<ShardResult[]> {
    if (!this.workers.length) {
      const weights = this.names.map((name) => tf.tensor(this.weights.get(name)!.values, this.weights.get(name)!.shape));
      try {
        return shards.map((shard) => shardGradient(this.arch, this.names, weights, shard));
      } finally {
        tf.dispose(weights);
      }
    }
    const runs = sliceRows(shards.length, this.workers.length);
    const replies = await Promise.all(runs.map(([a, b], i) => this.workers[i]!.request({ type: "step", shards: shards.slice(a, b) })));
    return replies.flatMap((r) => {
      if (r.type !== "grads") throw new Error(`gradient worker answered ${r.type} to a step`);
      return r.shards;
    });
  }

  /** The batch's gradient (mean loss): the sum of its fixed shards' gradients, in shard order. */
  async gradients(samples: StreamSample[], augmentations: number[], labels: number[], masks: BatchMasks): Promise<BatchGradients> {
    const n = samples.length;
    const rows = batchShards(n);
    const shards = rows.map(([a, b]): ShardMessage => ({
      samples: samples.slice(a, b), augmentations: augmentations.slice(a, b), labels: labels.slice(a, b), share: (b - a) / n,
      masks: [...masks].map(([key, m]) => ({ key, rows: b - a, cols: m.cols, values: m.values.slice(a * m.cols, b * m.cols) })),
    }));
    const results = await this.shardGradients(shards);
    const grads = new Map<string, Float32Array>();
    let loss = 0;
    const fused = new Float32Array(n * this.arch.classes);
    results.forEach((r, i) => {
      this.names.forEach((name, j) => {
        const g = r.grads[j]!;
        const sum = grads.get(name);
        if (!sum) grads.set(name, g);
        else for (let k = 0; k < g.length; k++) sum[k] = sum[k]! + g[k]!;
      });
      loss += (r.loss * (rows[i]![1] - rows[i]![0])) / n;
      fused.set(r.fused, rows[i]![0] * this.arch.classes);
    });
    return { grads, loss, fused };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
