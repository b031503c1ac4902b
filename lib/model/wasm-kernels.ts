/**
 * Kernels that training needs and @tensorflow/tfjs-backend-wasm 4.22 lacks, or has slow ones of:
 * our Conv2D (wasm-conv2d.ts; the forward pass on the gradient tape, where TF.js does not fuse),
 * Conv2DBackpropFilter (below), Conv2DBackpropInput (wasm-conv-input-grad.ts),
 * LRN and LRNGrad (wasm-lrn.ts) and MaxPoolGrad on the heap (wasm-max-pool-grad.ts) replace the
 * stock ones.
 *
 * Only `Conv2DBackpropFilter` is missing for our network (checked with
 * `missingTrainingKernels`): the wasm backend has Conv2D, Conv2DBackpropInput, MaxPool(Grad),
 * LRN(Grad), Relu, MatMul and the element-wise ops. Without it `tf.grad` of any conv2d fails on
 * wasm with "Kernel 'Conv2DBackpropFilter' not registered".
 *
 * The filter gradient dW[kh,kw,ci,co] = sum over (b,oh,ow) of
 * x[b, oh*s + kh*d - pad, ow*s + kw*d - pad, ci] * dy[b,oh,ow,co] runs in our SIMD kernel
 * (lib/model/wasm-simd/kernels.c) on the heap: 2.1x faster on the default network than the
 * route it replaced, which stays for engines without WebAssembly SIMD: reading the batch as the
 * channel axis turns the sum into Conv2D(x^T, dy^T) with the forward stride as the dilation,
 * on the wasm backend's own (XNNPACK) Conv2D, but with the batch as its only reduction per tap.
 */
import {
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  getKernelsForBackend,
  Identity,
  LRN,
  LRNGrad,
  MaxPoolGrad,
  registerKernel,
  Slice,
  unregisterKernel,
  Transpose,
  type KernelBackend,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { wasmKernelCaller, type ConvGradientAttrs, type WasmBackend } from "./wasm-backend-access.js";
import { backpropInputKernel } from "./wasm-conv-input-grad.js";
import { maxPoolGradWasm } from "./wasm-max-pool-grad.js";
import { heapAddress, simdKernels } from "./wasm-simd-kernels.js";
import { lrnGradSimd, lrnSimd, withStockFallback } from "./wasm-lrn.js";
import { conv2dKernel } from "./wasm-conv2d.js";
import { matMulKernel } from "./wasm-matmul.js";

const callKernel = wasmKernelCaller("Conv2DBackpropFilter");

/**
 * [B, H, W, C] -> [C, H, W, B] in JavaScript on the wasm heap, one pixel's B x C block at a time
 * (reads of C contiguous floats, writes of B contiguous ones, all in L1). The stock Transpose
 * took 180 ms of the 490 ms filter gradient of the default network's conv1 (temporal, batch 32);
 * this takes about a tenth of that.
 */
function swapBatchAndChannels(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const out = backend.makeOutput([c, h, w, b], "float32");
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const pixels = h * w;
  for (let p = 0; p < pixels; p++) {
    for (let i = 0; i < b; i++) {
      const from = (i * pixels + p) * c;
      for (let j = 0; j < c; j++) dst[(j * pixels + p) * b + i] = src[from + j]!;
    }
  }
  return out;
}

type Pair = [number, number];
const pair = (v: number | number[] | undefined): Pair => (v === undefined ? [1, 1] : typeof v === "number" ? [v, v] : [v[0]!, v[1]!]);

export interface BackpropFilterArgs {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: KernelBackend;
  attrs: ConvGradientAttrs & {
    filterShape: [number, number, number, number];
    /** Not among tfjs-core's attributes (its conv2d gradient refuses dilations), accepted here. */
    dilations?: number | [number, number];
  };
}

/** Conv2DBackpropFilter for the wasm backend, channels-last: returns dW [KH, KW, Ci, Co]. */
export function conv2dBackpropFilterWasm(args: BackpropFilterArgs): TensorInfo {
  if (args.attrs.dataFormat === "NCHW") throw new Error("Conv2DBackpropFilter (wasm): only channels-last (NHWC) data is supported, as by the wasm Conv2D");
  const kernels = simdKernels(args.backend as WasmBackend);
  return kernels ? conv2dBackpropFilterSimd(args, kernels) : conv2dBackpropFilterViaConv2D(args);
}

/** The convolution a filter gradient belongs to (channels-last). */
export function filterGradConvInfo({ inputs, attrs }: BackpropFilterArgs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inputs.x.shape as [number, number, number, number], attrs.filterShape, pair(attrs.strides), pair(attrs.dilations), attrs.pad, attrs.dimRoundingMode, false, "channelsLast",
  );
}

/**
 * Our SIMD kernel straight on the heap (lib/model/wasm-simd/kernels.c): no transposes, no
 * padded copies. Chunks of about 256 output positions keep a chunk's dy and x rows in cache.
 */
export function conv2dBackpropFilterSimd(args: BackpropFilterArgs, kernels: NonNullable<ReturnType<typeof simdKernels>>): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs;
  const info = filterGradConvInfo(args);
  const out = backend.makeOutput(args.attrs.filterShape, "float32");
  backend.typedArrayFromHeap(out).fill(0);
  const rows = Math.max(1, Math.ceil(256 / info.outWidth));
  kernels.conv2d_filter_grad(
    heapAddress(backend, x), heapAddress(backend, dy), heapAddress(backend, out), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left, rows,
  );
  return out;
}

/** The route where our SIMD module cannot run: XNNPACK's Conv2D with batch and channels swapped. */
export function conv2dBackpropFilterViaConv2D(args: BackpropFilterArgs): TensorInfo {
  const { inputs, backend } = args;
  const { x, dy } = inputs;
  const [sh, sw] = pair(args.attrs.strides);
  const [dh, dw] = pair(args.attrs.dilations);
  const info = filterGradConvInfo(args);
  const [, height, width] = x.shape as number[];
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  // Pad the far side just enough for the last filter tap; rows past it are never read, and any
  // surplus output rows (when the forward pass ignored the input's last rows) are sliced off.
  const bottom = Math.max(0, (kh - 1) * dh + (oh - 1) * sh - top - height! + 1);
  const right = Math.max(0, (kw - 1) * dw + (ow - 1) * sw - left - width! + 1);

  const disposable = backend as WasmBackend;
  const temporaries: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => (temporaries.push(t), t);
  try {
    const xT = keep(swapBatchAndChannels(backend as WasmBackend, x)); // [Ci, H, W, B]
    const dyT = keep(callKernel(Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] })); // [OH, OW, B, Co]
    let grad = keep(callKernel(Conv2D, backend, { x: xT, filter: dyT }, {
      strides: [dh, dw], dilations: [sh, sw], dataFormat: "NHWC", dimRoundingMode: undefined as unknown as string,
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]] as unknown as number[],
    })); // [Ci, >=KH, >=KW, Co]
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
      grad = keep(callKernel(Slice, backend, { x: grad }, { begin: [0, 0, 0, 0], size: [grad.shape[0]!, kh, kw, grad.shape[3]!] }));
    }
    return callKernel(Transpose, backend, { x: grad }, { perm: [1, 2, 0, 3] }); // [KH, KW, Ci, Co]
  } finally {
    for (const t of temporaries) disposable.disposeData(t.dataId);
  }
}

/**
 * Identity sharing the input's data (one more reference to it, as the wasm Reshape does)
 * instead of copying it. TF.js clones every tensor a gradient will need through this kernel
 * (saveTensorsForBackwardMode), and the stock wasm one copies: 116 copies of weights and
 * activations per default training step. Tensor data is never written after its kernel has
 * returned, so sharing is safe; strings go to the stock kernel.
 */
export function sharedIdentity(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs["x"]!;
    if (x.dtype === "string") return stock(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Registers our kernels for the wasm backend (once; a kernel registered already is left alone). */
export function registerWasmTrainingKernels(): void {
  if (getKernel(Conv2DBackpropFilter, "wasm")) return;
  const stockInput = getKernel(Conv2DBackpropInput, "wasm");
  if (stockInput) {
    unregisterKernel(Conv2DBackpropInput, "wasm");
    registerKernel({ kernelName: Conv2DBackpropInput, backendName: "wasm", kernelFunc: backpropInputKernel(stockInput.kernelFunc), setupFunc: stockInput.setupFunc });
  }
  for (const [name, ours] of [[LRN, lrnSimd], [LRNGrad, lrnGradSimd]] as const) {
    const stock = getKernel(name, "wasm");
    if (!stock) continue;
    unregisterKernel(name, "wasm");
    registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: withStockFallback(ours as (a: unknown) => TensorInfo | null, stock.kernelFunc), setupFunc: stock.setupFunc });
  }
  const stockConv = getKernel(Conv2D, "wasm");
  if (stockConv) {
    unregisterKernel(Conv2D, "wasm");
    registerKernel({ kernelName: Conv2D, backendName: "wasm", kernelFunc: conv2dKernel(stockConv.kernelFunc), setupFunc: stockConv.setupFunc });
  }
  const stockMatMul = getKernel(BatchMatMul, "wasm");
  if (stockMatMul) {
    unregisterKernel(BatchMatMul, "wasm");
    registerKernel({ kernelName: BatchMatMul, backendName: "wasm", kernelFunc: matMulKernel(stockMatMul.kernelFunc), setupFunc: stockMatMul.setupFunc });
  }
  const stockIdentity = getKernel(Identity, "wasm");
  if (stockIdentity) {
    unregisterKernel(Identity, "wasm");
    registerKernel({ kernelName: Identity, backendName: "wasm", kernelFunc: sharedIdentity(stockIdentity.kernelFunc) });
  }
  unregisterKernel(MaxPoolGrad, "wasm");
  registerKernel({ kernelName: MaxPoolGrad, backendName: "wasm", kernelFunc: maxPoolGradWasm as unknown as KernelFunc });
  registerKernel({
    kernelName: Conv2DBackpropFilter,
    backendName: "wasm",
    kernelFunc: conv2dBackpropFilterWasm as unknown as Parameters<typeof registerKernel>[0]["kernelFunc"],
  });
}

/**
 * The kernels one training epoch of our network runs (forward, backward, Adam, validation,
 * input resizing), as tf.profile records them; plus Transpose and Slice, which our
 * Conv2DBackpropFilter uses.
 */
export const TRAINING_KERNELS = [
  "Add", "BatchMatMul", "Cast", "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "Exp", "FusedConv2D", "Identity",
  "LRN", "LRNGrad", "Log", "Max", "MaxPool", "MaxPoolGrad", "Mean", "Multiply", "Neg", "RealDiv", "Relu", "Reshape",
  "ResizeBilinear", "Slice", "Sqrt", "Square", "Step", "Sub", "Sum", "Transpose", "ZerosLike", "_FusedMatMul",
] as const;

/** The training kernels a backend has no implementation of (empty when training can run). */
export function missingTrainingKernels(backendName: string): string[] {
  const have = new Set(getKernelsForBackend(backendName).map((k) => k.kernelName));
  return TRAINING_KERNELS.filter((k) => !have.has(k));
}
