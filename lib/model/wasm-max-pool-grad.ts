/**
 * MaxPoolGrad for the wasm backend, straight on the wasm heap (no copies): for every output
 * cell, find its window's first maximum and add dy there; in our SIMD kernel
 * (lib/model/wasm-simd/kernels.c), or in JavaScript where that cannot run. TF.js 4.22's own wasm
 * kernel visits every input cell and, for each, every window covering it: 11 % of a default
 * training step, about 9x this one's time. The maximum is the first in row-major order, as in the
 * cpu backend, which matters after a ReLU (windows of zeros).
 */
import { backend_util, type KernelBackend, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { heapAddress, simdKernels, type SimdKernels } from "./wasm-simd-kernels.js";

export interface MaxPoolGradArgs {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: KernelBackend;
  attrs: { filterSize: number | [number, number]; strides: number | [number, number]; pad: "valid" | "same" | number | backend_util.ExplicitPadding; dimRoundingMode?: "floor" | "round" | "ceil" };
}

const poolInfo = ({ inputs, attrs }: MaxPoolGradArgs): backend_util.Conv2DInfo =>
  backend_util.computePool2DInfo(inputs.input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);

/** Our SIMD kernel where it runs (4 channels at a time, about 5x the loop below), else the loop. */
export function maxPoolGradWasm(args: MaxPoolGradArgs): TensorInfo {
  const kernels = simdKernels(args.backend as WasmBackend);
  return kernels ? maxPoolGradSimd(args, kernels) : maxPoolGradLoop(args);
}

export function maxPoolGradSimd(args: MaxPoolGradArgs, kernels: SimdKernels): TensorInfo {
  const heap = args.backend as WasmBackend;
  const { dy, input } = args.inputs;
  const info = poolInfo(args);
  const out = heap.makeOutput(input.shape, "float32");
  heap.typedArrayFromHeap(out).fill(0);
  kernels.max_pool_grad(heapAddress(heap, input), heapAddress(heap, dy), heapAddress(heap, out), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return out;
}

export function maxPoolGradLoop(args: MaxPoolGradArgs): TensorInfo {
  const { dy, input } = args.inputs;
  const heap = args.backend as WasmBackend;
  const info = poolInfo(args);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const out = heap.makeOutput(input.shape, "float32");
  // Views after the allocation: it may have grown (and so replaced) the heap's buffer.
  const dx = heap.typedArrayFromHeap(out);
  const x = heap.typedArrayFromHeap(input);
  const g = heap.typedArrayFromHeap(dy);
  dx.fill(0);
  for (let b = 0; b < n; b++) {
    const xb = b * h * w * c;
    for (let r = 0; r < oh; r++) {
      const r0 = r * sh - top;
      const rFrom = Math.max(0, r0);
      const rTo = Math.min(h, r0 + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = q * sw - left;
        const qFrom = Math.max(0, q0);
        const qTo = Math.min(w, q0 + fw);
        const gy = ((b * oh + r) * ow + q) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let i = rFrom; i < rTo; i++) {
            for (let j = qFrom; j < qTo; j++) {
              const k = xb + (i * w + j) * c + ch;
              const v = x[k]!;
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) dx[at] = dx[at]! + g[gy + ch]!;
        }
      }
    }
  }
  return out;
}
