/**
 * The relevance rules on networks with known weights: hand-computed cases, conservation, LRP-0 =
 * gradient x input, max-pool winner-takes-all, and every method on both streams of both presets.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { weightsWithBiases } from "../bench/explain-compare.js";
import { explainStream } from "../lib/explain/explain.js";
import { forwardAll, streamLayers } from "../lib/explain/layers.js";
import { method, METHOD_NAMES } from "../lib/explain/methods.js";
import { resolveArchitecture, inputChannels, type Architecture } from "../lib/model/architecture.js";
import { selectBackend } from "../lib/model/backend.js";
import { streamLogits, type TensorWeights } from "../lib/model/forward.js";
import { Rng } from "../lib/random.js";
import { tinyArchitecture } from "./cnn-helpers.js";

const OPTIONS = { epsilon: 0.01, lrn: "identity" as const };

/** Seeded weights with non-zero biases, so that the rules' treatment of biases is tested too. */
function tensors(arch: Architecture, seed: number): TensorWeights {
  return new Map([...weightsWithBiases(arch, seed)].map(([name, w]) => [name, tf.tensor(w.values, w.shape)]));
}

function randomInput(arch: Architecture, stream: "spatial" | "temporal", n: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const c = inputChannels(arch, stream);
  const size = arch.input_size;
  return tf.tensor4d(Float32Array.from({ length: n * size * size * c }, () => rng.normal()), [n, size, size, c]);
}

/** A net without max-pool or LRN: one conv (2x2 kernel, stride 1) on a 3x3x1 input, one dense layer. */
function handNet(): { arch: Architecture; weights: TensorWeights } {
  const arch = resolveArchitecture({
    preset: "default", input_size: 3, flow_pairs: 1, flow_stride: 1,
    conv: [{ filters: 1, kernel: 2, stride: 1, pad: 0, lrn: "none", pool: false }], fc: [], dropout: 0,
  });
  const weights: TensorWeights = new Map<string, tf.Tensor>([
    ["spatial/conv1/kernel", tf.tensor4d([1, -1, 2, 0.5], [2, 2, 1, 1])],
    ["spatial/conv1/bias", tf.tensor1d([0.1])],
    // 2x2 map flattened -> 2 classes
    ["spatial/fc2/kernel", tf.tensor2d([1, 0, 2, -1, -1, 1, 0.5, 0], [4, 2])],
    ["spatial/fc2/bias", tf.tensor1d([0.2, -0.3])],
  ]);
  return { arch, weights };
}

describe("relevance rules", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
  });

  it("z+ on the output layer and z^B on the input layer match a hand computation", () => {
    const { arch, weights } = handNet();
    const x = tf.tensor4d([1, 0, 2, -1, 3, 1, 0, 2, 1], [1, 3, 3, 1]);
    const result = explainStream(arch, "spatial", weights, x, [0], method("deep_taylor", OPTIONS));
    // conv (kernel [[1,-1],[2,0.5]], bias 0.1) + ReLU: the 2x2 map
    const k = [1, -1, 2, 0.5];
    const img = [1, 0, 2, -1, 3, 1, 0, 2, 1];
    const a: number[] = [];
    for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      const z = k[0]! * img[r * 3 + c]! + k[1]! * img[r * 3 + c + 1]! + k[2]! * img[(r + 1) * 3 + c]! + k[3]! * img[(r + 1) * 3 + c + 1]! + 0.1;
      a.push(Math.max(0, z));
    }
    // evidence for class 0: column 0 - column 1
    const w = [1 - 0, 2 - -1, -1 - 1, 0.5 - 0];
    const evidence = a.reduce((s, v, i) => s + v * w[i]!, 0) + (0.2 - -0.3);
    expect(result.evidence[0]).toBeCloseTo(evidence, 5);
    // z+ to the hidden units: R_j = a_j w+_j / sum a w+ * evidence
    const zp = a.reduce((s, v, i) => s + v * Math.max(0, w[i]!), 0);
    const hidden = a.map((v, i) => (v * Math.max(0, w[i]!) / zp) * evidence);
    // z^B to the pixels, bounds = the input's range [-1, 3]
    const [low, high] = [-1, 3];
    const expected = new Array(9).fill(0);
    [[0, 0], [0, 1], [1, 0], [1, 1]].forEach(([r, c], j) => {
      const cells = [[r!, c!, k[0]!], [r!, c! + 1, k[1]!], [r! + 1, c!, k[2]!], [r! + 1, c! + 1, k[3]!]] as const;
      const terms = cells.map(([rr, cc, kw]) => kw * img[rr * 3 + cc]! - low * Math.max(0, kw) - high * Math.min(0, kw));
      const z = terms.reduce((s, t) => s + t, 0);
      cells.forEach(([rr, cc], i) => (expected[rr * 3 + cc] += z ? (terms[i]! / z) * hidden[j]! : 0));
    });
    expected.forEach((v, i) => expect(result.heatmaps[i]).toBeCloseTo(v, 5));
    expect(result.reasons[0]).toBeNull();
  });

  it("deep Taylor conserves: input relevance sums to the explained evidence (LRN as identity)", () => {
    const arch = tinyArchitecture();
    const weights = tensors(arch, 3);
    for (const stream of ["spatial", "temporal"] as const) {
      const x = randomInput(arch, stream, 6, 7);
      const r = explainStream(arch, stream, weights, x, [0, 1, 0, 1, 0, 1], method("deep_taylor", OPTIONS));
      r.evidence.forEach((e, i) => {
        if (r.reasons[i] !== null) return;
        expect(r.evidence[i]).toBeGreaterThan(0);
        expect(Math.abs(r.total[i]! - e) / Math.abs(e)).toBeLessThan(1e-4);
        for (let p = i * (r.heatmaps.length / 6); p < (i + 1) * (r.heatmaps.length / 6); p++) expect(r.heatmaps[p]).toBeGreaterThanOrEqual(-1e-6);
      });
      // Samples with negative evidence for their target are reported, not dropped.
      r.reasons.forEach((reason, i) => reason !== null && expect(r.evidence[i]! <= 0 || reason.includes("vanished")).toBe(true));
      expect(r.reasons.filter((reason) => reason === null).length).toBeGreaterThanOrEqual(2);
      x.dispose();
    }
  });

  it("LRP-0 on a ReLU network equals gradient x input", () => {
    const arch = tinyArchitecture();
    const weights = tensors(arch, 5);
    for (const stream of ["spatial", "temporal"] as const) {
      const x = randomInput(arch, stream, 3, 11);
      const r = explainStream(arch, stream, weights, x, [1, 1, 1], method("lrp_0", OPTIONS));
      const gradTimesInput = tf.tidy(() => {
        const f = (inp: tf.Tensor) => {
          const logits = streamLogits(arch, stream, weights, inp as tf.Tensor4D);
          return tf.sum(tf.sub(tf.slice(logits, [0, 1], [-1, 1]), tf.slice(logits, [0, 0], [-1, 1])));
        };
        return tf.mul(tf.grad(f)(x), x).dataSync();
      });
      let maxAbs = 0;
      gradTimesInput.forEach((v) => (maxAbs = Math.max(maxAbs, Math.abs(v))));
      gradTimesInput.forEach((v, i) => expect(Math.abs(r.heatmaps[i]! - v)).toBeLessThan(1e-4 * maxAbs));
      x.dispose();
    }
  });

  it("max-pooling passes a window's relevance to its winner only", () => {
    const arch = resolveArchitecture({
      preset: "default", input_size: 4, flow_pairs: 1, flow_stride: 1,
      conv: [{ filters: 1, kernel: 1, stride: 1, pad: 0, lrn: "none", pool: true }], fc: [], dropout: 0, pool: { size: 2, stride: 2 },
    });
    const weights: TensorWeights = new Map<string, tf.Tensor>([
      ["spatial/conv1/kernel", tf.tensor4d([1], [1, 1, 1, 1])],
      ["spatial/conv1/bias", tf.tensor1d([0])],
      ["spatial/fc2/kernel", tf.tensor2d([1, 0, 2, 0, 3, 0, 4, 0], [4, 2])],
      ["spatial/fc2/bias", tf.tensor1d([0, 0])],
    ]);
    const img = [1, 5, 2, 0, 3, 2, 9, 1, 0, 0, 1, 1, 7, 1, 1, 2];
    const r = explainStream(arch, "spatial", weights, tf.tensor4d(img, [1, 4, 4, 1]), [0], method("lrp_epsilon", { ...OPTIONS, epsilon: 0 }));
    // winners: 5 (window 0), 9 (window 1), 7 (window 2), 2 (window 3); relevance w_k * max_k
    const expected = new Array(16).fill(0);
    expected[1] = 5 * 1;
    expected[6] = 9 * 2;
    expected[12] = 7 * 3;
    expected[15] = 2 * 4;
    expected.forEach((v, i) => expect(r.heatmaps[i]).toBeCloseTo(v, 5));
  });

  it("saliency is the absolute gradient; guided backprop passes only positive gradients", () => {
    const arch = tinyArchitecture();
    const weights = tensors(arch, 9);
    const x = randomInput(arch, "temporal", 2, 3);
    const s = explainStream(arch, "temporal", weights, x, [0, 0], method("saliency", OPTIONS));
    const g = tf.tidy(() => tf.grad((inp: tf.Tensor) => {
      const logits = streamLogits(arch, "temporal", weights, inp as tf.Tensor4D);
      return tf.sum(tf.sub(tf.slice(logits, [0, 0], [-1, 1]), tf.slice(logits, [0, 1], [-1, 1])));
    })(x).dataSync());
    let maxAbs = 0;
    g.forEach((v) => (maxAbs = Math.max(maxAbs, Math.abs(v))));
    g.forEach((v, i) => expect(Math.abs(s.heatmaps[i]! - Math.abs(v))).toBeLessThan(1e-4 * maxAbs));
    const guided = explainStream(arch, "temporal", weights, x, [0, 0], method("guided_backprop", OPTIONS));
    expect(guided.reasons).toEqual([null, null]);
    expect(guided.heatmaps.some((v, i) => Math.abs(v - g[i]!) > 1e-3 * maxAbs)).toBe(true);
  });

  it("a sample whose evidence is negative is reported with the reason, not dropped", () => {
    const { arch, weights } = handNet();
    const x = tf.tensor4d([1, 0, 2, -1, 3, 1, 0, 2, 1], [1, 3, 3, 1]);
    const r = explainStream(arch, "spatial", weights, x, [1], method("deep_taylor", OPTIONS));
    expect(r.evidence[0]).toBeLessThan(0);
    expect(r.reasons[0]).toMatch(/positive evidence only/);
    const eps = explainStream(arch, "spatial", weights, x, [1], method("lrp_epsilon", OPTIONS));
    expect(eps.reasons[0]).toBeNull();
  });

  it("every method runs on both streams of both presets (the paper's: its conv stack, narrow fc)", async () => {
    await selectBackend("wasm");
    try {
      // The paper preset's fc layers (4096, 2048) are narrowed to keep the test's memory small:
      // every conv, LRN and pooling shape is the paper's.
      for (const arch of [resolveArchitecture({ preset: "default" }), resolveArchitecture({ preset: "paper", fc: [16, 16] })]) {
        const weights = tensors(arch, 1);
        for (const stream of ["spatial", "temporal"] as const) {
          const n = arch.input_size > 200 ? 1 : 2;
          const x = randomInput(arch, stream, n, 5);
          for (const name of METHOD_NAMES) {
            if (n === 1 && !["deep_taylor", "saliency"].includes(name)) continue;
            const r = explainStream(arch, stream, weights, x, n === 1 ? [0] : [0, 1], method(name, OPTIONS));
            expect(r.heatmaps.length).toBe(x.size);
            r.reasons.forEach((reason, i) => expect(reason === null || r.evidence[i]! <= 0 || /vanished/.test(reason)).toBe(true));
          }
          x.dispose();
        }
        tf.dispose([...weights.values()]);
      }
    } finally {
      await selectBackend("cpu");
    }
  });

  it("the layer list of the paper preset: LRN after conv1 in both streams, after conv2 in the spatial only", () => {
    const arch = resolveArchitecture({ preset: "paper", fc: [8, 8] });
    const weights = tensors(arch, 0);
    for (const stream of ["spatial", "temporal"] as const) {
      const layers = streamLayers(arch, stream, weights, 0);
      expect(layers.map((l) => l.kind)).toEqual(
        stream === "spatial"
          ? ["conv", "relu", "lrn", "maxpool", "conv", "relu", "lrn", "maxpool", "conv", "relu", "conv", "relu", "conv", "relu", "maxpool", "flatten", "dense", "relu", "dropout", "dense", "relu", "dropout", "dense"]
          : ["conv", "relu", "lrn", "maxpool", "conv", "relu", "maxpool", "conv", "relu", "conv", "relu", "conv", "relu", "maxpool", "flatten", "dense", "relu", "dropout", "dense", "relu", "dropout", "dense"],
      );
    }
    tf.dispose([...weights.values()]);
  });
});

describe("forward pass of the layer list", () => {
  it("equals the network's own forward pass (evidence = logit difference)", async () => {
    await selectBackend("cpu");
    const arch = tinyArchitecture();
    const weights = tensors(arch, 2);
    const x = randomInput(arch, "spatial", 2, 1);
    const layers = streamLayers(arch, "spatial", weights, 1);
    const ours = tf.tidy(() => forwardAll(layers, x).output.dataSync());
    const logits = tf.tidy(() => streamLogits(arch, "spatial", weights, x).dataSync());
    expect(ours[0]).toBeCloseTo(logits[1]! - logits[0]!, 5);
    expect(ours[1]).toBeCloseTo(logits[3]! - logits[2]!, 5);
  });
});
