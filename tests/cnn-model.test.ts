/**
 * The network as data and as a function: shapes of the presets, fusion, loss, Adam with L2
 * weight decay, and the saved TensorFlow.js model computing what our forward pass computes.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { AdamL2, learningRate } from "../lib/model/adam.js";
import { convShapes, flowChannels, multiplyAdds, parameterCount, PAPER, resolveArchitecture, inputChannels } from "../lib/model/architecture.js";
import { selectBackend } from "../lib/model/backend.js";
import { fuse, nllLoss, streamLogits, twoStream, type TensorWeights } from "../lib/model/forward.js";
import { toLayersModel } from "../lib/model/layers-model.js";
import { readModel, registerFileRouter, saveModel, MODEL_JSON, PREPROCESSING } from "../lib/model/model-files.js";
import { initialWeights, type HostWeights } from "../lib/model/weights.js";
import { Rng } from "../lib/random.js";
import { tinyArchitecture } from "./cnn-helpers.js";

const toTensors = (w: HostWeights): TensorWeights => new Map([...w].map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));

function randomInput(shape: number[], seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape as [number, number, number, number]);
}

describe("architecture", () => {
  it("gives the paper's CNN-M-2048 shapes at 224x224 with 170 flow channels", () => {
    const arch = resolveArchitecture({ preset: "paper" });
    expect(inputChannels(arch, "temporal")).toBe(170);
    expect(convShapes(arch, "temporal").layers.map((l) => l.shape)).toEqual([[54, 54, 96], [12, 12, 256], [12, 12, 512], [12, 12, 512], [5, 5, 512]]);
    expect(convShapes(arch, "spatial").flat).toBe(12800);
    expect(parameterCount(arch)).toBeGreaterThan(1.3e8); // fc6 alone: 2 x 12800 x 4096
    expect(arch.dropout).toBe(0.9);
  });

  it("keeps the default preset hundreds of times cheaper than the paper's", () => {
    const arch = resolveArchitecture({ preset: "default" });
    expect(inputChannels(arch, "temporal")).toBe(34);
    expect(multiplyAdds(PAPER) / multiplyAdds(arch)).toBeGreaterThan(100);
  });

  it("reads the flow pairs it needs from samples that hold every pair_stride-th pair", () => {
    const arch = resolveArchitecture({ preset: "default", flow_pairs: 85, flow_stride: 10 });
    // pairs 0, 10, ..., 80: channels 2k, 2k+1 of all 85, or of the 17 that pair_stride 5 keeps
    expect(flowChannels(arch).slice(0, 4)).toEqual([0, 1, 20, 21]);
    expect(flowChannels(arch, 5)).toEqual(Array.from({ length: 9 }, (_, i) => [4 * i, 4 * i + 1]).flat());
    expect(() => flowChannels(arch, 3)).toThrow(/flow.pair_stride to a divisor of flow_stride/);
  });

  it("says what to change when the input is too small for the layers", () => {
    expect(() => resolveArchitecture({ preset: "paper", input_size: 48 })).toThrow(/raise input_size/);
  });
});

describe("forward pass", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
  });

  it("fuses by averaging the two streams' log-softmax, and the loss is its NLL", () => {
    const arch = tinyArchitecture();
    const w = toTensors(initialWeights(arch, 3));
    const sp = randomInput([4, 28, 28, 1], 1);
    const tp = randomInput([4, 28, 28, 8], 2);
    const out = twoStream(arch, w, sp, tp);
    const logSoftmax = (logits: number[][]) => logits.map((row) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      return row.map((v) => v - lse);
    });
    const s = logSoftmax(streamLogits(arch, "spatial", w, sp).arraySync());
    const t = logSoftmax(streamLogits(arch, "temporal", w, tp).arraySync());
    const fused = out.fused.arraySync();
    s.forEach((row, i) => row.forEach((v, c) => expect(fused[i]![c]).toBeCloseTo((v + t[i]![c]!) / 2, 5)));
    expect(fuse(out.spatial, out.temporal).arraySync()).toEqual(fused);
    // Probabilities of the fusion do not sum to 1 (a geometric mean); its NLL is what is minimised.
    const labels = [0, 1, 1, 0];
    const loss = nllLoss(out.fused, tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), 2), "float32") as tf.Tensor2D).dataSync()[0]!;
    expect(loss).toBeCloseTo(-labels.reduce((sum, y, i) => sum + fused[i]![y]!, 0) / 4, 5);
  });

  it("runs the paper's LRN: x / (k + alpha/size * sum of squares over 5 channels)^beta", () => {
    const arch = tinyArchitecture({ conv: [{ filters: 7, kernel: 1, stride: 1, pad: 0, lrn: "both", pool: false }], fc: [] });
    const w = initialWeights(arch, 1);
    w.get("spatial/conv1/kernel")!.values.set([1, 2, 3, 4, 5, 6, 7]); // channel c = (c + 1) * x
    const x = tf.fill([1, 28, 28, 1], 0.5) as tf.Tensor4D;
    const layers = tf.tidy(() => {
      const tw = toTensors(w);
      const conv = tf.relu(tf.add(tf.conv2d(x, tw.get("spatial/conv1/kernel") as tf.Tensor4D, 1, "valid"), tw.get("spatial/conv1/bias")!));
      return tf.localResponseNormalization(conv as tf.Tensor4D, 2, 2, 1e-4 / 5, 0.75).arraySync()[0]![0]![0]!;
    });
    const a = [1, 2, 3, 4, 5, 6, 7].map((v) => v * 0.5);
    const expected = a.map((v, c) => v / (2 + (1e-4 / 5) * a.slice(Math.max(0, c - 2), c + 3).reduce((s, u) => s + u * u, 0)) ** 0.75);
    layers.forEach((v, c) => expect(v).toBeCloseTo(expected[c]!, 6));
  });
});

describe("Adam with L2 weight decay (PyTorch's semantics) and the schedule", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
  });

  it("adds weight decay to the gradient before the moments", () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const adam = new AdamL2(new Map([["w", w]]), { weightDecay: 0.1 });
    let m = [0, 0];
    let v = [0, 0];
    let ref = [1, -2];
    const grads = [[0.5, 0.25], [-1, 2], [0.1, 0.1]];
    grads.forEach((g, i) => {
      adam.apply({ w: tf.tensor1d(g) }, 0.01);
      const step = i + 1;
      const gd = g.map((x, j) => x + 0.1 * ref[j]!);
      m = m.map((x, j) => 0.9 * x + 0.1 * gd[j]!);
      v = v.map((x, j) => 0.999 * x + 0.001 * gd[j]! ** 2);
      ref = ref.map((x, j) => x - (0.01 / (1 - 0.9 ** step)) * m[j]! / (Math.sqrt(v[j]!) / Math.sqrt(1 - 0.999 ** step) + 1e-8));
    });
    Array.from(w.dataSync()).forEach((x, j) => expect(x).toBeCloseTo(ref[j]!, 6));
    adam.dispose();
    w.dispose();
  });

  it("multiplies the learning rate by 1/sqrt(epoch) or keeps it", () => {
    expect(learningRate(1e-3, 1, "inv_sqrt")).toBe(1e-3);
    expect(learningRate(1e-3, 4, "inv_sqrt")).toBeCloseTo(5e-4, 12);
    expect(learningRate(1e-3, 4, "constant")).toBe(1e-3);
  });
});

describe("the saved TensorFlow.js model", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-model-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads with tf.loadLayersModel from a file:// URL and predicts what our forward pass does", async () => {
    await selectBackend("wasm");
    const arch = tinyArchitecture();
    const weights = initialWeights(arch, 11);
    // Non-zero biases, so that a bias landing in the wrong layer shows.
    for (const [name, w] of weights) if (name.endsWith("/bias")) w.values.forEach((_, i) => (w.values[i] = 0.01 * (i + 1)));
    const model = toLayersModel(arch, weights);
    await saveModel(model, dir, { architecture: arch, preprocessing: PREPROCESSING, note: "test" });
    model.dispose();

    registerFileRouter();
    const loaded = await tfl.loadLayersModel(pathToFileURL(join(dir, MODEL_JSON)).href);
    // Names are the saved ones; tfjs-layers suffixes _1 where this process built the same model before.
    expect(loaded.inputs.map((i) => i.name.replace(/_\d+$/, ""))).toEqual(["spatial", "temporal"]);
    const sp = randomInput([3, 28, 28, 1], 5);
    const tp = randomInput([3, 28, 28, 8], 6);
    const [fused, spatial, temporal] = loaded.predict([sp, tp]) as tf.Tensor[];
    const ours = twoStream(arch, toTensors(weights), sp, tp);
    for (const [a, b] of [[fused, ours.fused], [spatial, ours.spatial], [temporal, ours.temporal]] as const) {
      const x = a!.dataSync();
      const y = b.dataSync();
      x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 5));
    }
    expect(JSON.parse(readFileSync(join(dir, MODEL_JSON), "utf8")).userDefinedMetadata.architecture).toEqual(arch);
  });

  it("reads back the architecture and the very same weights", async () => {
    const { arch, weights } = await readModel(join(dir, MODEL_JSON));
    expect(arch).toEqual(tinyArchitecture());
    const original = initialWeights(arch, 11);
    for (const [name, w] of original) {
      if (name.endsWith("/bias")) continue;
      expect(Array.from(weights.get(name)!.values)).toEqual(Array.from(w.values));
    }
  });
});

describe("pretrained weights", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-pretrained-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("adapts RGB input filters and 1,000-style outputs by the paper's recipe", async () => {
    const { writeHdf5Arrays } = await import("../lib/video/hdf5.js");
    const { loadPretrained } = await import("../lib/model/pretrained.js");
    const { weightShapes } = await import("../lib/model/architecture.js");
    const arch = tinyArchitecture();
    // An "ImageNet" file for the shared layers: conv1 with 3 input channels, the output layer with 6 units.
    const datasets = weightShapes(arch, "spatial").map(({ name, shape }) => {
      const local = name.slice("spatial/".length);
      const fileShape = local === "conv1/kernel" ? [3, 3, 3, 4] : local === "fc4/kernel" ? [12, 6] : local === "fc4/bias" ? [6] : shape;
      const data = Float32Array.from({ length: fileShape.reduce((a, b) => a * b, 1) }, (_, i) => i);
      return { name: local, data, shape: fileShape, gzip: 0 };
    });
    const path = join(dir, "imagenet.h5");
    await writeHdf5Arrays(path, datasets);
    const { weights, notes } = await loadPretrained({ data: path }, arch, 1);
    // Spatial conv1: the mean of R, G, B = the middle channel's value here (i, i+4, i+8 for one tap/output).
    const k = weights.get("spatial/conv1/kernel")!;
    expect(k.shape).toEqual([3, 3, 1, 4]);
    expect(k.values[0]).toBeCloseTo(4, 5); // (0 + 4 + 8) / 3
    // Temporal conv1: R, G, B copied cyclically to 8 channels, with noise of 10 % of the filter's spread.
    const t = weights.get("temporal/conv1/kernel")!;
    expect(t.shape).toEqual([3, 3, 8, 4]);
    expect(Math.abs(t.values[3 * 4]! - 0)).toBeLessThan(0.1 * 31.2 + 1e-6); // channel 3 = R of tap 0
    // Output layer: 6 units averaged in groups of 3 into 2 classes.
    expect(Array.from(weights.get("spatial/fc4/bias")!.values)).toEqual([1, 4]);
    expect(Array.from(weights.get("spatial/fc4/kernel")!.values.slice(0, 2))).toEqual([1, 4]);
    expect(notes.join("\n")).toMatch(/averaged into 1 channel[\s\S]*copied to 8 channels[\s\S]*averaged in groups of 3 into 2/);
  });

  it("refuses shapes the recipe does not cover, saying what to do", async () => {
    const { writeHdf5Arrays } = await import("../lib/video/hdf5.js");
    const { loadPretrained } = await import("../lib/model/pretrained.js");
    const path = join(dir, "wrong.h5");
    await writeHdf5Arrays(path, [{ name: "conv1/kernel", data: new Float32Array(5 * 5 * 3 * 4), shape: [5, 5, 3, 4], gzip: 0 }]);
    await expect(loadPretrained({ data: path }, tinyArchitecture(), 1)).rejects.toThrow(/conv1\/kernel is \[5, 5, 3, 4\], the network needs \[3, 3, 1, 4\]/);
  });
});
