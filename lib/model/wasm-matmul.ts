/**
 * BatchMatMul for the wasm backend with the left operand transposed. TF.js 4.22's wasm kernel
 * takes XNNPACK's fully connected operator only without transposes and with a batch of 1;
 * with either flag it runs a naive triple loop. A dense layer's weight gradient is such a
 * product (dW = x^T dy: the paper's fc6, 4 x 18432 by 4 x 4096, 1158 ms): transposing x first
 * (the stock Transpose) and multiplying on XNNPACK takes 177 ms. Not for a transposed right
 * operand (dx = dy W^T): XNNPACK repacks the whole weight matrix on every call, which for a
 * batch of 4 costs more than the naive loop (3490 vs 549 ms), so that stays stock, as do
 * batched products.
 */
import { BatchMatMul, Transpose, type KernelBackend, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import { callWasmKernel, type WasmBackend } from "./wasm-backend-access.js";

interface MatMulArgs {
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

export const matMulKernel = (stock: KernelFunc): KernelFunc => (args) =>
  matMulTransposedAViaXnnpack(args as unknown as MatMulArgs, stock) ?? (stock(args) as TensorInfo);
