/**
 * One stream of the two-stream network as the flat list of layers that a relevance pass walks
 * backwards: built from our own layer description (lib/model/architecture.ts), so explanations
 * run on the very computation that training and evaluation ran (lib/model/forward.ts).
 *
 * The output layer is replaced by the explained quantity: the evidence for the target class
 * against the others, logit_c - mean of the other logits (for two classes, log p_c / p_other),
 * one output unit per target class. Its gradient is what saliency explains; its value is the
 * relevance that the LRP rules distribute.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasLrn, type Architecture, type Stream } from "../model/architecture.js";
import type { TensorWeights } from "../model/forward.js";
import { conv2dInputGradient } from "./transpose.js";

export type Layer =
  | { kind: "conv"; name: string; kernel: tf.Tensor4D; bias: tf.Tensor1D; stride: number; pad: number }
  | { kind: "relu"; name: string }
  | { kind: "lrn"; name: string; radius: number; bias: number; alpha: number; beta: number }
  | { kind: "maxpool"; name: string; size: number; stride: number }
  | { kind: "flatten"; name: string }
  | { kind: "dense"; name: string; kernel: tf.Tensor2D; bias: tf.Tensor1D }
  /** Identity at test time; kept so that a composite can say what it does with it. */
  | { kind: "dropout"; name: string };

export type LayerKind = Layer["kind"];
export type Linear = Extract<Layer, { kind: "conv" | "dense" }>;

function weight(weights: TensorWeights, name: string): tf.Tensor {
  const w = weights.get(name);
  if (!w) throw new Error(`the network has no weight "${name}"`);
  return w;
}

/**
 * The output layer of class `target`'s evidence: kernel column c minus the mean of the other
 * columns (and the same for the bias), as a [units, 1] dense layer.
 */
function evidenceLayer(name: string, kernel: tf.Tensor2D, bias: tf.Tensor1D, target: number): Extract<Layer, { kind: "dense" }> {
  const classes = kernel.shape[1];
  if (target < 0 || target >= classes) throw new Error(`class ${target} is not one of the network's ${classes} classes`);
  const contrast = new Float32Array(classes).fill(-1 / (classes - 1));
  contrast[target] = 1;
  return tf.tidy(() => {
    const c = tf.tensor2d(contrast, [classes, 1]);
    return { kind: "dense" as const, name, kernel: tf.matMul(kernel, c), bias: tf.reshape(tf.matMul(tf.reshape(bias, [1, classes]), c), [1]) as tf.Tensor1D };
  });
}

/** The layers of one stream, input to the evidence for `target`. Dispose with `disposeLayers`. */
export function streamLayers(arch: Architecture, stream: Stream, weights: TensorWeights, target: number): Layer[] {
  const layers: Layer[] = [];
  arch.conv.forEach((c, i) => {
    const name = `conv${i + 1}`;
    layers.push({ kind: "conv", name, kernel: weight(weights, `${stream}/${name}/kernel`) as tf.Tensor4D, bias: weight(weights, `${stream}/${name}/bias`) as tf.Tensor1D, stride: c.stride, pad: c.pad });
    layers.push({ kind: "relu", name: `${name}/relu` });
    if (hasLrn(c, stream)) {
      const p = arch.lrn;
      layers.push({ kind: "lrn", name: `${name}/lrn`, radius: (p.size - 1) / 2, bias: p.k, alpha: p.alpha / p.size, beta: p.beta });
    }
    if (c.pool) layers.push({ kind: "maxpool", name: `${name}/pool`, size: arch.pool.size, stride: arch.pool.stride });
  });
  layers.push({ kind: "flatten", name: "flatten" });
  const first = arch.conv.length + 1;
  arch.fc.forEach((_, i) => {
    const name = `fc${first + i}`;
    layers.push({ kind: "dense", name, kernel: weight(weights, `${stream}/${name}/kernel`) as tf.Tensor2D, bias: weight(weights, `${stream}/${name}/bias`) as tf.Tensor1D });
    layers.push({ kind: "relu", name: `${name}/relu` });
    if (arch.dropout > 0) layers.push({ kind: "dropout", name: `${name}/dropout` });
  });
  const out = `fc${first + arch.fc.length}`;
  layers.push(evidenceLayer(out, weight(weights, `${stream}/${out}/kernel`) as tf.Tensor2D, weight(weights, `${stream}/${out}/bias`) as tf.Tensor1D, target));
  return layers;
}

/** Frees what `streamLayers` made (the evidence layer); the network's own weights stay. */
export function disposeLayers(layers: Layer[]): void {
  const last = layers.at(-1);
  if (last?.kind === "dense") tf.dispose([last.kernel, last.bias]);
}

/** conv or dense with another kernel and no bias (what the rules need). */
export function linear(layer: Linear, x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
  if (layer.kind === "dense") return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  return tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, layer.stride, layer.pad === 0 ? "valid" : layer.pad);
}

/** The transpose of `linear` (its gradient with respect to x): output-shaped `s` back to x's shape. */
export function linearTranspose(layer: Linear, s: tf.Tensor, kernel: tf.Tensor, inputShape: number[]): tf.Tensor {
  if (layer.kind === "dense") return tf.matMul(s as tf.Tensor2D, kernel as tf.Tensor2D, false, true);
  return conv2dInputGradient(s as tf.Tensor4D, kernel as tf.Tensor4D, inputShape as [number, number, number, number], layer.stride, layer.pad);
}

/** One layer forward (test time: dropout is the identity). */
export function forwardLayer(layer: Layer, x: tf.Tensor): tf.Tensor {
  switch (layer.kind) {
    case "conv":
    case "dense":
      return tf.add(linear(layer, x, layer.kernel), layer.bias);
    case "relu":
      return tf.relu(x);
    case "lrn":
      return tf.localResponseNormalization(x as tf.Tensor4D, layer.radius, layer.bias, layer.alpha, layer.beta);
    case "maxpool":
      return tf.maxPool(x as tf.Tensor4D, layer.size, layer.stride, "valid");
    case "flatten":
      return tf.reshape(x, [x.shape[0]!, -1]);
    case "dropout":
      return x;
  }
}

/** The input of every layer and the final output ([n, 1]: the evidence). */
export function forwardAll(layers: Layer[], input: tf.Tensor): { inputs: tf.Tensor[]; output: tf.Tensor } {
  const inputs: tf.Tensor[] = [];
  let x = input;
  for (const layer of layers) {
    inputs.push(x);
    x = forwardLayer(layer, x);
  }
  return { inputs, output: x };
}
