/**
 * The trained network as a tf.LayersModel: two inputs (`spatial`, `temporal`), three outputs
 * (fused, spatial and temporal log-probabilities), saved in TensorFlow.js's format
 * (model.json + weights.bin). Built-in Keras layers throughout, except LRN, which Keras lacks:
 * a program that loads the model registers `LocalResponseNormalization` first (import this
 * module, or copy the 20-line class below).
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { convShapes, hasLrn, inputChannels, STREAMS, type Architecture, type Stream } from "./architecture.js";
import type { HostWeights } from "./weights.js";

interface LrnConfig {
  size: number;
  alpha: number;
  beta: number;
  k: number;
  name?: string;
}

/** PyTorch's LocalResponseNorm(size, alpha, beta, k) as a Keras layer (channels last). */
export class LocalResponseNormalization extends tfl.layers.Layer {
  static readonly className = "LocalResponseNormalization";
  private readonly lrn: LrnConfig;

  constructor(config: LrnConfig) {
    super(config);
    this.lrn = { size: config.size, alpha: config.alpha, beta: config.beta, k: config.k };
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const { size, alpha, beta, k } = this.lrn;
    return tf.localResponseNormalization(x, (size - 1) / 2, k, alpha / size, beta);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.lrn };
  }
}
tf.serialization.registerClass(LocalResponseNormalization);

/** The Keras layer holding one of our weights: `spatial/conv1/kernel` -> layer `spatial_conv1`. */
export function layerNameOf(weightName: string): string {
  const [stream, layer] = weightName.split("/");
  return `${stream}_${layer}`;
}

function buildStream(arch: Architecture, stream: Stream, input: tfl.SymbolicTensor): tfl.SymbolicTensor {
  const zeros = { kernelInitializer: "zeros", biasInitializer: "zeros" } as const;
  let x = input;
  arch.conv.forEach((layer, i) => {
    const n = i + 1;
    if (layer.pad > 0) x = tfl.layers.zeroPadding2d({ padding: layer.pad, name: `${stream}_pad${n}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({
      filters: layer.filters, kernelSize: layer.kernel, strides: layer.stride, padding: "valid", activation: "relu", name: `${stream}_conv${n}`, ...zeros,
    }).apply(x) as tfl.SymbolicTensor;
    if (hasLrn(layer, stream)) x = new LocalResponseNormalization({ ...arch.lrn, name: `${stream}_norm${n}` }).apply(x) as tfl.SymbolicTensor;
    if (layer.pool) x = tfl.layers.maxPooling2d({ poolSize: arch.pool.size, strides: arch.pool.stride, padding: "valid", name: `${stream}_pool${n}` }).apply(x) as tfl.SymbolicTensor;
  });
  x = tfl.layers.flatten({ name: `${stream}_flatten` }).apply(x) as tfl.SymbolicTensor;
  const first = arch.conv.length + 1;
  arch.fc.forEach((units, i) => {
    x = tfl.layers.dense({ units, activation: "relu", name: `${stream}_fc${first + i}`, ...zeros }).apply(x) as tfl.SymbolicTensor;
    if (arch.dropout > 0) x = tfl.layers.dropout({ rate: arch.dropout, name: `${stream}_drop${first + i}` }).apply(x) as tfl.SymbolicTensor;
  });
  x = tfl.layers.dense({ units: arch.classes, name: `${stream}_fc${first + arch.fc.length}`, ...zeros }).apply(x) as tfl.SymbolicTensor;
  // 'logSoftmax' is a registered Keras activation that the type union leaves out.
  return tfl.layers.activation({ activation: "logSoftmax" as "softmax", name: `${stream}_log_softmax` }).apply(x) as tfl.SymbolicTensor;
}

/** A LayersModel of the architecture holding `weights`; outputs [fused, spatial, temporal]. */
export function toLayersModel(arch: Architecture, weights: HostWeights): tfl.LayersModel {
  convShapes(arch, "spatial"); // clear error when the input is too small for the layers
  const inputs = STREAMS.map((s) => tfl.input({ shape: [arch.input_size, arch.input_size, inputChannels(arch, s)], name: s }));
  const [spatial, temporal] = STREAMS.map((s, i) => buildStream(arch, s, inputs[i]!));
  const fused = tfl.layers.average({ name: "fused" }).apply([spatial!, temporal!]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs, outputs: [fused, spatial!, temporal!], name: "two_stream" });
  const byLayer = new Map<string, tf.Tensor[]>();
  for (const [name, w] of weights) {
    const layer = layerNameOf(name);
    byLayer.set(layer, [...(byLayer.get(layer) ?? []), tf.tensor(w.values, w.shape)]);
  }
  for (const [layer, tensors] of byLayer) {
    model.getLayer(layer).setWeights(tensors); // [kernel, bias], in our order
    tf.dispose(tensors);
  }
  return model;
}
