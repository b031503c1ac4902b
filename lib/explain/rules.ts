/**
 * Propagation rules: each takes what arrives at a layer's output (relevance, or a gradient for
 * the gradient methods) and returns what goes to its input. A rule is a small object; a
 * composite (methods.ts) says which rule each layer gets, as iNNvestigate and zennit do.
 *
 * The LRP rules (Montavon et al. 2017, 2019; Bach et al. 2015), for a linear layer z_k = sum_j a_j w_jk + b_k:
 * - z+ (deep Taylor, hidden layers, a >= 0): R_j = a_j sum_k w+_jk R_k / sum_j' a_j' w+_j'k.
 *   Biases take no relevance: what arrives is passed on whole (conserved) unless sum a w+ = 0.
 * - z^B (deep Taylor, input layer, l <= x <= h): R_i = sum_k (x_i w_ik - l_i w+_ik - h_i w-_ik) R_k / z_k
 *   with z_k = sum_i (x_i w_ik - l_i w+_ik - h_i w-_ik) >= 0: conserved too.
 * - epsilon (LRP-epsilon; 0: LRP-0): R_j = a_j sum_k w_jk R_k / (z_k + eps sign(z_k)), z_k with its
 *   bias, which absorbs its share. LRP-0 on a ReLU network is gradient x input.
 * - winner takes all for max-pooling: relevance goes to the unit that won the window.
 * - identity for ReLU, dropout (test time) and reshapes; for LRN see `lrnIdentity`, `lrnGradient`.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../model/gradients.js";
import { forwardLayer, linear, linearTranspose, type Layer, type Linear } from "./layers.js";

/** Per-sample input bounds of the z^B rule ([n] each), the input's value range. */
export interface Bounds {
  low: tf.Tensor1D;
  high: tf.Tensor1D;
}

export interface Rule {
  readonly name: string;
  /**
   * `input` and `output`: the layer's in the forward pass (a linear layer's output is its
   * pre-activation, bias included: the ReLU is a layer of its own); `signal`: what arrives at
   * its output.
   */
  backward(layer: Layer, input: tf.Tensor, output: tf.Tensor, signal: tf.Tensor, bounds: Bounds): tf.Tensor;
}

function asLinear(layer: Layer, rule: string): Linear {
  if (layer.kind !== "conv" && layer.kind !== "dense") throw new Error(`rule ${rule} applies to conv and dense layers, not ${layer.kind} (${layer.name})`);
  return layer;
}

/** s = R / z where z != 0, else 0: a unit with no denominator passes nothing on. */
function safeDivide(r: tf.Tensor, z: tf.Tensor): tf.Tensor {
  const nonzero = tf.notEqual(z, 0);
  return tf.where(nonzero, tf.div(r, tf.where(nonzero, z, tf.onesLike(z))), tf.zerosLike(z));
}

export const zPlus: Rule = {
  name: "z+",
  backward(layer, a, _output, relevance) {
    const l = asLinear(layer, "z+");
    const wPlus = tf.relu(l.kernel);
    const s = safeDivide(relevance, linear(l, a, wPlus));
    return tf.mul(a, linearTranspose(l, s, wPlus, a.shape));
  },
};

/** A per-sample scalar [n] shaped to broadcast over `like` ([n, 1, 1, 1] or [n, 1]). */
function perSample(values: tf.Tensor1D, like: tf.Tensor): tf.Tensor {
  return tf.reshape(values, [like.shape[0]!, ...like.shape.slice(1).map(() => 1)]);
}

export const zBox: Rule = {
  name: "zB",
  backward(layer, x, output, relevance, bounds) {
    const l = asLinear(layer, "zB");
    const wPlus = tf.relu(l.kernel);
    const wMinus = tf.minimum(l.kernel, 0);
    const low = perSample(bounds.low, x);
    const high = perSample(bounds.high, x);
    // l and h are constant over a sample: their terms are l and h times the response of W+ and
    // W- to an input of ones, the same for every sample: without padding, every output sees the
    // whole kernel, and that response is the kernel's sum.
    const onesResponse = (w: tf.Tensor) => (l.kind === "dense" || l.pad === 0 ? tf.sum(w, l.kind === "dense" ? 0 : [0, 1, 2]) : linear(l, tf.ones([1, ...x.shape.slice(1)]), w));
    // x W is the forward pass's output less the bias.
    const z = tf.sub(tf.sub(tf.sub(output, l.bias), tf.mul(low, onesResponse(wPlus))), tf.mul(high, onesResponse(wMinus)));
    const s = safeDivide(relevance, z);
    // x T(s, W) - l T(s, W+) - h T(s, W-) = (x - h) T(s, W) + (h - l) T(s, W+), as T is linear
    // in the kernel; both transposes in one pass over the kernels side by side.
    const axis = l.kind === "conv" ? 2 : 0;
    const inputAxis = x.shape.length - 1;
    const both = linearTranspose(l, s, tf.concat([l.kernel, wPlus], axis), x.shape.map((d, i) => (i === inputAxis ? 2 * d : d)));
    const [t, tPlus] = tf.split(both, 2, inputAxis);
    return tf.add(tf.mul(tf.sub(x, high), t!), tf.mul(tf.sub(high, low), tPlus!));
  },
};

export function epsilonRule(epsilon: number): Rule {
  return {
    name: epsilon === 0 ? "0" : `epsilon(${epsilon})`,
    backward(layer, a, z, relevance) {
      const l = asLinear(layer, "epsilon");
      const stabilised = epsilon === 0 ? z : tf.add(z, tf.mul(tf.sign(z), epsilon));
      const s = safeDivide(relevance, stabilised);
      return tf.mul(a, linearTranspose(l, s, l.kernel, a.shape));
    },
  };
}

/** The forward op's own gradient, applied to the signal (max-pool: routed to each window's winner). */
function vjp(layer: Layer, input: tf.Tensor, signal: tf.Tensor): tf.Tensor {
  return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(forwardLayer(layer, x), signal)))(input);
}

/** Max-pooling: all of a window's relevance to its winner (the gradient of max-pooling). */
export const winnerTakesAll: Rule = { name: "winner-takes-all", backward: (layer, input, _output, signal) => vjp(layer, input, signal) };

/** Passes the signal through unchanged (reshaped to the input's shape). */
export const identity: Rule = { name: "identity", backward: (_layer, input, _output, signal) => tf.reshape(signal, input.shape) };

/**
 * LRN as identity: LRN rescales each unit by a factor that depends on its neighbours, y_i = d_i x_i;
 * read with d fixed it is a diagonal linear map, and every LRP rule passes R_i on unchanged.
 * Conserves relevance exactly. The next layer's rule uses the normalised activations.
 */
export const lrnIdentity: Rule = { ...identity, name: "identity (LRN)" };

/**
 * LRN by gradient x input: R_in = x * J^T (R / y), the first-order Taylor expansion at the actual
 * input. Not conservative: the sum changes by the factor that LRN's curvature gives (measured in
 * stages/explain/README.md). Used by LRP-0 so that LRP-0 stays gradient x input.
 */
export const lrnGradient: Rule = {
  name: "gradient x input (LRN)",
  backward(layer, x, y, relevance) {
    return tf.mul(x, vjp(layer, x, safeDivide(relevance, y)));
  },
};

/** Plain backpropagation of a gradient through any layer. */
export const gradient: Rule = {
  name: "gradient",
  backward(layer, input, _output, signal) {
    if (layer.kind === "conv" || layer.kind === "dense") return linearTranspose(layer, signal, layer.kernel, input.shape);
    if (layer.kind === "relu") return tf.mul(signal, tf.step(input, 0));
    if (layer.kind === "flatten" || layer.kind === "dropout") return tf.reshape(signal, input.shape);
    return vjp(layer, input, signal);
  },
};

/** Guided backpropagation at a ReLU: only positive gradients through active units. */
export const guidedRelu: Rule = {
  name: "guided ReLU",
  backward: (_layer, input, _output, signal) => tf.mul(tf.relu(signal), tf.step(input, 0)),
};
