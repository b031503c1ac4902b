/**
 * Conv2DBackpropInput for the wasm backend: our SIMD kernel, or where that cannot run, XNNPACK's
 * Conv2D. TF.js 4.22's own wasm kernel is a plain loop nest (6 nested loops, no SIMD, no
 * blocking): 16 % of a default training step.
 *
 * The XNNPACK route:
 * The input gradient is a convolution of dy with the filter turned 180 degrees and its channel
 * axes swapped: dx[b,i,j,ci] = sum over (kh,kw,co) of dy[b,oh,ow,co] * W[kh,kw,ci,co] where
 * i = oh*s + kh*d - top. For stride s > 1, dy is first spread out with s-1 zeros between its
 * samples (the multiplications by those zeros are the price of using the SIMD GEMM). Padding
 * becomes (KH-1)*d - top before and whatever makes the output H rows after; where that would be
 * negative (padding wider than the filter) the stock kernel runs.
 */
import {
  backend_util,
  Conv2D,
  PadV2,
  Reshape,
  Reverse,
  Slice,
  Transpose,
  type KernelBackend,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { wasmKernelCaller, type ConvGradientAttrs, type WasmBackend } from "./wasm-backend-access.js";
import { heapAddress, simdKernels, type SimdVariant } from "./wasm-simd-kernels.js";

const callKernel = wasmKernelCaller("Conv2DBackpropInput");

export interface BackpropInputArgs {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: KernelBackend;
  attrs: ConvGradientAttrs & { inputShape: [number, number, number, number] };
}

/** The XNNPACK route, or null where its padding would be negative (the caller then runs the stock kernel). */
export function conv2dBackpropInputViaConv2D({ inputs, backend, attrs }: BackpropInputArgs): TensorInfo | null {
  const { dy, filter } = inputs;
  if (attrs.dataFormat === "NCHW") return null;
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const spreadH = (oh - 1) * sh + 1;
  const spreadW = (ow - 1) * sw + 1;
  const before = [kh - 1 - top, kw - 1 - left];
  const after = [h - spreadH + top, w - spreadW + left];
  if (Math.min(...before, ...after) < 0) return null;

  const temporaries: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => (temporaries.push(t), t);
  try {
    let spread = dy;
    if (sh > 1 || sw > 1) {
      // [N, OH, 1, OW, 1, Co] padded to [N, OH, sh, OW, sw, Co], then the trailing zeros cut.
      const six = keep(callKernel(Reshape, backend, { x: dy }, { shape: [n, oh, 1, ow, 1, co] }));
      const padded = keep(callKernel(PadV2, backend, { x: six }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 }));
      const flat = keep(callKernel(Reshape, backend, { x: padded }, { shape: [n, oh * sh, ow * sw, co] }));
      spread = keep(callKernel(Slice, backend, { x: flat }, { begin: [0, 0, 0, 0], size: [n, spreadH, spreadW, co] }));
    }
    const swapped = keep(callKernel(Transpose, backend, { x: filter }, { perm: [0, 1, 3, 2] })); // [KH, KW, Co, Ci]
    const turned = keep(callKernel(Reverse, backend, { x: swapped }, { dims: [0, 1] }));
    return callKernel(Conv2D, backend, { x: spread, filter: turned }, {
      strides: [1, 1], dilations: [1, 1], dataFormat: "NHWC", dimRoundingMode: undefined as unknown as string,
      pad: [[0, 0], [before[0]!, after[0]!], [before[1]!, after[1]!], [0, 0]] as unknown as number[],
    });
  } finally {
    for (const t of temporaries) if (t !== dy) (backend as WasmBackend).disposeData(t.dataId);
  }
}

/**
 * Our SIMD kernel (lib/model/wasm-simd/kernels.c conv2d_input_grad), gathering each input
 * pixel's taps: no spread-out dy, so a stride of 2 does not multiply 3 zeros for every value,
 * and no transposed or turned filter tensors. Null where our module cannot run or for NCHW.
 */
export function conv2dBackpropInputSimd({ inputs, backend, attrs }: BackpropInputArgs, variant?: SimdVariant): TensorInfo | null {
  const heap = backend as WasmBackend;
  const kernels = simdKernels(heap, variant);
  if (!kernels || attrs.dataFormat === "NCHW") return null;
  const { dy, filter } = inputs;
  const info = backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, "channelsLast");
  const out = heap.makeOutput(attrs.inputShape, "float32");
  const turned = heap.makeOutput(filter.shape, "float32"); // the filter as [KH, KW, Co, Ci]
  // dy with zero rows and columns wherever a tap of some input pixel falls outside it: every
  // pixel then takes the 4-pixel register blocks (the default network's 5 x 5 layers had none).
  const rows = zeroBorder(info.inHeight, info.outHeight, info.filterHeight, info.strideHeight, info.padInfo.top);
  const cols = zeroBorder(info.inWidth, info.outWidth, info.filterWidth, info.strideWidth, info.padInfo.left);
  const padded = rows.before || rows.after || cols.before || cols.after
    ? heap.makeOutput([info.batchSize, info.outHeight + rows.before + rows.after, info.outWidth + cols.before + cols.after, info.outChannels], "float32")
    : null;
  try {
    if (padded) {
      kernels.pad_input(heapAddress(heap, dy), heapAddress(heap, padded), info.batchSize, info.outHeight, info.outWidth, info.outChannels,
        rows.before, rows.after, cols.before, cols.after);
    }
    const [source, outHeight, outWidth] = padded ? [padded, padded.shape[1]!, padded.shape[2]!] : [dy, info.outHeight, info.outWidth];
    kernels.conv2d_input_grad(heapAddress(heap, source), heapAddress(heap, filter), heapAddress(heap, out), heapAddress(heap, turned), info.batchSize,
      info.inHeight, info.inWidth, info.inChannels, outHeight, outWidth, info.outChannels, info.filterHeight, info.filterWidth,
      info.strideHeight, info.strideWidth, info.padInfo.top + rows.before * info.strideHeight, info.padInfo.left + cols.before * info.strideWidth);
  } finally {
    heap.disposeData(turned.dataId);
    if (padded) heap.disposeData(padded.dataId);
  }
  return out;
}

/**
 * Zero cells to add to dy before and after, along one axis, so that every tap of every input
 * pixel (i + pad - k = o * stride, k < kernel) lands on a cell: before for i = 0 and the
 * widest tap, after for the last pixel and tap 0. Zeros add 0 * w to a sum: no result changes.
 */
function zeroBorder(inSize: number, outSize: number, kernel: number, stride: number, pad: number): { before: number; after: number } {
  const before = Math.max(0, Math.ceil((kernel - 1 - pad) / stride));
  const after = Math.max(0, Math.floor((inSize - 1 + pad) / stride) + 1 - outSize);
  return { before, after };
}

/** Our kernels in front of the stock one (kept for the shapes and engines ours do not take). */
export function backpropInputKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const a = args as unknown as BackpropInputArgs;
    return conv2dBackpropInputSimd(a) ?? conv2dBackpropInputViaConv2D(a) ?? (stock(args) as TensorInfo);
  };
}
