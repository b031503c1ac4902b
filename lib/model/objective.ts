/**
 * What a training step minimises, for the streams whose weights it is given: the fused
 * log-softmax of both streams (the network), or the temporal stream's alone when only its
 * weights are there (how the benchmarks train the paper's temporal stream by itself).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Architecture } from "./architecture.js";
import { streamLogits, twoStream, type DropoutMasks, type TensorWeights } from "./forward.js";

/** Log-probabilities [batch, classes] that the loss is taken of. */
export function trainedLogProbs(arch: Architecture, weights: TensorWeights, spatial: tf.Tensor4D, temporal: tf.Tensor4D, dropout: DropoutMasks): tf.Tensor2D {
  if (!weights.has("spatial/conv1/kernel")) return tf.logSoftmax(streamLogits(arch, "temporal", weights, temporal, dropout));
  return twoStream(arch, weights, spatial, temporal, dropout).fused;
}
