/**
 * What the network is shown: the fused crop/dequantise/flip against lib/flow's separate steps,
 * and batches spread over recordings.
 */
import { describe, expect, it } from "vitest";
import { cropStack, flipFlowVertical, flipRows } from "../lib/flow/augment.js";
import { dequantise } from "../lib/flow/quantise.js";
import { AUGMENTATIONS, epochDraws, recordingBatches } from "../lib/model/batches.js";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../lib/model/backend.js";
import { batchTensors, cropGeometry, selectChannels, writeExample, type StreamSample } from "../lib/model/input.js";
import { Rng } from "../lib/random.js";
import { tinySample } from "./cnn-helpers.js";

describe("network input", () => {
  it("scales the paper's crops (224 of 256 at 8|16|24) to the frame", () => {
    expect(cropGeometry(256)).toEqual({ size: 224, offsets: [[8, 8], [8, 16], [8, 24], [16, 8], [16, 16], [16, 24], [24, 8], [24, 16], [24, 24]] });
    expect(cropGeometry(128).size).toBe(112);
    expect(cropGeometry(128).offsets[8]).toEqual([12, 12]);
  });

  it("equals lib/flow's crop, dequantise and flip (y negated) for all 18 augmentations", () => {
    const full = tinySample(1, 5, 32, 4);
    const sample = selectChannels(full, [0, 1, 4, 5]); // pairs 0 and 2
    const { size, offsets } = cropGeometry(32);
    const plane = size * size;
    for (let a = 0; a < AUGMENTATIONS; a++) {
      const spatial = new Float32Array(2 * plane);
      const temporal = new Float32Array(2 * plane * 4);
      writeExample(sample, a, spatial, temporal, 1);
      const [top, left] = offsets[a % 9]!;
      const q = cropStack(sample.flow, 4, 32, 32, top, left, size, size);
      const decoded = new Float32Array(4 * plane);
      for (let c = 0; c < 4; c++) dequantise(q.subarray(c * plane, (c + 1) * plane), sample.range[2 * c]!, sample.range[2 * c + 1]!, decoded.subarray(c * plane, (c + 1) * plane));
      let flow: Float32Array = decoded;
      let grey = cropStack(sample.spatial, 1, 32, 32, top, left, size, size);
      if (a >= 9) {
        flow = flipFlowVertical(flow, 4, size, size);
        grey = flipRows(grey, 1, size, size);
      }
      const mean = grey.reduce((s, v) => s + v, 0) / plane;
      const sd = Math.sqrt(grey.reduce((s, v) => s + (v - mean) ** 2, 0) / plane);
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 4; c++) expect(temporal[plane * 4 + p * 4 + c]).toBeCloseTo(flow[c * plane + p]!, 5);
        expect(spatial[plane + p]).toBeCloseTo((grey[p]! - mean) / sd, 4);
      }
      expect(temporal.subarray(0, plane * 4).every((v) => v === 0)).toBe(true); // batch slot 0 untouched
    }
  });

  it("keeps only the flow channels the network reads", () => {
    const full = tinySample(0, 1, 32, 4);
    const s = selectChannels(full, [2, 3]);
    expect(s.channels).toBe(2);
    expect(Array.from(s.flow)).toEqual(Array.from(full.flow.subarray(2 * 1024, 4 * 1024)));
    expect(Array.from(s.range)).toEqual(Array.from(full.range.subarray(4, 8)));
  });
});

describe("network input on the wasm backend (our SIMD kernel writes the flow onto its heap)", () => {
  // Channel counts with every remainder of the kernel's 4-channel blocks, crop sides with every
  // remainder of its 4-pixel blocks (frames of 30..36 pixels: crops of 26..32), all 18 augmentations.
  const rng = new Rng(41);
  const sample = (side: number, channels: number): StreamSample => ({
    flow: Uint8Array.from({ length: channels * side * side }, () => rng.int(0, 255)),
    range: Float32Array.from({ length: 2 * channels }, (_, i) => (i % 2 ? rng.uniform(0.5, 3) : rng.uniform(-3, -0.5))),
    spatial: Uint8Array.from({ length: side * side }, () => rng.int(0, 255)),
    channels, rows: side, cols: side,
  });
  const cases = [[30, 1], [32, 2], [34, 3], [36, 4], [33, 5], [35, 34]] as const;

  it.each(cases)("frames of %i pixels, %i flow channels: equals the JavaScript path's tensors", async (side, channels) => {
    const samples = Array.from({ length: AUGMENTATIONS }, () => sample(side, channels));
    const augmentations = samples.map((_, i) => i);
    const size = cropGeometry(side).size;
    const run = () => {
      const t = batchTensors(samples, augmentations, size);
      const out = { spatial: t.spatial.dataSync() as Float32Array, temporal: t.temporal.dataSync() as Float32Array };
      tf.dispose([t.spatial, t.temporal]);
      return out;
    };
    await selectBackend("cpu");
    const expected = run();
    await selectBackend("wasm");
    const before = tf.memory().numTensors;
    const actual = run();
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(actual.spatial)).toEqual(Array.from(expected.spatial));
    expect(actual.temporal.length).toBe(expected.temporal.length);
    let worst = 0;
    for (let i = 0; i < actual.temporal.length; i++) worst = Math.max(worst, Math.abs(actual.temporal[i]! - expected.temporal[i]!));
    expect(worst).toBeLessThan(1e-6 * 3); // float32 decoding vs double: an ulp of values up to 3
  });
});

describe("batches", () => {
  const examples = Array.from({ length: 90 }, (_, i) => ({ recording: `r${i % 10}` }));

  it("puts samples of different recordings in a batch while enough recordings have samples left", () => {
    const rng = new Rng(3);
    const batches = recordingBatches(epochDraws(90, "random", rng), examples, 8, rng);
    expect(batches.flat().map((d) => d.example).sort((a, b) => a - b)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect(batches.map((b) => b.length)).toEqual([...Array(11).fill(8), 2]);
    for (const b of batches) expect(new Set(b.map((d) => examples[d.example]!.recording)).size).toBe(b.length);
  });

  it("repeats a recording only when fewer recordings than the batch size are left", () => {
    const rng = new Rng(4);
    // One recording with 30 samples, ten with one each: the big one appears in every batch,
    // three singles join it while at least three are left, then the big one fills the rest.
    const uneven = Array.from({ length: 40 }, (_, i) => ({ recording: i < 30 ? "big" : `r${i}` }));
    const batches = recordingBatches(epochDraws(40, "off", rng), uneven, 4, rng);
    const recordings = batches.map((b) => b.map((d) => uneven[d.example]!.recording));
    expect(recordings.length).toBe(10);
    for (const r of recordings.slice(0, 3)) expect(new Set(r).size).toBe(4);
    for (const r of recordings) expect(r.filter((x) => x === "big").length).toBeGreaterThanOrEqual(1);
    expect(recordings.slice(4).every((r) => r.every((x) => x === "big"))).toBe(true);
  });

  it("shows every sample in all 18 augmentations with `all`, the centre crop with `off`", () => {
    const rng = new Rng(1);
    expect(epochDraws(3, "all", rng).length).toBe(54);
    expect(new Set(epochDraws(3, "off", rng).map((d) => d.augmentation))).toEqual(new Set([4]));
    expect(epochDraws(2, "all", rng).filter((d) => d.example === 1).map((d) => d.augmentation)).toEqual(Array.from({ length: 18 }, (_, i) => i));
  });

  it("is reproducible for a seed", () => {
    const order = (seed: number) => recordingBatches(epochDraws(90, "random", new Rng(seed)), examples, 8, new Rng(seed + 1));
    expect(order(5)).toEqual(order(5));
    expect(order(5)).not.toEqual(order(6));
  });
});
