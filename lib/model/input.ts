/**
 * From a flow sample to the network's input: the channels the temporal stream sees, one of the
 * paper's 18 augmentations (9 crops x vertical flip, flow y negated), decoded to floats and laid
 * out channels-last for a batch.
 *
 * Units: flow in pixels per frame pair, decoded from uint8 (`v = min + q/255 (max - min)`);
 * the grey frame standardised per crop (mean 0, standard deviation 1). When the crop is not `input_size` pixels it is resized
 * (bilinear) and the flow scaled by the same factor, so flow stays in pixels of the input.
 */
import * as tf from "@tensorflow/tfjs-core";
import { PAPER_CROP_OFFSETS } from "../flow/augment.js";
import type { FlowSample } from "../flow/files.js";
import { AUGMENTATIONS } from "./batches.js";
import { flowOnWasmHeap } from "./wasm-input.js";

/** A sample reduced to the flow channels the network sees: the same layout as a stored sample. */
export type StreamSample = FlowSample;

/** Keeps `channels` (indices into the sample's flow channels, in order). */
export function selectChannels(sample: FlowSample, channels: number[]): StreamSample {
  const plane = sample.rows * sample.cols;
  const flow = new Uint8Array(channels.length * plane);
  const range = new Float32Array(channels.length * 2);
  channels.forEach((c, i) => {
    if (c >= sample.channels) throw new Error(`the network reads flow channel ${c}, the sample has ${sample.channels}`);
    flow.set(sample.flow.subarray(c * plane, (c + 1) * plane), i * plane);
    range[2 * i] = sample.range[2 * c]!;
    range[2 * i + 1] = sample.range[2 * c + 1]!;
  });
  return { flow, range, spatial: sample.spatial, channels: channels.length, rows: sample.rows, cols: sample.cols };
}

/** The paper's crops (224 of 256 at offsets 8|16|24) scaled to a frame of `side` pixels. */
export function cropGeometry(side: number): { size: number; offsets: [number, number][] } {
  const scale = side / 256;
  return { size: Math.round(224 * scale), offsets: PAPER_CROP_OFFSETS.map(([t, l]) => [Math.round(t * scale), Math.round(l * scale)]) };
}

/** Where augmentation `a` crops a sample, and whether it flips it. */
export function augmentationGeometry(sample: StreamSample, a: number): { size: number; top: number; left: number; flip: boolean } {
  if (sample.rows !== sample.cols) throw new Error(`samples must be square, got ${sample.rows}x${sample.cols}`);
  if (!(a >= 0 && a < AUGMENTATIONS)) throw new Error(`augmentation ${a} is not in 0..${AUGMENTATIONS - 1}`);
  const { size, offsets } = cropGeometry(sample.rows);
  const [top, left] = offsets[a % 9]!;
  return { size, top, left, flip: a >= 9 };
}

/** Each flow channel's decoding, value = min + q * step, with a flip's negated y folded in. */
export function decoding(sample: StreamSample, flip: boolean): { min: Float32Array; step: Float32Array } {
  const { channels, range } = sample;
  const min = new Float32Array(channels);
  const step = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    // A flipped y channel is negated: -(min + q step) = (-min) + q (-step).
    const sign = flip && c % 2 === 1 ? -1 : 1;
    min[c] = sign * range[2 * c]!;
    step[c] = (sign * (range[2 * c + 1]! - range[2 * c]!)) / 255;
  }
  return { min, step };
}

/**
 * Writes the grey frame of augmentation `a` into batch position `index` of a channels-last
 * buffer [n, size, size, 1]: crop, flip, standardised per crop.
 */
export function writeGrey(sample: StreamSample, a: number, spatial: Float32Array, index: number): void {
  const { size, top, left, flip } = augmentationGeometry(sample, a);
  let grey = index * size * size;
  let sum = 0;
  let squares = 0;
  for (let y = 0; y < size; y++) {
    const row = (top + (flip ? size - 1 - y : y)) * sample.cols + left;
    for (let x = 0; x < size; x++) {
      const v = sample.spatial[row + x]!;
      spatial[grey++] = v;
      sum += v;
      squares += v * v;
    }
  }
  standardise(spatial, index, size * size, sum, squares);
}

/**
 * The grey frame standardised per crop (mean 0, standard deviation 1), as
 * tf.image.per_image_standardization: recordings differ in brightness and contrast, and a
 * mostly white frame would otherwise reach the first layer as a large constant.
 */
function standardise(spatial: Float32Array, index: number, n: number, sum: number, squares: number): void {
  const mean = sum / n;
  const scale = 1 / Math.max(Math.sqrt(Math.max(0, squares / n - mean * mean)), 1 / Math.sqrt(n));
  for (let i = index * n; i < (index + 1) * n; i++) spatial[i] = (spatial[i]! - mean) * scale;
}

/**
 * Writes augmentation `a` of a sample into batch position `index` of channels-last buffers
 * (spatial [n, size, size, 1], temporal [n, size, size, channels]): crop, dequantise, flip
 * (y negated) and transpose in one pass. It computes what lib/flow's cropStack, dequantise and
 * flipFlowVertical do one after the other (tests/cnn-input.test.ts checks that), about ten
 * times faster, which matters: it runs for every sample of every batch.
 */
export function writeExample(sample: StreamSample, a: number, spatial: Float32Array, temporal: Float32Array, index: number): void {
  const { size, top, left, flip } = augmentationGeometry(sample, a);
  const { channels, cols, flow } = sample;
  const plane = sample.rows * cols;
  const { min, step } = decoding(sample, flip);
  let out = index * size * size * channels;
  let grey = index * size * size;
  let sum = 0;
  let squares = 0;
  for (let y = 0; y < size; y++) {
    const row = (top + (flip ? size - 1 - y : y)) * cols + left;
    for (let x = 0; x < size; x++) {
      const src = row + x;
      for (let c = 0; c < channels; c++) temporal[out++] = min[c]! + flow[c * plane + src]! * step[c]!;
      const v = sample.spatial[src]!;
      spatial[grey++] = v;
      sum += v;
      squares += v * v;
    }
  }
  standardise(spatial, index, size * size, sum, squares);
}

export interface BatchTensors {
  spatial: tf.Tensor4D;
  temporal: tf.Tensor4D;
}

/** One batch of samples and augmentations as input tensors of `inputSize` pixels. */
export function batchTensors(samples: StreamSample[], augmentations: number[], inputSize: number): BatchTensors {
  const first = samples[0]!;
  const { size } = cropGeometry(first.rows);
  const n = samples.length;
  for (const s of samples) {
    if (s.rows !== first.rows || s.channels !== first.channels) {
      throw new Error(`samples of one batch differ in size or channels (${s.rows}x${s.cols}x${s.channels} vs ${first.rows}x${first.cols}x${first.channels}): the flow stage must use one crop size`);
    }
  }
  const spatial = new Float32Array(n * size * size);
  // On the wasm backend the flow goes straight onto its heap through our SIMD kernel.
  const onHeap = flowOnWasmHeap(samples, augmentations);
  if (onHeap) samples.forEach((s, i) => writeGrey(s, augmentations[i]!, spatial, i));
  const temporal = onHeap ? null : new Float32Array(n * size * size * first.channels);
  if (temporal) samples.forEach((s, i) => writeExample(s, augmentations[i]!, spatial, temporal, i));
  return tf.tidy(() => {
    let sp = tf.tensor4d(spatial, [n, size, size, 1]);
    let tp = onHeap ?? tf.tensor4d(temporal!, [n, size, size, first.channels]);
    if (size !== inputSize) {
      // halfPixelCenters: a 2x reduction averages 2x2 pixels instead of picking one.
      sp = tf.image.resizeBilinear(sp, [inputSize, inputSize], false, true);
      tp = tf.mul(tf.image.resizeBilinear(tp, [inputSize, inputSize], false, true), inputSize / size);
    }
    return { spatial: sp, temporal: tp };
  });
}
