/**
 * Explains a list of samples with one model: load it, show each sample to the network as
 * evaluate does (centre crop, not flipped), explain each stream for each method, keep every
 * heatmap and its reductions. Runs in the stage's thread or in a worker thread of its own
 * (explain-worker.ts), so that a part of the samples can go to each core.
 */
import * as tf from "@tensorflow/tfjs-core";
import { explainStreamMethods, type StreamExplanation } from "../../lib/explain/explain.js";
import { method as makeMethod, type MethodName } from "../../lib/explain/methods.js";
import { normalisedMap, type InputGeometry } from "../../lib/explain/shares.js";
import { flowChannels, STREAMS, type Architecture, type Stream } from "../../lib/model/architecture.js";
import { selectBackend } from "../../lib/model/backend.js";
import { CENTER } from "../../lib/model/batches.js";
import { SampleCache, type ExampleRef } from "../../lib/model/dataset.js";
import { streamLogits } from "../../lib/model/forward.js";
import { batchTensors, cropGeometry } from "../../lib/model/input.js";
import { readModel, WEIGHTS_BIN } from "../../lib/model/model-files.js";
import type { SplitName } from "../../lib/splits.js";
import type { ExplainParams } from "./index.js";
import { inputRegions } from "./regions.js";

/** What one stream said about one sample. */
export interface StreamVerdict {
  predicted: number;
  /** Probability of the predicted class (the stream's softmax; fused: normalised geometric mean). */
  confidence: number;
  /** The class explained (predicted or label). */
  target: number;
}

export interface SampleRecord {
  example: ExampleRef;
  split: SplitName;
  streams: Record<Stream | "fused", StreamVerdict>;
}

/** One method's results on one stream, for every sample. */
export interface StreamMaps {
  /** Raw heatmaps as stored: spatial [n, S, S]; temporal [n, frames, 2, S, S] or [n, S, S] summed. */
  stored: Float32Array;
  /** |R| per pixel normalised to sum 1 per sample [n, S, S] (zeros where unexplained). */
  normalised: Float32Array;
  /** Share of each flow frame per sample [n, frames] (temporal only). */
  frames: Float32Array;
  evidence: Float32Array;
  total: Float32Array;
  reasons: (string | null)[];
  /** Relevance methods: sum at each layer's input, mean over explained samples. */
  layerTotals: { layer: string; sum: number; count: number }[];
}

export interface Explained {
  arch: Architecture;
  geometry: InputGeometry;
  /** The flow pair (of the 85) behind each temporal channel pair. */
  frameIndex: number[];
  samples: SampleRecord[];
  /** Mean input frame of each sample (the spatial stream's standardised grey input) [n, S, S]. */
  backgrounds: Float32Array;
  maps: Partial<Record<MethodName, Record<Stream, StreamMaps>>>;
  /** Per region (in the order of `regions`): what each stream predicts without it. */
  occlusion: Occlusion[];
  classNames: string[];
  backend: string;
}

/** What a part explains: the model's files, its samples (in order) and the stage's params. */
export interface PartRequest {
  modelPath: string;
  weightsPath: string;
  /** The flow stage's pair_stride: which flow pairs the sample files hold. */
  pairStride: number;
  examples: { example: ExampleRef; split: SplitName }[];
  params: ExplainParams;
}

export type PartResult = Omit<Explained, "classNames">;

/** Each stream's prediction with a region's content taken away (no flow; the region's own mean grey). */
export interface Occlusion {
  region: string;
  predicted: Record<Stream, Int8Array>;
}

/** What a worker thread sends back. */
export type WorkerMessage = { type: "progress"; done: number } | { type: "log"; message: string } | { type: "done"; result: PartResult };

/** Softmax of one row of log-probabilities: the predicted class and its probability. */
function verdict(logProbs: Float32Array, row: number, classes: number, label: number, target: ExplainParams["target"]): StreamVerdict {
  let best = 0;
  for (let c = 1; c < classes; c++) if (logProbs[row * classes + c]! > logProbs[row * classes + best]!) best = c;
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(logProbs[row * classes + c]! - logProbs[row * classes + best]!);
  return { predicted: best, confidence: 1 / sum, target: target === "label" ? label : best };
}

export async function explainPart(request: PartRequest, progress: (done: number, rate: number) => void, signal: AbortSignal, log: (message: string) => void): Promise<PartResult> {
  const { params, examples } = request;
  const backend = await selectBackend(params.backend);
  // The reason (about 400 characters) is train's to print, once.
  log(`backend ${backend.brief}`);
  const { arch, weights } = await readModel(request.modelPath, { [WEIGHTS_BIN]: request.weightsPath });
  const tensors = new Map([...weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
  const source = new SampleCache(flowChannels(arch, request.pairStride), params.memory_mb * 2 ** 20);
  const frameIndex = Array.from({ length: Math.ceil(arch.flow_pairs / arch.flow_stride) }, (_, i) => i * arch.flow_stride);
  const methods = params.methods.map((name) => makeMethod(name, { epsilon: params.epsilon, lrn: params.lrn_rule }));

  const first = await source.get(examples[0]!.example);
  const crop = cropGeometry(first.rows);
  const [top, left] = crop.offsets[CENTER % 9]!;
  const geometry: InputGeometry = { frame: first.rows, crop: { top, left, size: crop.size }, input: arch.input_size };
  const side = arch.input_size;
  const plane = side * side;
  const n = examples.length;
  const frames = frameIndex.length;
  const channelsOf = (stream: Stream) => (stream === "spatial" ? 1 : 2 * frames);
  const storedPlanes = (stream: Stream) => (stream === "spatial" || params.temporal_maps === "summed" ? 1 : 2 * frames);
  const maps: Explained["maps"] = {};
  const empty = (s: Stream): StreamMaps => ({
    stored: new Float32Array(n * storedPlanes(s) * plane), normalised: new Float32Array(n * plane), frames: new Float32Array(n * frames),
    evidence: new Float32Array(n), total: new Float32Array(n), reasons: new Array<string | null>(n).fill(null), layerTotals: [],
  });
  for (const m of methods) maps[m.name] = { spatial: empty("spatial"), temporal: empty("temporal") };
  const records: SampleRecord[] = [];
  const backgrounds = new Float32Array(n * plane);
  // Occlusion: 0 inside the region, 1 elsewhere, [1, S, S, 1] to broadcast over a batch.
  const occluders = inputRegions(params, geometry).regions.map(({ name, rect }) => {
    const keep = new Float32Array(plane).fill(1);
    if (rect) for (let y = rect.top; y < rect.top + rect.height; y++) keep.fill(0, y * side + rect.left, y * side + rect.left + rect.width);
    return { name, mask: tf.tensor4d(keep, [1, side, side, 1]), area: rect ? rect.width * rect.height : 0 };
  });
  // What the region holds is taken away: no flow in the temporal stream (what mask leaves of a
  // moving corner); in the spatial stream the region's own mean, so that a region that is
  // already flat (a masked corner) stays as it is.
  const occlude = (x: tf.Tensor4D, stream: Stream, mask: tf.Tensor4D, area: number): tf.Tensor4D => {
    const kept = tf.mul(x, mask) as tf.Tensor4D;
    if (stream === "temporal" || area === 0) return kept;
    const inside = tf.sub(1, mask);
    const mean = tf.div(tf.sum(tf.mul(x, inside), [1, 2, 3], true), area);
    return tf.add(kept, tf.mul(mean, inside)) as tf.Tensor4D;
  };
  const occlusion: Occlusion[] = occluders.map(({ name }) => ({ region: name, predicted: { spatial: new Int8Array(n), temporal: new Int8Array(n) } }));
  const batches = Math.ceil(n / params.batch);
  const started = Date.now();

  try {
    for (let b = 0; b < batches; b++) {
      if (signal.aborted) throw new Error("cancelled");
      const part = examples.slice(b * params.batch, (b + 1) * params.batch);
      const offset = b * params.batch;
      const loaded = await Promise.all(part.map((e) => source.get(e.example)));
      const input = batchTensors(loaded, part.map(() => CENTER), side);
      try {
        const logProbs = tf.tidy(() => {
          const s = tf.logSoftmax(streamLogits(arch, "spatial", tensors, input.spatial));
          const t = tf.logSoftmax(streamLogits(arch, "temporal", tensors, input.temporal));
          return [s, t, tf.div(tf.add(s, t), 2)].map((x) => x.dataSync() as Float32Array);
        });
        part.forEach((e, i) => {
          const label = e.example.label;
          const [spatial, temporal, fused] = logProbs.map((lp) => verdict(lp, i, arch.classes, label, params.target)) as [StreamVerdict, StreamVerdict, StreamVerdict];
          records.push({ example: e.example, split: e.split, streams: { spatial, temporal, fused } });
        });
        backgrounds.set(input.spatial.dataSync() as Float32Array, offset * plane);
        occluders.forEach(({ mask, area }, r) => {
          for (const stream of STREAMS) {
            const predicted = tf.tidy(() => tf.argMax(streamLogits(arch, stream, tensors, occlude(input[stream], stream, mask, area)), 1).dataSync());
            occlusion[r]!.predicted[stream].set(predicted, offset);
          }
        });
        for (const stream of STREAMS) {
          const x = input[stream];
          const targets = part.map((_, i) => records[offset + i]!.streams[stream].target);
          explainStreamMethods(arch, stream, tensors, x, targets, methods).forEach((r, k) => {
            keep(maps[methods[k]!.name]![stream], r, offset, part.length, side, channelsOf(stream), params.temporal_maps === "summed");
          });
        }
      } finally {
        tf.dispose([input.spatial, input.temporal]);
      }
      const done = Math.min(n, (b + 1) * params.batch);
      progress(done, done / ((Date.now() - started) / 1000));
    }
  } finally {
    tf.dispose([...tensors.values(), ...occluders.map((o) => o.mask)]);
  }
  return { arch, geometry, frameIndex, samples: records, backgrounds, maps, occlusion, backend: backend.backend };
}

/** Copies a batch's explanation into the per-sample arrays: stored layout, normalised |R|, frame shares. */
function keep(into: StreamMaps, r: StreamExplanation, offset: number, count: number, side: number, channels: number, summed: boolean): void {
  const plane = side * side;
  const frames = into.frames.length / into.evidence.length;
  const storedPlanes = into.stored.length / into.evidence.length / plane;
  for (let i = 0; i < count; i++) {
    const sample = offset + i;
    const map = r.heatmaps.subarray(i * plane * channels, (i + 1) * plane * channels);
    into.evidence[sample] = r.evidence[i]!;
    into.total[sample] = r.total[i]!;
    into.reasons[sample] = r.reasons[i]!;
    // channels-last [S, S, C] to channel planes [C, S, S] (or summed over C)
    const stored = into.stored.subarray(sample * storedPlanes * plane, (sample + 1) * storedPlanes * plane);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) {
        if (summed || channels === 1) stored[p]! += map[p * channels + c]!;
        else stored[c * plane + p] = map[p * channels + c]!;
      }
    }
    const norm = r.reasons[i] === null ? normalisedMap(map, side, channels) : null;
    if (norm) {
      into.normalised.set(norm.pixels, sample * plane);
      if (channels > 1) into.frames.set(norm.frames.subarray(0, frames), sample * frames);
    }
  }
  r.layerTotals.forEach((l, k) => {
    const slot = (into.layerTotals[k] ??= { layer: l.layer, sum: 0, count: 0 });
    for (let i = 0; i < count; i++) {
      if (r.reasons[i] !== null) continue;
      slot.sum += l.totals[i]! / r.evidence[i]!;
      slot.count++;
    }
  });
}
