/**
 * The two-stream network as a plain function of its weights (tfjs-core ops only), so that
 * training, evaluation and explanation all run the very same computation, and the weights can be
 * saved as a tf.LayersModel (layers-model.ts) that computes the same outputs.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasLrn, type Architecture, type Stream } from "./architecture.js";

/** Weights as tensors (or variables), by the names of `weightShapes`. */
export type TensorWeights = Map<string, tf.Tensor>;

/**
 * Dropout masks for one batch: a [batch, units] tensor of 0 and 1/(1-rate) per hidden fc layer
 * (inverted dropout, as PyTorch), or none at evaluation. Drawn by the caller from a seeded
 * generator, so that training is reproducible on every backend.
 */
export type DropoutMasks = (stream: Stream, layer: number, shape: [number, number]) => tf.Tensor2D;

function weight(weights: TensorWeights, name: string): tf.Tensor {
  const w = weights.get(name);
  if (!w) throw new Error(`the network has no weight "${name}"`);
  return w;
}

/** TensorFlow's LRN with PyTorch's parameters (window `size`, alpha divided by size). */
export function lrn(x: tf.Tensor4D, p: Architecture["lrn"]): tf.Tensor4D {
  return tf.localResponseNormalization(x, (p.size - 1) / 2, p.k, p.alpha / p.size, p.beta);
}

/** One stream, input [batch, rows, cols, channels] -> logits [batch, classes]. */
export function streamLogits(arch: Architecture, stream: Stream, weights: TensorWeights, input: tf.Tensor4D, dropout?: DropoutMasks): tf.Tensor2D {
  let x = input;
  arch.conv.forEach((layer, i) => {
    const name = `${stream}/conv${i + 1}`;
    x = tf.fused.conv2d({
      x, filter: weight(weights, `${name}/kernel`) as tf.Tensor4D, bias: weight(weights, `${name}/bias`),
      strides: layer.stride, pad: layer.pad === 0 ? "valid" : layer.pad, activation: "relu",
    });
    if (hasLrn(layer, stream)) x = lrn(x, arch.lrn);
    if (layer.pool) x = tf.maxPool(x, arch.pool.size, arch.pool.stride, "valid");
  });
  let h: tf.Tensor2D = tf.reshape(x, [x.shape[0], -1]);
  const first = arch.conv.length + 1;
  arch.fc.forEach((units, i) => {
    const name = `${stream}/fc${first + i}`;
    h = tf.fused.matMul({ a: h, b: weight(weights, `${name}/kernel`) as tf.Tensor2D, bias: weight(weights, `${name}/bias`), activation: "relu" }) as tf.Tensor2D;
    if (dropout && arch.dropout > 0) h = tf.mul(h, dropout(stream, first + i, [h.shape[0], units])) as tf.Tensor2D;
  });
  const out = `${stream}/fc${first + arch.fc.length}`;
  return tf.fused.matMul({ a: h, b: weight(weights, `${out}/kernel`) as tf.Tensor2D, bias: weight(weights, `${out}/bias`) }) as tf.Tensor2D;
}

/** Fusion: the average of the two streams' log-softmax (the log of a geometric mean of probabilities). */
export function fuse(spatial: tf.Tensor2D, temporal: tf.Tensor2D): tf.Tensor2D {
  return tf.div(tf.add(spatial, temporal), 2) as tf.Tensor2D;
}

export interface TwoStreamOutput {
  spatial: tf.Tensor2D;
  temporal: tf.Tensor2D;
  fused: tf.Tensor2D;
}

/** Both streams and their fusion, all as log-probabilities [batch, classes]. */
export function twoStream(arch: Architecture, weights: TensorWeights, spatial: tf.Tensor4D, temporal: tf.Tensor4D, dropout?: DropoutMasks): TwoStreamOutput {
  const s = tf.logSoftmax(streamLogits(arch, "spatial", weights, spatial, dropout));
  const t = tf.logSoftmax(streamLogits(arch, "temporal", weights, temporal, dropout));
  return { spatial: s, temporal: t, fused: fuse(s, t) };
}

/** Negative log-likelihood, averaged over the batch; `oneHot` is [batch, classes] of 0/1. */
export function nllLoss(logProbs: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(logProbs, oneHot), 1))) as tf.Scalar;
}
