/**
 * The gradient of one shard of a batch (its mean loss times its share of the batch), on the
 * active backend: what a gradient worker computes for each shard it is given, and what the
 * trainer computes in its own thread when it trains on one thread, so that both give the same bits.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../gradients.js";
import { nllLoss } from "../forward.js";
import { trainedLogProbs } from "../objective.js";
import { batchTensors } from "../input.js";
import type { Architecture } from "../architecture.js";
import type { ShardMessage, ShardResult } from "./protocol.js";

/** `weights` in the order of `names`; nothing of them is disposed. */
export function shardGradient(arch: Architecture, names: string[], weights: tf.Tensor[], shard: ShardMessage): ShardResult {
  const input = batchTensors(shard.samples, shard.augmentations, arch.input_size);
  const masks = new Map(shard.masks.map((k) => [k.key, k]));
  const target = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(shard.labels, "int32"), arch.classes), "float32") as tf.Tensor2D);
  let fused: tf.Tensor | undefined;
  try {
    const { value, grads } = tf.tidy(() => {
      const f = tf.valueAndGrads((...ws: tf.Tensor[]) => {
        const byName = new Map(names.map((n, i) => [n, ws[i]!]));
        fused = tf.keep(trainedLogProbs(arch, byName, input.spatial, input.temporal, (stream, layer) => {
          const k = masks.get(`${stream}/${layer}`)!;
          return tf.tensor2d(k.values, [k.rows, k.cols]);
        }));
        return tf.mul(nllLoss(fused as tf.Tensor2D, target), shard.share) as tf.Scalar;
      });
      return f(weights);
    });
    // The wasm backend's readSync copies out of its heap; the cpu backend's returns its own store.
    const host = grads.map((g) => (tf.getBackend() === "wasm" ? (g.dataSync() as Float32Array) : (g.dataSync() as Float32Array).slice()));
    const loss = value.dataSync()[0]! / shard.share;
    const out = (fused!.dataSync() as Float32Array).slice();
    tf.dispose([value, ...grads]);
    return { grads: host, loss, fused: out };
  } finally {
    tf.dispose([input.spatial, input.temporal, target, ...(fused ? [fused] : [])]);
  }
}
