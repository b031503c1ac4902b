/**
 * A worker thread of data-parallel training: its own TensorFlow.js backend (wasm or cpu), the
 * weights read from the trainer's shared buffers before every step, and the gradient of its
 * slice of the batch (the slice's mean loss times its share of the batch) sent back.
 */
import { parentPort } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import "../gradients.js";
import { selectBackend } from "../backend.js";
import { nllLoss } from "../forward.js";
import { trainedLogProbs } from "../objective.js";
import { batchTensors } from "../input.js";
import type { Architecture } from "../architecture.js";
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
  const weights = new Map(names.map((name, i) => [name, tf.tensor(views[i]!, shapes[i]!)]));
  const input = batchTensors(m.samples, m.augmentations, arch.input_size);
  const masks = new Map(m.masks.map((k) => [k.key, k]));
  const target = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(m.labels, "int32"), arch.classes), "float32") as tf.Tensor2D);
  let fused: tf.Tensor | undefined;
  try {
    const list = [...weights.values()];
    const { value, grads } = tf.tidy(() => {
      const f = tf.valueAndGrads((...ws: tf.Tensor[]) => {
        const byName = new Map(names.map((n, i) => [n, ws[i]!]));
        fused = tf.keep(trainedLogProbs(arch, byName, input.spatial, input.temporal, (stream, layer) => {
          const k = masks.get(`${stream}/${layer}`)!;
          return tf.tensor2d(k.values, [k.rows, k.cols]);
        }));
        return tf.mul(nllLoss(fused as tf.Tensor2D, target), m.share) as tf.Scalar;
      });
      return f(list);
    });
    // The wasm backend's readSync copies out of its heap; the cpu backend's returns its own store.
    const host = grads.map((g) => (tf.getBackend() === "wasm" ? (g.dataSync() as Float32Array) : (g.dataSync() as Float32Array).slice()));
    const loss = value.dataSync()[0]! / m.share;
    const out = fused!.dataSync() as Float32Array;
    tf.dispose([value, ...grads]);
    send({ type: "grads", grads: host, loss, fused: out }, host.map((g) => g.buffer as ArrayBuffer));
  } finally {
    tf.dispose([...weights.values(), input.spatial, input.temporal, target, ...(fused ? [fused] : [])]);
  }
}

port.on("message", (m: ToWorker) => {
  const run = async () => (m.type === "init" ? init(m) : step(m));
  run().catch((error: Error) => send({ type: "error", message: error.message }));
});
