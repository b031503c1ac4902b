/**
 * Small data and networks for the CNN tests: a trivially separable two-class task and a tiny
 * architecture that trains on it in seconds on one core.
 */
import { Rng } from "../lib/random.js";
import type { FlowSample } from "../lib/flow/files.js";
import { resolveArchitecture, type Architecture } from "../lib/model/architecture.js";
import type { ExampleRef } from "../lib/model/dataset.js";
import { quantise } from "../lib/flow/quantise.js";
import { expect } from "vitest";

/** Two conv layers (one with LRN in both streams, one in the spatial only), one hidden fc. */
export function tinyArchitecture(overrides: Partial<Architecture> = {}): Architecture {
  return resolveArchitecture({
    preset: "default",
    input_size: 28,
    flow_pairs: 4,
    flow_stride: 1,
    conv: [
      { filters: 4, kernel: 3, stride: 2, pad: 0, lrn: "both", pool: true },
      { filters: 6, kernel: 3, stride: 1, pad: 1, lrn: "spatial", pool: false },
    ],
    fc: [12],
    dropout: 0.25,
    ...overrides,
  });
}

/**
 * A sample of `side` pixels: label 1 has rightward flow (x > 0) and a bright left half, label 0
 * leftward flow and a bright right half; both survive the vertical flip and every crop.
 */
export function tinySample(label: number, seed: number, side = 32, pairs = 4): FlowSample {
  const rng = new Rng(seed);
  const plane = side * side;
  const channels = 2 * pairs;
  const flow = new Uint8Array(channels * plane);
  const range = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    const v = new Float32Array(plane);
    for (let p = 0; p < plane; p++) {
      const inside = Math.abs((p % side) - side / 2) < side / 4 && Math.abs(Math.floor(p / side) - side / 2) < side / 4;
      v[p] = 0.3 * rng.normal() + (c % 2 === 0 && inside ? (label ? 2 : -2) : 0);
    }
    const q = quantise(v);
    flow.set(q.q, c * plane);
    range[2 * c] = q.min;
    range[2 * c + 1] = q.max;
  }
  const spatial = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    const leftHalf = p % side < side / 2;
    spatial[p] = Math.max(0, Math.min(255, Math.round((leftHalf === (label === 1) ? 180 : 60) + 20 * rng.normal())));
  }
  return { flow, range, spatial, channels, rows: side, cols: side };
}

/** `n` examples, alternating labels, spread over `recordings` recordings. */
export function tinyExamples(n: number, recordings: number, prefix = "s"): ExampleRef[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, recording: `rec${i % recordings}`, label: i % 2, path: "" }));
}

/** Every value within 1e-5 of the largest expected magnitude (at least 1): float32 kernels summing in another order. */
export function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(1e-5);
}
