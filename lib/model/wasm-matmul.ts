/**
 * BatchMatMul for the wasm backend. Products without a transposed left operand (the dense
 * layers' forward pass, and their input gradient dx = dy W^T) run our kernel on the heap
 * (wasm-simd/convolutions.c matmul, native where built). TF.js 4.22's wasm kernel takes
 * XNNPACK's fully connected operator, which repacks the weights on every call since they change
 * every step, or with a transposed operand a naive triple loop: the paper network's fc6 forward
 * (4 x 12800 by 12800 x 4096) took 1098 ms and its dx 322 ms; ours natively on 2 threads 38 and
 * 10 ms. A dense layer's weight gradient (dW = x^T dy, the left operand transposed) transposes
 * x first (the stock Transpose) and multiplies on XNNPACK: 26 ms for fc6. Batched products stay
 * stock.
 */
import { BatchMatMul, Transpose, type KernelBackend, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callWasmKernel, type WasmBackend } from "./wasm-backend-access.js";
import { heapAddress, simdKernels, type SimdVariant } from "./wasm-simd-kernels.js";

export interface MatMulArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: KernelBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
}

const batchOf = (t: TensorInfo) => t.shape.slice(0, -2).reduce((p, q) => p * q, 1);

export function matMulTransposedAViaXnnpack({ inputs: { a, b }, backend, attrs }: MatMulArgs, stock: KernelFunc): TensorInfo | null {
  if (!attrs.transposeA || attrs.transposeB || batchOf(a) !== 1 || batchOf(b) !== 1) return null;
  const perm = a.shape.map((_, i) => i);
  perm.splice(-2, 2, perm.length - 1, perm.length - 2);
  const aT = callWasmKernel(Transpose, backend, { x: a }, { perm }, BatchMatMul);
  try {
    return stock({ inputs: { a: aT, b }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  } finally {
    (backend as WasmBackend).disposeData(aT.dataId);
  }
}

/** a [.., m, k] times b [.., k, n] (or b [.., n, k] transposed) on our kernel, one product (batch 1) of float32 only; null otherwise. */
export function matMulSimd({ inputs: { a, b }, backend, attrs }: MatMulArgs, variant?: SimdVariant): TensorInfo | null {
  const heap = backend as WasmBackend;
  const kernels = simdKernels(heap, variant);
  if (!kernels || attrs.transposeA || batchOf(a) !== 1 || batchOf(b) !== 1 || a.dtype !== "float32" || b.dtype !== "float32") return null;
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(attrs.transposeB ? -2 : -1)!;
  if (b.shape.at(attrs.transposeB ? -1 : -2) !== k) return null; // the stock kernel's error
  const out = heap.makeOutput([...a.shape.slice(0, -2), m, n], "float32");
  kernels.matmul(heapAddress(heap, a), heapAddress(heap, b), heapAddress(heap, out), m, k, n, attrs.transposeB ? 1 : 0);
  return out;
}

export const matMulKernel = (stock: KernelFunc): KernelFunc => (args) =>
  matMulSimd(args as unknown as MatMulArgs) ?? matMulTransposedAViaXnnpack(args as unknown as MatMulArgs, stock) ?? (stock(args) as TensorInfo);
