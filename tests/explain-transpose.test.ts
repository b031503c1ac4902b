/** The polyphase transpose of a strided convolution equals TensorFlow.js's own Conv2DBackpropInput. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { conv2dInputGradient } from "../lib/explain/transpose.js";
import { selectBackend } from "../lib/model/backend.js";
import { Rng } from "../lib/random.js";

describe("conv2dInputGradient", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
  });

  // [input side, kernel, stride, pad]: the networks' layers (7/2/0, 5/2/1, 3/1/1) and odd cases.
  const cases: [number, number, number, number][] = [[112, 7, 2, 0], [26, 5, 2, 1], [12, 3, 1, 1], [13, 7, 2, 0], [9, 4, 3, 2], [10, 2, 2, 0], [8, 1, 1, 0], [11, 5, 2, 2]];
  it.each(cases)("input %i, kernel %i, stride %i, pad %i", (side, k, stride, pad) => {
    const rng = new Rng(side * 100 + k);
    const [ci, co, n] = [3, 4, 2];
    const out = Math.floor((side + 2 * pad - k) / stride) + 1;
    const s = tf.tensor4d(Float32Array.from({ length: n * out * out * co }, () => rng.normal()), [n, out, out, co]);
    const w = tf.tensor4d(Float32Array.from({ length: k * k * ci * co }, () => rng.normal()), [k, k, ci, co]);
    const shape: [number, number, number, number] = [n, side, side, ci];
    const ours = conv2dInputGradient(s, w, shape, stride, pad).arraySync();
    const reference = tf.conv2dTranspose(s, w, shape, stride, pad === 0 ? "valid" : pad).arraySync();
    expect(tf.tensor(ours).shape).toEqual(shape);
    const diff = tf.max(tf.abs(tf.sub(tf.tensor(ours), tf.tensor(reference)))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-4);
  });
});
