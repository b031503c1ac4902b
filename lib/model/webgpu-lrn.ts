/**
 * LRN and LRNGrad in WGSL for TF.js's WebGPU backend, one invocation per element, each reading
 * only its channel window.
 *
 * TF.js 4.22's LRN (radius <= 16) gives every pixel a workgroup of 256 invocations and uses
 * 256 - 32 of them for channels, so a layer of 16 or 32 channels (the default network) leaves
 * 93 % or 86 % of them idle; its LRNGrad loops over every channel pair of a pixel for each
 * element, O(C^2) per element (256 channels in the paper's conv2: 65,536 steps where 25 do).
 *
 *   n[k]  = bias + alpha * sum over |j - k| <= r of x[j]^2
 *   y[k]  = x[k] * n[k]^-beta
 *   dx[k] = dy[k] * n[k]^-beta - 2 alpha beta x[k] * sum over |o - k| <= r of dy[o] y[o] / n[o]
 *
 * (the cpu backend's gradient, regrouped as in lib/model/wasm-simd/kernels.c).
 */
import type { KernelBackend, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import { FLAT_WORKGROUP, flatDispatch } from "./webgpu-dispatch.js";

interface LrnAttrs { depthRadius: number; bias: number; alpha: number; beta: number }
export interface LrnArgs { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: LrnAttrs }
export interface LrnGradArgs { inputs: { x: TensorInfo; y: TensorInfo; dy: TensorInfo }; backend: KernelBackend; attrs: LrnAttrs }

/** WGSL: n[k] of the pixel whose channel 0 is at `base` (x read from the array named `x`). */
const NORMALISER = `
  fn normaliser(base : i32, k : i32, channels : i32) -> f32 {
    var sum = 0.0;
    for (var j = max(k - uniforms.radius, 0); j <= min(k + uniforms.radius, channels - 1); j = j + 1) {
      let v = x[base + j];
      sum = sum + v * v;
    }
    return uniforms.bias + uniforms.alpha * sum;
  }
`;

/** One invocation per element of a channels-last tensor; `body` has index, channels, k (its channel) and base (its pixel's channel 0). */
abstract class PerElementProgram implements WebGPUProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  protected abstract body: string;
  uniforms = "radius : i32, bias : f32, alpha : f32, beta : f32,";
  workgroupSize: [number, number, number] = [FLAT_WORKGROUP, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatDispatch(shape));
  }

  getUserCode(): string {
    return `
      ${NORMALISER}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let channels = uniforms.xShape.w;
          let k = index % channels;
          let base = index - k;
          ${this.body}
        }
      }
    `;
  }
}

class LrnProgram extends PerElementProgram {
  variableNames = ["x"];
  shaderKey = "ourLrn";
  protected body = "result[index] = x[index] * pow(normaliser(base, k, channels), -uniforms.beta);";
}

class LrnGradProgram extends PerElementProgram {
  variableNames = ["x", "y", "dy"];
  shaderKey = "ourLrnGrad";
  protected body = `
    var cross = 0.0;
    for (var o = max(k - uniforms.radius, 0); o <= min(k + uniforms.radius, channels - 1); o = o + 1) {
      cross = cross + dy[base + o] * y[base + o] / normaliser(base, o, channels);
    }
    let own = dy[index] * pow(normaliser(base, k, channels), -uniforms.beta);
    result[index] = own - 2.0 * uniforms.alpha * uniforms.beta * x[index] * cross;`;
}

function uniformData(attrs: LrnAttrs) {
  return [
    { type: "int32", data: [attrs.depthRadius] },
    { type: "float32", data: [attrs.bias] },
    { type: "float32", data: [attrs.alpha] },
    { type: "float32", data: [attrs.beta] },
  ];
}

/** Our LRN for a rank-4 channels-last tensor (the only form TF.js's LRN takes). */
export function lrnWebgpu({ inputs: { x }, backend, attrs }: LrnArgs): TensorInfo {
  return (backend as unknown as WebGPUBackend).runWebGPUProgram(new LrnProgram(x.shape), [x], "float32", uniformData(attrs));
}

export function lrnGradWebgpu({ inputs: { x, y, dy }, backend, attrs }: LrnGradArgs): TensorInfo {
  return (backend as unknown as WebGPUBackend).runWebGPUProgram(new LrnGradProgram(x.shape), [x, y, dy], "float32", uniformData(attrs));
}
