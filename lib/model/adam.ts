/**
 * Adam with L2 weight decay the way PyTorch's `Adam(weight_decay=...)` does it (the paper's
 * optimiser): the decay is added to the gradient before the moments, g <- g + wd * w, unlike
 * AdamW's decoupled decay. TF.js's AdamOptimizer has no weight decay, hence this one.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostWeights } from "./weights.js";

export type Schedule = "inv_sqrt" | "constant";

/** The learning rate of a (1-based) epoch: base / sqrt(epoch) for inv_sqrt (the paper's schedule). */
export function learningRate(base: number, epoch: number, schedule: Schedule): number {
  return schedule === "inv_sqrt" ? base / Math.sqrt(epoch) : base;
}

export interface AdamSettings {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Moments and step count: what a checkpoint must keep to resume exactly. */
export interface AdamState {
  step: number;
  m: HostWeights;
  v: HostWeights;
}

export class AdamL2 {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(private readonly vars: Map<string, tf.Variable>, private readonly settings: AdamSettings, state?: AdamState) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-8;
    for (const [name, w] of vars) {
      const restore = (moments: HostWeights | undefined) => {
        const saved = moments?.get(name);
        const t = saved ? tf.tensor(saved.values, saved.shape) : tf.zerosLike(w);
        const v = tf.variable(t, false);
        t.dispose(); // the variable holds its own reference to the data
        return v;
      };
      this.m.set(name, restore(state?.m));
      this.v.set(name, restore(state?.v));
    }
    if (state) this.step = state.step;
  }

  /** One update with learning rate `lr`; `grads` by variable name (disposed by the caller). */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, epsilon } = this;
    const stepSize = lr / (1 - beta1 ** this.step);
    const correction2 = Math.sqrt(1 - beta2 ** this.step);
    // One variable at a time, each intermediate freed as soon as it is used: the paper network's
    // fc6 alone is 210 MB, and a tidy around the whole update would hold every temporary of
    // every variable at once.
    const replace = (v: tf.Variable, compute: () => tf.Tensor) => {
      const next = tf.tidy(compute);
      v.assign(next);
      next.dispose(); // the variable keeps its own reference
    };
    for (const [name, w] of this.vars) {
      const grad = grads[name];
      if (!grad) continue;
      const decay = this.settings.weightDecay;
      const g = decay ? tf.tidy(() => tf.add(grad, tf.mul(w, decay))) : grad;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      replace(m, () => tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      replace(v, () => tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      if (g !== grad) g.dispose();
      replace(w, () => tf.sub(w, tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), correction2), epsilon)), stepSize)));
    }
  }

  async state(): Promise<AdamState> {
    const read = async (moments: Map<string, tf.Variable>): Promise<HostWeights> => {
      const out: HostWeights = new Map();
      for (const [name, t] of moments) out.set(name, { shape: t.shape, values: (await t.data()) as Float32Array });
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
