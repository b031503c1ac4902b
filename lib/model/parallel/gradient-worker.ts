/**
 * A worker thread of data-parallel training: its own TensorFlow.js backend (wasm or cpu), the
 * weights read from the trainer's shared buffers before every step, and the gradient of each
 * shard of the batch it is given (shard-gradient.ts), sent back shard by shard.
 */
import { parentPort } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../backend.js";
import type { Architecture } from "../architecture.js";
import { shardGradient } from "./shard-gradient.js";
import type { FromWorker, InitMessage, StepMessage, ToWorker } from "./protocol.js";

const port = parentPort!;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let arch: Architecture;
let names: string[] = [];
let shapes: number[][] = [];
let views: Float32Array[] = [];

async function init(m: InitMessage): Promise<void> {
  const selection = await selectBackend(m.backend);
  ({ arch, names, shapes } = m);
  views = m.buffers.map((b) => new Float32Array(b));
  send({ type: "ready", reason: selection.reason });
}

function step(m: StepMessage): void {
  const weights = names.map((_, i) => tf.tensor(views[i]!, shapes[i]!));
  try {
    const shards = m.shards.map((shard) => shardGradient(arch, names, weights, shard));
    send({ type: "grads", shards }, shards.flatMap((s) => [...s.grads.map((g) => g.buffer as ArrayBuffer), s.fused.buffer as ArrayBuffer]));
  } finally {
    tf.dispose(weights);
  }
}

port.on("message", (m: ToWorker) => {
  const run = async () => (m.type === "init" ? init(m) : step(m));
  run().catch((error: Error) => send({ type: "error", message: error.message }));
});
