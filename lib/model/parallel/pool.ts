/**
 * Synchronous data-parallel gradients across worker threads: each worker computes the gradient
 * of one slice of the batch on its own TensorFlow.js backend, and the slices' gradients are
 * summed here in slice order, so a given batch, weights and thread count give bit-identical
 * results on every run. The weights live in shared memory: the trainer updates them in place
 * between steps and every worker reads them at the start of the next.
 *
 * Why workers: the wasm backend runs one thread in Node (TF.js reports no multithread support
 * there, tensorflow/tfjs#3830), so one training used one core.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Architecture, Stream } from "../architecture.js";
import type { StreamSample } from "../input.js";
import type { HostWeights } from "../weights.js";
import type { FromWorker, SliceMask, ToWorker, WorkerBackend } from "./protocol.js";

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

/** Row ranges [start, end) of `slices` near-equal slices of `n` rows (none empty). */
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
  private readonly workers: GradientWorker[];
  /** Why the workers' backend was taken (the first worker's words). */
  reason = "";

  private constructor(private readonly arch: Architecture, readonly weights: HostWeights, threads: number) {
    this.names = [...weights.keys()];
    this.workers = Array.from({ length: threads }, () => new GradientWorker());
  }

  /**
   * `threads` workers on `backend`; `initial` is copied into shared memory, and the pool's
   * `weights` (the same names and shapes) are what the trainer updates in place.
   */
  static async start(arch: Architecture, initial: HostWeights, threads: number, backend: WorkerBackend): Promise<GradientPool> {
    const shared: HostWeights = new Map();
    for (const [name, w] of initial) {
      const values = new Float32Array(new SharedArrayBuffer(w.values.byteLength));
      values.set(w.values);
      shared.set(name, { shape: w.shape, values });
    }
    const pool = new GradientPool(arch, shared, threads);
    try {
      const init: ToWorker = {
        type: "init", arch, backend, names: pool.names, shapes: pool.names.map((n) => shared.get(n)!.shape),
        buffers: pool.names.map((n) => shared.get(n)!.values.buffer as SharedArrayBuffer),
      };
      const replies = await Promise.all(pool.workers.map((w) => w.request(init)));
      pool.reason = replies[0]!.type === "ready" ? replies[0]!.reason : "";
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get threads(): number {
    return this.workers.length;
  }

  /** The batch's gradient (mean loss), from its slices in order. */
  async gradients(samples: StreamSample[], augmentations: number[], labels: number[], masks: BatchMasks): Promise<BatchGradients> {
    const n = samples.length;
    const slices = sliceRows(n, this.workers.length);
    const replies = await Promise.all(slices.map(([a, b], i) => {
      const sliceMasks: SliceMask[] = [...masks].map(([key, m]) => ({ key, rows: b - a, cols: m.cols, values: m.values.slice(a * m.cols, b * m.cols) }));
      return this.workers[i]!.request({
        type: "step", samples: samples.slice(a, b), augmentations: augmentations.slice(a, b), labels: labels.slice(a, b), masks: sliceMasks, share: (b - a) / n,
      });
    }));
    const grads = new Map<string, Float32Array>();
    let loss = 0;
    const fused = new Float32Array(n * this.arch.classes);
    replies.forEach((r, i) => {
      if (r.type !== "grads") throw new Error(`gradient worker answered ${r.type} to a step`);
      this.names.forEach((name, j) => {
        const g = r.grads[j]!;
        const sum = grads.get(name);
        if (!sum) grads.set(name, g);
        else for (let k = 0; k < g.length; k++) sum[k] = sum[k]! + g[k]!;
      });
      loss += (r.loss * (slices[i]![1] - slices[i]![0])) / n;
      fused.set(r.fused, slices[i]![0] * this.arch.classes);
    });
    return { grads, loss, fused };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
