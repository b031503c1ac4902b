/**
 * MaxPoolGrad for the wasm backend, in JavaScript straight on the wasm heap (no copies): for
 * every output cell, find its window's first maximum and add dy there. TF.js 4.22's own wasm
 * kernel visits every input cell and, for each, every window covering it: 11 % of a default
 * training step, about 9x this one's time. The maximum is the first in row-major order, as in the
 * cpu backend, which matters after a ReLU (windows of zeros).
 */
import { backend_util, type KernelBackend, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";


export interface MaxPoolGradArgs {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: KernelBackend;
  attrs: { filterSize: number | [number, number]; strides: number | [number, number]; pad: "valid" | "same" | number | backend_util.ExplicitPadding; dimRoundingMode?: "floor" | "round" | "ceil" };
}

export function maxPoolGradWasm({ inputs, backend, attrs }: MaxPoolGradArgs): TensorInfo {
  const { dy, input } = inputs;
  const heap = backend as WasmBackend;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
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
