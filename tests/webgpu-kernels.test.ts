/**
 * Our WGSL kernels (lib/model/webgpu-*.ts) against the cpu backend on fixed and seeded random
 * shapes, a training step's gradients and a short training on webgpu against the same on cpu:
 * wherever Dawn finds a WebGPU adapter. That is a GPU, or, on a machine without one, Chromium's
 * SwiftShader (Vulkan on the CPU), which vitest.config.ts points this file's project at when
 * Debian's chromium package is installed. Skipped, saying why, where there is neither.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import { gpuDeviceFound, selectBackend } from "../lib/model/backend.js";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { columnTile, conv2dWebgpu, filterGradWebgpu, splitK } from "../lib/model/webgpu-conv.js";
import { ourWebgpuKernels } from "../lib/model/webgpu-kernels.js";
import { initialWeights, type HostWeights } from "../lib/model/weights.js";
import { trainedLogProbs } from "../lib/model/objective.js";
import { nllLoss } from "../lib/model/forward.js";
import { batchTensors, selectChannels } from "../lib/model/input.js";
import { flowChannels } from "../lib/model/architecture.js";
import { MemorySource } from "../lib/model/dataset.js";
import { trainTwoStream, type TrainSettings } from "../lib/model/trainer.js";
import { expectClose, tinyArchitecture, tinyExamples, tinySample } from "./cnn-helpers.js";
import { backpropFilter, CASES, convolve, cpuReference, forwardShape, lrnAndGradient, lrnCases, randomCases, randomValues, readAndDispose, size, type Case } from "./helpers/conv-cases.js";

const adapter = await selectBackend("webgpu").then(
  (s) => s.reason,
  (error: Error) => {
    console.warn(`SKIPPED: the WebGPU kernel tests: ${error.message} (apt-get install chromium gives Dawn a software adapter, SwiftShader)`);
    return null;
  },
);
if (adapter) console.info(`WebGPU kernel tests on: ${adapter}`);

/** Our filter gradient on webgpu against the cpu reference, with no tensor or buffer left behind. */
async function expectFilterGradient(c: Case, seed: number): Promise<void> {
  await tf.setBackend("cpu");
  const xv = randomValues(size(c.x), seed);
  const dyShape = forwardShape(c);
  const dyv = randomValues(size(dyShape), seed + 1);
  const expected = await cpuReference(c, xv, dyv, dyShape);
  await tf.setBackend("webgpu");
  const tensors = tf.memory().numTensors;
  const buffers = tf.backend().numDataIds();
  const actual = await backpropFilter(c, xv, dyv, dyShape, c.filter, c.dilations);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(buffers);
  expectClose(actual, expected);
  expect(actual.some((v) => v !== 0)).toBe(true);
}

/** Our forward convolution on webgpu against the cpu backend's. */
async function expectConvolution(c: Case, seed: number): Promise<void> {
  const xv = randomValues(size(c.x), seed);
  const wv = randomValues(size(c.filter), seed + 1);
  await tf.setBackend("cpu");
  const expected = await convolve(c, xv, wv);
  await tf.setBackend("webgpu");
  const tensors = tf.memory().numTensors;
  const buffers = tf.backend().numDataIds();
  const actual = await convolve(c, xv, wv);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(tf.backend().numDataIds()).toBe(buffers);
  expectClose(actual, expected);
}

describe.skipIf(!adapter)("webgpu kernels against the cpu backend", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("webgpu");
  });

  it("registers ours for the convolution, its filter gradient, LRN and LRNGrad", () => {
    expect(ourWebgpuKernels().sort()).toEqual(["Conv2D", "Conv2DBackpropFilter", "LRN", "LRNGrad"]);
  });

  it.each([...CASES, ...randomCases(24, 29)].map((c, i) => [i, c] as const))("Conv2D case %i equals the cpu backend's", async (i, c) => {
    await expectConvolution(c, 1300 + 2 * i);
  });

  it.each(CASES.map((c, i) => [i, c] as const))("Conv2DBackpropFilter case %i equals the cpu backend's", async (i, c) => {
    await expectFilterGradient(c, 100 + 2 * i);
  });

  it.each(randomCases(24, 17).map((c, i) => [i, c] as const))("Conv2DBackpropFilter random case %i equals the cpu backend's", async (i, c) => {
    await expectFilterGradient(c, 700 + 2 * i);
  });

  // Several K splits summed (small filter, many positions), one split, every column tile, and
  // more output positions than one tile row (the forward product's M).
  const tiled: Case[] = [
    { x: [4, 30, 30, 16], filter: [3, 3, 16, 70], strides: 1, pad: "same" },
    { x: [2, 41, 37, 8], filter: [5, 5, 8, 96], strides: 2, pad: 1 },
    { x: [3, 35, 35, 20], filter: [7, 7, 20, 33], strides: 2, pad: "valid" },
    { x: [1, 6, 6, 130], filter: [3, 3, 130, 64], strides: 1, pad: "valid" },
  ];
  it("splits the K axis where the filter is small and picks the column tile that pads Co least", () => {
    expect(splitK(3 * 3 * 16, 70, 4 * 30 * 30).splits).toBeGreaterThan(1);
    expect(splitK(3 * 3 * 130, 64, 16).splits).toBe(1);
    expect([16, 32, 33, 64, 70, 96, 128].map(columnTile)).toEqual([16, 32, 16, 64, 16, 32, 64]);
  });
  it.each(tiled.map((c, i) => [i, c] as const))("tiled case %i: Conv2D and Conv2DBackpropFilter equal the cpu backend's", async (i, c) => {
    await expectConvolution(c, 1600 + 2 * i);
    await expectFilterGradient(c, 1500 + 2 * i);
  });

  // 65,535 64-row tiles (the usual limit per dimension) are 4.2 M output positions, a batch of
  // 1,500 of the default network's conv1; TF.js's own kernels stop there. A limit of 5 folds
  // these small products the same way, surplus workgroups included (case 0: several K splits
  // and 57 row tiles; case 3: one split).
  it.each([0, 3].map((i) => [i, tiled[i]!] as const))("tiled case %i folded onto a dispatch limit of 5 workgroups per dimension: still the cpu backend's", async (i, c) => {
    const xv = randomValues(size(c.x), 1800 + i);
    const wv = randomValues(size(c.filter), 1900 + i);
    const dyShape = forwardShape(c);
    const dyv = randomValues(size(dyShape), 2000 + i);
    await tf.setBackend("cpu");
    const expected = { y: await convolve(c, xv, wv), dw: await cpuReference(c, xv, dyv, dyShape) };
    await tf.setBackend("webgpu");
    const backend = tf.backend() as unknown as WebGPUBackend;
    const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad as never);
    const [x, w, dy] = [tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter), tf.tensor(dyv, dyShape)];
    const y = tf.engine().makeTensorFromTensorInfo(conv2dWebgpu(backend, x, w, info, 5));
    const dw = tf.engine().makeTensorFromTensorInfo(filterGradWebgpu(backend, x, dy, info, 5));
    const [actualY, actualDw] = await readAndDispose([y, dw, x, w, dy]);
    expectClose(actualY!, expected.y);
    expectClose(actualDw!, expected.dw);
  });

  it.each(lrnCases(12, 31).map((c, i) => [i, c] as const))("LRN case %i: output and gradient equal the cpu backend's", async (i, c) => {
    const xv = randomValues(size(c.x), 900 + i);
    const dyv = randomValues(size(c.x), 1000 + i);
    await tf.setBackend("cpu");
    const expected = await lrnAndGradient(c, xv, dyv);
    await tf.setBackend("webgpu");
    const before = tf.memory().numTensors;
    const actual = await lrnAndGradient(c, xv, dyv);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(actual.y, expected.y);
    expectClose(actual.dx, expected.dx);
  });
});

/** A network with every kernel of training: strided and padded convolutions, LRN in both streams, pooling, dropout. */
const arch = tinyArchitecture({
  input_size: 40,
  conv: [
    { filters: 20, kernel: 5, stride: 2, pad: 0, lrn: "both", pool: true },
    { filters: 36, kernel: 3, stride: 1, pad: 1, lrn: "spatial", pool: false },
  ],
  fc: [24],
});

/** Loss and gradients of every weight for one batch (the trainer's objective), on the active backend. */
async function lossAndGradients(weights: HostWeights): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const still = { ...arch, dropout: 0 };
  const names = [...weights.keys()];
  const [loss, ...grads] = await readAndDispose(tf.tidy(() => {
    const samples = Array.from({ length: 6 }, (_, i) => selectChannels(tinySample(i % 2, 50 + i, 44), flowChannels(arch)));
    const input = batchTensors(samples, [0, 3, 1, 4, 2, 5], arch.input_size);
    const target = tf.tensor2d([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], [6, 2]);
    const tensors = names.map((n) => tf.tensor(weights.get(n)!.values, weights.get(n)!.shape));
    const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
      const map = new Map(names.map((n, i) => [n, ws[i]!]));
      return nllLoss(trainedLogProbs(still, map, input.spatial, input.temporal, () => null as never), target);
    })(tensors);
    return [value, ...grads];
  }));
  return { loss: loss![0]!, grads: new Map(names.map((n, i) => [n, grads[i]!])) };
}

describe.skipIf(!adapter)("training on webgpu", () => {
  it.runIf(adapter?.includes("software adapter"))("is not what auto picks on a software adapter, and auto says why", async () => {
    const auto = await selectBackend("auto");
    expect(auto.backend).not.toBe("webgpu");
    expect(auto.attempts[0]).toMatchObject({ backend: "webgpu", ok: false });
    // With no GPU device node auto does not even ask Dawn; with one, Dawn's adapter says it is software.
    const why = gpuDeviceFound() ? /software \(CPU\) adapter, far slower than wasm \(DAG_TFJS_BACKEND=webgpu uses it anyway\)/ : /no GPU device here .*DAG_TFJS_BACKEND=webgpu tries Dawn anyway/;
    expect(auto.attempts[0]!.reason).toMatch(why);
  });

  it("gives a training step's loss and every gradient the cpu backend's", async () => {
    const weights = initialWeights(arch, 5);
    await selectBackend("cpu");
    const expected = await lossAndGradients(weights);
    await selectBackend("webgpu");
    const actual = await lossAndGradients(weights);
    expect(actual.loss).toBeCloseTo(expected.loss, 5);
    for (const [name, g] of expected.grads) {
      expect(g.some((v) => v !== 0), name).toBe(true);
      expectClose(actual.grads.get(name)!, g);
    }
  });

  it("trains as on cpu: same losses and accuracies, all but a few weights within float tolerance", async () => {
    const train = tinyExamples(24, 6, "t");
    const validation = tinyExamples(8, 2, "v");
    const source = new MemorySource(new Map([...train, ...validation].map((e, i) => [e.id, selectChannels(tinySample(e.label, 1000 + i, 44), flowChannels(arch))])));
    const settings: TrainSettings = { arch, lr: 1e-3, weightDecay: 1e-4, epochs: 2, batchSize: 8, schedule: "inv_sqrt", augmentation: "random", seed: 42, keep: "last" };
    await selectBackend("cpu");
    const cpu = await trainTwoStream({ source, train, validation }, settings);
    await selectBackend("webgpu");
    const before = tf.memory().numTensors;
    const gpu = await trainTwoStream({ source, train, validation }, settings);
    expect(tf.memory().numTensors).toBe(before);
    expect(gpu.history.map((h) => h.validation!.accuracy)).toEqual(cpu.history.map((h) => h.validation!.accuracy));
    gpu.history.forEach((h, i) => expect(h.loss).toBeCloseTo(cpu.history[i]!.loss, 4));
    // Adam moves a weight by about lr per step whatever the size of its gradient, so a gradient
    // that is float noise on both backends (terms cancelling in another order) moves it by up to
    // lr either way: those few weights differ, all others agree to float tolerance.
    for (const [name, w] of cpu.weights) {
      const other = gpu.weights.get(name)!.values;
      const agreeing = w.values.filter((v, i) => Math.abs(v - other[i]!) <= 1e-5).length;
      expect(agreeing / w.values.length, name).toBeGreaterThan(0.95);
    }
  });
});
