/**
 * Conv2D for the wasm backend on our SIMD kernel (lib/model/wasm-simd/kernels.c conv2d), in
 * front of TF.js's XNNPACK one. Channels-last only; NCHW, or an engine where our module cannot
 * run, goes to the stock kernel.
 */
import { backend_util, type KernelBackend, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { heapAddress, simdKernels, type SimdVariant } from "./wasm-simd-kernels.js";

export interface Conv2DArgs {
  inputs: { x: TensorInfo; filter: TensorInfo };
  backend: KernelBackend;
  attrs: {
    strides: number | [number, number];
    pad: "valid" | "same" | number | backend_util.ExplicitPadding;
    dataFormat?: "NHWC" | "NCHW";
    dilations?: number | [number, number];
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
}

/** The channels-last convolution of Conv2D's arguments. */
export function conv2dInfo({ inputs: { x, filter }, attrs }: Conv2DArgs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast",
  );
}

export function conv2dSimd(args: Conv2DArgs, variant?: SimdVariant): TensorInfo | null {
  const { inputs: { x, filter }, backend, attrs } = args;
  const heap = backend as WasmBackend;
  const kernels = simdKernels(heap, variant);
  if (!kernels || attrs.dataFormat === "NCHW") return null;
  const info = conv2dInfo(args);
  const out = heap.makeOutput(info.outShape, "float32");
  const packed = heap.makeOutput(filter.shape, "float32");
  // Padded layers read a zero-padded copy: their border pixels then take the 4-pixel register
  // blocks too (the default network's 5 x 5 layers were all border: 2.5x slower per MAC).
  const { top, bottom, left, right } = info.padInfo;
  const padded = top || bottom || left || right
    ? heap.makeOutput([info.batchSize, info.inHeight + top + bottom, info.inWidth + left + right, info.inChannels], "float32")
    : null;
  try {
    if (padded) {
      kernels.pad_input(heapAddress(heap, x), heapAddress(heap, padded), info.batchSize, info.inHeight, info.inWidth, info.inChannels, top, bottom, left, right);
    }
    const [source, height, width] = padded ? [padded, padded.shape[1]!, padded.shape[2]!] : [x, info.inHeight, info.inWidth];
    kernels.conv2d(heapAddress(heap, source), heapAddress(heap, filter), heapAddress(heap, out), heapAddress(heap, packed), info.batchSize, height, width,
      info.inChannels, info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
      info.dilationHeight, info.dilationWidth, padded ? 0 : top, padded ? 0 : left);
  } finally {
    heap.disposeData(packed.dataId);
    if (padded) heap.disposeData(padded.dataId);
  }
  return out;
}

/** Ours in front of the stock kernel. */
export const conv2dKernel = (stock: KernelFunc): KernelFunc => (args) => conv2dSimd(args as unknown as Conv2DArgs) ?? (stock(args) as TensorInfo);
