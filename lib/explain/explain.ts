/**
 * Explains one stream for a batch of inputs: forward through our layer list, then backwards with
 * the method's rule at each layer. Samples are grouped by target class (the evidence layer
 * differs per class). Every sample comes back with a heatmap or with the reason it has none.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Architecture, Stream } from "../model/architecture.js";
import type { TensorWeights } from "../model/forward.js";
import { disposeLayers, forwardAll, streamLayers } from "./layers.js";
import type { Method } from "./methods.js";

export interface StreamExplanation {
  /** Heatmaps in the input's layout: [n, rows, cols, channels], channels-last. */
  heatmaps: Float32Array;
  /** The explained output: the evidence for the target class (logit_c - mean of the others). */
  evidence: Float32Array;
  /** Sum of each heatmap (for relevance methods, conservation: it should equal `evidence`). */
  total: Float32Array;
  /**
   * Relevance methods: the sum of the relevance at each layer's input, [layers][n], from the
   * input layer up; a drop between two layers is relevance the rule lost (or made).
   */
  layerTotals: { layer: string; totals: Float32Array }[];
  /** Per sample: null, or why it has no usable heatmap (its heatmap is then all zeros). */
  reasons: (string | null)[];
}

/** A relevance total this small against the evidence counts as vanished. */
const VANISHED = 1e-9;

export function explainStream(arch: Architecture, stream: Stream, weights: TensorWeights, input: tf.Tensor4D, targets: number[], method: Method): StreamExplanation {
  return explainStreamMethods(arch, stream, weights, input, targets, [method])[0]!;
}

/** Several methods at once: the forward pass is shared. One explanation per method, in order. */
export function explainStreamMethods(arch: Architecture, stream: Stream, weights: TensorWeights, input: tf.Tensor4D, targets: number[], methods: Method[]): StreamExplanation[] {
  const [n, rows, cols, channels] = input.shape;
  if (targets.length !== n) throw new Error(`explain: ${targets.length} targets for ${n} samples`);
  const plane = rows * cols * channels;
  const outs = methods.map((): StreamExplanation => ({ heatmaps: new Float32Array(n * plane), evidence: new Float32Array(n), total: new Float32Array(n), layerTotals: [], reasons: new Array(n).fill(null) }));

  for (const target of [...new Set(targets)]) {
    const members = targets.flatMap((t, i) => (t === target ? [i] : []));
    const layers = streamLayers(arch, stream, weights, target);
    const forward = tf.tidy(() => {
      const x = members.length === n ? input : tf.gather(input, members);
      const flat = tf.reshape(x, [members.length, -1]);
      return { ...forwardAll(layers, x), low: tf.min(flat, 1) as tf.Tensor1D, high: tf.max(flat, 1) as tf.Tensor1D };
    });
    try {
      methods.forEach((method, k) => {
        const result = tf.tidy(() => {
          let signal = method.relevance ? forward.output : tf.onesLike(forward.output);
          const sums: tf.Tensor[] = [];
          for (let i = layers.length - 1; i >= 0; i--) {
            const output = i + 1 < layers.length ? forward.inputs[i + 1]! : forward.output;
            signal = method.rule(layers[i]!, i).backward(layers[i]!, forward.inputs[i]!, output, signal, forward);
            if (method.relevance) sums.unshift(tf.sum(tf.reshape(signal, [members.length, -1]), 1));
          }
          return { heatmap: method.finish(signal), evidence: tf.reshape(forward.output, [-1]), sums };
        });
        const heat = result.heatmap.dataSync() as Float32Array;
        const evidence = result.evidence.dataSync() as Float32Array;
        const sums = result.sums.map((s) => s.dataSync() as Float32Array);
        tf.dispose([result.heatmap, result.evidence, ...result.sums]);
        const out = outs[k]!;
        if (out.layerTotals.length === 0 && method.relevance) out.layerTotals = layers.map((l) => ({ layer: l.name, totals: new Float32Array(n) }));
        members.forEach((sample, m) => {
          const map = heat.subarray(m * plane, (m + 1) * plane);
          sums.forEach((s, l) => (out.layerTotals[l]!.totals[sample] = s[m]!));
          out.evidence[sample] = evidence[m]!;
          const reason = unexplained(method, evidence[m]!, map, sums.map((s) => s[m]!), layers.map((l) => l.name), target);
          out.reasons[sample] = reason;
          if (reason === null) out.heatmaps.set(map, sample * plane);
          let total = 0;
          for (let i = 0; i < map.length; i++) total += map[i]!;
          out.total[sample] = reason === null ? total : 0;
        });
      });
    } finally {
      // The input itself belongs to the caller.
      tf.dispose([...forward.inputs.filter((t) => t !== input), forward.output, forward.low, forward.high]);
      disposeLayers(layers);
    }
  }
  return outs;
}

/** Why a heatmap cannot be used, or null. */
function unexplained(method: Method, evidence: number, map: Float32Array, layerSums: number[], layerNames: string[], target: number): string | null {
  if (!Number.isFinite(evidence)) return `the network's output is not finite (${evidence}): its weights or input hold NaN or Infinity`;
  for (let i = 0; i < map.length; i++) if (!Number.isFinite(map[i]!)) return `the ${method.name} heatmap holds non-finite values (NaN or Infinity at value ${i})`;
  if (method.name === "deep_taylor" && !(evidence > 0)) {
    return `deep Taylor explains positive evidence only; the evidence for class ${target} is ${evidence.toPrecision(3)} (the stream does not predict it): use target predicted, or lrp_epsilon`;
  }
  if (method.relevance) {
    const lost = layerSums.findIndex((s) => Math.abs(s) <= VANISHED * Math.abs(evidence));
    if (lost >= 0 && evidence !== 0) return `relevance vanished at the input of ${layerNames[lost]} (no unit there contributes positively to what it feeds)`;
  }
  let any = false;
  for (let i = 0; i < map.length && !any; i++) any = map[i] !== 0;
  if (!any) return `the ${method.name} heatmap is zero everywhere (the evidence ${evidence.toPrecision(3)} does not depend on the input here)`;
  return null;
}
