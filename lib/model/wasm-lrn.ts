/**
 * LRN and LRNGrad for the wasm backend on our kernels (lib/model/wasm-simd/kernels.c), in
 * front of TF.js 4.22's own, which are plain loops calling pow() per element (14 % of a default
 * training step between them). Ours take beta = 3/4 only (the network's, PyTorch's default);
 * any other beta, or an engine where our module cannot run, goes to the stock kernel.
 */
import type { KernelBackend, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { heapAddress, simdKernels } from "./wasm-simd-kernels.js";

interface LrnAttrs { depthRadius: number; bias: number; alpha: number; beta: number }
export interface LrnArgs { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: LrnAttrs }
export interface LrnGradArgs { inputs: { x: TensorInfo; y: TensorInfo; dy: TensorInfo }; backend: KernelBackend; attrs: LrnAttrs }

/** Pixels and channels of a channels-last tensor. */
function layout(t: TensorInfo): [number, number] {
  const channels = t.shape.at(-1) ?? 1;
  return [t.shape.reduce((a, b) => a * b, 1) / channels, channels];
}

/** Ours, or null where the stock kernel must run. */
export function lrnSimd({ inputs: { x }, backend, attrs }: LrnArgs): TensorInfo | null {
  const heap = backend as WasmBackend;
  const kernels = simdKernels(heap);
  if (!kernels || attrs.beta !== 0.75) return null;
  const [pixels, channels] = layout(x);
  const out = heap.makeOutput(x.shape, "float32");
  const scratch = heap.makeOutput([channels + 2 * attrs.depthRadius + 4], "float32");
  try {
    kernels.lrn(heapAddress(heap, x), heapAddress(heap, out), heapAddress(heap, scratch), pixels, channels, attrs.depthRadius, attrs.bias, attrs.alpha);
  } finally {
    heap.disposeData(scratch.dataId);
  }
  return out;
}

export function lrnGradSimd({ inputs: { x, y, dy }, backend, attrs }: LrnGradArgs): TensorInfo | null {
  const heap = backend as WasmBackend;
  const kernels = simdKernels(heap);
  if (!kernels || attrs.beta !== 0.75) return null;
  const [pixels, channels] = layout(x);
  const out = heap.makeOutput(x.shape, "float32");
  const scratch = heap.makeOutput([3 * (channels + 2 * attrs.depthRadius + 4)], "float32");
  try {
    kernels.lrn_grad(heapAddress(heap, x), heapAddress(heap, y), heapAddress(heap, dy), heapAddress(heap, out), heapAddress(heap, scratch),
      pixels, channels, attrs.depthRadius, attrs.bias, attrs.alpha);
  } finally {
    heap.disposeData(scratch.dataId);
  }
  return out;
}

/** Ours in front of the stock kernel (kept for the cases ours does not take). */
export function withStockFallback<A>(ours: (args: A) => TensorInfo | null, stock: KernelFunc): KernelFunc {
  return (args) => ours(args as unknown as A) ?? (stock(args) as TensorInfo);
}
