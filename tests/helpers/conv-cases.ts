/**
 * Convolution and LRN cases shared by the kernel tests of every backend (tests/cnn-wasm-kernel.test.ts,
 * tests/webgpu-kernels.test.ts): fixed and seeded random shapes, and the cpu backend's reference.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../lib/random.js";

export type Pad = "valid" | "same" | number | [[number, number], [number, number], [number, number], [number, number]];

export interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
}

export const CASES: Case[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same" },
  { x: [2, 11, 11, 2], filter: [3, 3, 2, 5], strides: 2, pad: "valid" },
  { x: [2, 12, 12, 2], filter: [3, 3, 2, 5], strides: 2, pad: "same" },
  { x: [3, 16, 16, 5], filter: [7, 7, 5, 6], strides: 2, pad: "valid" }, // conv1 shape, odd leftover rows
  { x: [2, 13, 13, 4], filter: [5, 5, 4, 3], strides: 2, pad: 1 }, // conv2: explicit symmetric
  { x: [2, 10, 8, 3], filter: [3, 2, 3, 2], strides: [2, 1], pad: [[0, 0], [2, 0], [1, 3], [0, 0]] }, // asymmetric everything
  { x: [1, 14, 14, 2], filter: [4, 4, 2, 3], strides: 3, pad: "same" },
  { x: [2, 12, 12, 3], filter: [3, 3, 3, 4], strides: 1, pad: "valid", dilations: 2 },
  { x: [2, 12, 12, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same", dilations: 2 },
];

export function randomValues(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Seeded random cases: batch 1-4, odd and even sides, input channels 1-14 and output channels
 * 1-21 (every remainder of the SIMD kernel's 4 x 8 blocks), strides 1-3, dilation 1-2, and
 * valid, same or explicit (asymmetric) padding.
 */
export function randomCases(count: number, seed: number): Case[] {
  const rng = new Rng(seed);
  const cases: Case[] = [];
  while (cases.length < count) {
    const k = [rng.int(1, 5), rng.int(1, 5)];
    const dilations = rng.chance(0.25) ? 2 : 1;
    const strides: [number, number] = dilations > 1 ? [1, 1] : [rng.int(1, 3), rng.int(1, 3)];
    const x: Case["x"] = [rng.int(1, 4), rng.int(4, 15), rng.int(4, 15), rng.int(1, 14)];
    const kind = rng.int(0, 2);
    const pad: Pad = kind === 0 ? "valid" : kind === 1 ? "same" : [[0, 0], [rng.int(0, 2), rng.int(0, 2)], [rng.int(0, 2), rng.int(0, 2)], [0, 0]];
    const reach = (i: number) => (k[i]! - 1) * dilations + 1 - (Array.isArray(pad) ? pad[i + 1]![0] + pad[i + 1]![1] : 0);
    if (pad !== "same" && (reach(0) > x[1] || reach(1) > x[2])) continue; // no output
    cases.push({ x, filter: [k[0]!, k[1]!, x[3], rng.int(1, 21)], strides, pad, ...(dilations > 1 ? { dilations } : {}) });
  }
  return cases;
}

/** dW on the active backend; `dy` shaped like the forward output. */
export async function backpropFilter(c: Case, xv: Float32Array, dyv: Float32Array, dyShape: number[], filterShape: number[], dilations?: number): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, filterShape, ...(dilations ? { dilations } : {}) };
    return tf.engine().runKernel("Conv2DBackpropFilter", { x: tf.tensor4d(xv, c.x), dy: tf.tensor(dyv, dyShape) }, attrs as never) as tf.Tensor;
  });
  return (await readAndDispose([out]))[0]!;
}

/** The case's convolution on the active backend. */
export async function convolve(c: Case, xv: Float32Array, wv: Float32Array): Promise<Float32Array> {
  const y = tf.tidy(() => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter), c.strides, c.pad as never, "NHWC", c.dilations ?? 1));
  return (await readAndDispose([y]))[0]!;
}

/** The values of tensors (read asynchronously: WebGPU in Node has no synchronous read), then disposed. */
export async function readAndDispose(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose(tensors);
  }
}

/** The cpu reference: a dilated filter is a larger filter with zeros between its taps. */
export async function cpuReference(c: Case, xv: Float32Array, dyv: Float32Array, dyShape: number[]): Promise<Float32Array> {
  const d = c.dilations ?? 1;
  const [kh, kw, ci, co] = c.filter;
  const big = [(kh - 1) * d + 1, (kw - 1) * d + 1, ci, co];
  const full = await backpropFilter(c, xv, dyv, dyShape, big);
  const out = new Float32Array(size(c.filter));
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let a = 0; a < ci; a++) for (let b = 0; b < co; b++) {
    out[((i * kw + j) * ci + a) * co + b] = full[((i * d * big[1]! + j * d) * ci + a) * co + b]!;
  }
  return out;
}


/**
 * Seeded LRN cases: batch 1-3, odd sides, 1-40 channels, radius 0-3 (windows clipped at both
 * ends), alpha large enough for the cross-channel term to matter; the last two with beta 1/2.
 */
export function lrnCases(count: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => ({
    x: [rng.int(1, 3), rng.int(1, 7), rng.int(1, 7), rng.int(1, 40)] as [number, number, number, number],
    radius: rng.int(0, 3),
    bias: rng.uniform(0.5, 2),
    alpha: rng.uniform(0.01, 0.5),
    beta: i < count - 2 ? 0.75 : 0.5,
  }));
}

/** LRN's output and its input gradient for `dyv` on the active backend. */
export async function lrnAndGradient(c: ReturnType<typeof lrnCases>[number], xv: Float32Array, dyv: Float32Array): Promise<{ y: Float32Array; dx: Float32Array }> {
  const [y, dx] = await readAndDispose(tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x);
    const f = (t: tf.Tensor) => tf.localResponseNormalization(t as tf.Tensor4D, c.radius, c.bias, c.alpha, c.beta);
    return [f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor4d(dyv, c.x))))(x)];
  }));
  return { y: y!, dx: dx! };
}

/** The shape of a case's forward output (what its dy must have). */
export function forwardShape(c: Case): number[] {
  return tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad as never, "NHWC", c.dilations ?? 1).shape);
}
