/**
 * AdamL2 (adam.ts) on Float32Arrays instead of tensors: the optimiser of data-parallel training,
 * where the weights live in shared memory on the host and the workers only compute gradients,
 * and of in-process training on wasm, where the weights and gradients are read on the heap
 * (heap-adam.ts). Its moments stay out of every wasm heap: the paper network's (1.1 GB) did not
 * fit beside its weights and gradients. Same update, same checkpoint state as AdamL2. The loop
 * runs natively on several threads where the native kernels are built (lib/model/native/adam.c:
 * the same operations in the same order, the same bits), in JavaScript elsewhere.
 */
import type { AdamSettings, AdamState } from "../adam.js";
import type { HostWeights } from "../weights.js";
import { nativeConvolutions, nativeThreads } from "../native-kernels.js";

/** One step's constants. */
interface StepConstants {
  decay: number;
  stepSize: number;
  correction2: number;
}

export class HostAdam {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly shapes = new Map<string, number[]>();
  step = 0;

  /** Moments for weights of these shapes (or those of `state`). */
  constructor(shapes: Map<string, number[]>, private readonly settings: AdamSettings, state?: AdamState) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-8;
    for (const [name, shape] of shapes) {
      const length = shape.reduce((a, b) => a * b, 1);
      this.shapes.set(name, shape);
      this.m.set(name, Float32Array.from(state?.m.get(name)?.values ?? new Float32Array(length)));
      this.v.set(name, Float32Array.from(state?.v.get(name)?.values ?? new Float32Array(length)));
    }
    if (state) this.step = state.step;
  }

  /** One update of `weights` in place with learning rate `lr`; `grads` by weight name. */
  apply(weights: HostWeights, grads: Map<string, Float32Array>, lr: number): void {
    const constants = this.begin(lr);
    for (const [name, w] of weights) {
      const grad = grads.get(name);
      if (grad) this.update(name, w.values, grad, w.values, constants);
    }
  }

  /** Starts a step: update() then takes each weight with its gradient. */
  begin(lr: number): StepConstants {
    this.step++;
    return { decay: this.settings.weightDecay, stepSize: lr / (1 - this.beta1 ** this.step), correction2: Math.sqrt(1 - this.beta2 ** this.step) };
  }

  /** Weight `name`'s new values into `out` (which may be `x`). */
  update(name: string, x: Float32Array, grad: Float32Array, out: Float32Array, { decay, stepSize, correction2 }: StepConstants): void {
    const { beta1, beta2, epsilon } = this;
    const m = this.m.get(name)!;
    const v = this.v.get(name)!;
    const native = nativeConvolutions();
    if (native) {
      native.adam(x, grad, m, v, out, decay, beta1, beta2, epsilon, stepSize, correction2, nativeThreads());
      return;
    }
    // The moments are rounded to float32 once, as stored, and used from registers (reading
    // them back from the arrays made this loop 1.6x slower on the paper network's 68 M weights).
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      const g = grad[i]! + decay * xi;
      const mi = Math.fround(beta1 * m[i]! + (1 - beta1) * g);
      const vi = Math.fround(beta2 * v[i]! + (1 - beta2) * g * g);
      m[i] = mi;
      v[i] = vi;
      out[i] = xi - (mi / (Math.sqrt(vi) / correction2 + epsilon)) * stepSize;
    }
  }

  state(): AdamState {
    const copy = (moments: Map<string, Float32Array>): HostWeights =>
      new Map([...moments].map(([name, values]) => [name, { shape: this.shapes.get(name)!, values: values.slice() }]));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }
}
