/**
 * The explanation methods: each a composite that maps every layer to a rule, and says what
 * starts the backward pass (the evidence's value for relevance, 1 for a gradient) and what
 * becomes of the signal at the input (relevance as it is; saliency as its absolute value).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Layer } from "./layers.js";
import { epsilonRule, gradient, guidedRelu, identity, lrnGradient, lrnIdentity, winnerTakesAll, zBox, zPlus, type Rule } from "./rules.js";

import type { MethodName } from "./method-names.js";

export { METHOD_NAMES, type MethodName } from "./method-names.js";

export interface MethodOptions {
  /** LRP-epsilon's stabiliser. */
  epsilon: number;
  /** What deep Taylor and LRP-epsilon do at LRN: identity (conservative) or gradient x input. */
  lrn: "identity" | "gradient";
}

export interface Method {
  name: MethodName;
  /** Relevance methods conserve (up to their rules' losses) and start from the evidence's value. */
  relevance: boolean;
  rule(layer: Layer, index: number): Rule;
  /** Heatmap from the signal at the input. */
  finish(signal: tf.Tensor): tf.Tensor;
}

function relevanceMethod(name: MethodName, linearRule: (index: number) => Rule, lrn: Rule): Method {
  return {
    name,
    relevance: true,
    rule(layer, index) {
      switch (layer.kind) {
        case "conv":
        case "dense":
          return linearRule(index);
        case "maxpool":
          return winnerTakesAll;
        case "lrn":
          return lrn;
        default:
          return identity;
      }
    },
    finish: (signal) => signal,
  };
}

export function method(name: MethodName, options: MethodOptions): Method {
  const lrn = options.lrn === "identity" ? lrnIdentity : lrnGradient;
  switch (name) {
    case "deep_taylor":
      return relevanceMethod(name, (i) => (i === 0 ? zBox : zPlus), lrn);
    case "lrp_epsilon":
      return relevanceMethod(name, () => epsilonRule(options.epsilon), lrn);
    case "lrp_0":
      // LRN by gradient x input whatever `lrn` says: then LRP-0 is gradient x input exactly.
      return relevanceMethod(name, () => epsilonRule(0), lrnGradient);
    case "saliency":
      return { name, relevance: false, rule: () => gradient, finish: (signal) => tf.abs(signal) };
    case "guided_backprop":
      return { name, relevance: false, rule: (layer) => (layer.kind === "relu" ? guidedRelu : gradient), finish: (signal) => signal };
  }
}

/** What each method does at each kind of layer, for the README and the report. */
export function describeMethod(m: Method, layers: Layer[]): string {
  const seen = new Map<string, string>();
  layers.forEach((layer, i) => {
    const key = layer.kind === "conv" && i === 0 ? "input conv" : layer.kind;
    if (!seen.has(key)) seen.set(key, m.rule(layer, i).name);
  });
  return [...seen].map(([k, r]) => `${k}: ${r}`).join(", ");
}
