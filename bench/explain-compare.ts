/**
 * Our relevance rules beside an independent PyTorch implementation (bench/explain_reference.py):
 * the same weights and inputs are written to a folder, both explain every method on both
 * streams, and the heatmaps are compared (largest difference relative to the largest |value|).
 * Used by bench/explain.ts (speed) and tests/explain-reference.test.ts (agreement).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { explainStream } from "../lib/explain/explain.js";
import { method, type MethodName } from "../lib/explain/methods.js";
import { inputChannels, STREAMS, type Architecture, type Stream } from "../lib/model/architecture.js";
import { streamLogits, type TensorWeights } from "../lib/model/forward.js";
import { initialWeights, type HostWeights } from "../lib/model/weights.js";
import { Rng } from "../lib/random.js";

/** Debian's python3-torch installs into the system Python, which a pyenv or venv python3 on PATH does not see. */
export const PYTHON = process.env["PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

export interface Case {
  arch: Architecture;
  weights: HostWeights;
  inputs: Record<Stream, { values: Float32Array; shape: [number, number, number, number] }>;
  targets: Record<Stream, number[]>;
  methods: MethodName[];
  epsilon: number;
}

/** Inputs like the real ones: standardised grey, flow of a few pixels with a moving band. */
export function randomInputs(arch: Architecture, n: number, seed: number): Case["inputs"] {
  const rng = new Rng(seed);
  const make = (stream: Stream) => {
    const c = inputChannels(arch, stream);
    const s = arch.input_size;
    const values = new Float32Array(n * s * s * c);
    for (let i = 0; i < values.length; i++) {
      const row = Math.floor(i / (s * c)) % s;
      values[i] = stream === "spatial" ? rng.normal() : (Math.abs(row - s / 2) < s / 6 ? 2 : 0.2) * rng.normal();
    }
    return { values, shape: [n, s, s, c] as [number, number, number, number] };
  };
  return { spatial: make("spatial"), temporal: make("temporal") };
}

/** Writes manifest.json + data.bin for the reference. */
export function writeCase(dir: string, c: Case): void {
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (values: Float32Array, shape: number[]) => {
    chunks.push(values);
    const entry = { offset, shape };
    offset += values.length;
    return entry;
  };
  const weights = [...c.weights].map(([name, w]) => ({ name, ...add(w.values, w.shape) }));
  const inputs = Object.fromEntries(STREAMS.map((s) => [s, add(c.inputs[s].values, c.inputs[s].shape)]));
  const data = new Float32Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  writeFileSync(join(dir, "data.bin"), new Uint8Array(data.buffer));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ arch: c.arch, weights, inputs, targets: c.targets, methods: c.methods, epsilon: c.epsilon }));
}

/** Our heatmaps per method and stream, and seconds per method (both streams). */
export function explainOurs(c: Case, batch: number): { maps: Record<string, Float32Array>; seconds: Record<string, number> } {
  const weights: TensorWeights = new Map([...c.weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
  const maps: Record<string, Float32Array> = {};
  const seconds: Record<string, number> = {};
  try {
    for (const name of c.methods) {
      const m = method(name, { epsilon: c.epsilon, lrn: "identity" });
      const start = performance.now();
      for (const stream of STREAMS) {
        const { values, shape } = c.inputs[stream];
        const per = shape[1] * shape[2] * shape[3];
        const out = new Float32Array(values.length);
        for (let b = 0; b < shape[0]; b += batch) {
          const count = Math.min(batch, shape[0] - b);
          const x = tf.tensor4d(values.subarray(b * per, (b + count) * per), [count, shape[1], shape[2], shape[3]]);
          out.set(explainStream(c.arch, stream, weights, x, c.targets[stream].slice(b, b + count), m).heatmaps, b * per);
          x.dispose();
        }
        maps[`${name}-${stream}`] = out;
      }
      seconds[name] = (performance.now() - start) / 1000;
    }
  } finally {
    tf.dispose([...weights.values()]);
  }
  return { maps, seconds };
}

export type ReferenceRun = { ok: true; torch: string; threads: number; timings: Record<string, { seconds: number; samples_per_s: number }> } | { ok: false; why: string };

/** Runs the PyTorch reference on a written case; says why not when PyTorch is missing. */
export function runReference(dir: string, threads?: number): ReferenceRun {
  const args = ["bench/explain_reference.py", dir, ...(threads ? ["--threads", String(threads)] : [])];
  const r = spawnSync(PYTHON, args, { encoding: "utf8" });
  if (r.error) return { ok: false, why: `${PYTHON} cannot be run (${r.error.message})` };
  if (r.status !== 0) {
    const why = /No module named 'torch'/.test(r.stderr) ? "PyTorch is not installed: apt-get install -y python3-torch" : r.stderr.trim().split("\n").at(-1) ?? `exit ${r.status}`;
    return { ok: false, why };
  }
  return { ok: true, ...JSON.parse(r.stdout.trim().split("\n").at(-1)!) };
}

export interface Agreement {
  /** Per sample: largest |ours - reference| over the sample's largest |reference|. */
  perSample: number[];
  /** Samples that agree within `tolerance`. */
  within: number;
  worst: number;
  median: number;
}

/** How far our heatmaps are from the reference's, per method and stream, sample by sample. */
export function compareWithReference(dir: string, ours: Record<string, Float32Array>, samples: number, tolerance = 1e-4): Record<string, Agreement> {
  const out: Record<string, Agreement> = {};
  for (const [key, mine] of Object.entries(ours)) {
    const bytes = readFileSync(join(dir, `ref-${key}.bin`));
    const ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    if (ref.length !== mine.length) throw new Error(`${key}: the reference has ${ref.length} values, ours ${mine.length}`);
    const per = ref.length / samples;
    const perSample = Array.from({ length: samples }, (_, i) => {
      let scale = 0;
      let diff = 0;
      for (let k = i * per; k < (i + 1) * per; k++) {
        scale = Math.max(scale, Math.abs(ref[k]!));
        diff = Math.max(diff, Math.abs(ref[k]! - mine[k]!));
      }
      return scale > 0 ? diff / scale : diff;
    });
    const sorted = [...perSample].sort((a, b) => a - b);
    out[key] = { perSample, within: perSample.filter((d) => d <= tolerance).length, worst: sorted.at(-1)!, median: sorted[Math.floor(samples / 2)]! };
  }
  return out;
}

/** The class each stream predicts for each input: what the explain stage explains by default. */
export function predictedTargets(c: Pick<Case, "arch" | "weights" | "inputs">): Record<Stream, number[]> {
  const weights: TensorWeights = new Map([...c.weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
  try {
    return Object.fromEntries(
      STREAMS.map((stream) => {
        const { values, shape } = c.inputs[stream];
        const predicted = tf.tidy(() => tf.argMax(streamLogits(c.arch, stream, weights, tf.tensor4d(values, shape)), 1).dataSync());
        return [stream, Array.from(predicted)];
      }),
    ) as Record<Stream, number[]>;
  } finally {
    tf.dispose([...weights.values()]);
  }
}

/** Initial weights with small random biases (a trained network's biases are not zero). */
export function weightsWithBiases(arch: Architecture, seed: number): HostWeights {
  const rng = new Rng(seed + 7);
  return new Map([...initialWeights(arch, seed)].map(([name, w]) => [name, name.endsWith("/bias") ? { shape: w.shape, values: Float32Array.from(w.values, () => 0.05 * rng.normal()) } : w]));
}
