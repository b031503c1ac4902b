/**
 * Our kernels for TF.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu 4.22), registered in
 * place of the stock ones: Conv2D (the forward pass on the gradient tape, where TF.js does not
 * fuse bias and ReLU) and Conv2DBackpropFilter as implicit GEMMs (webgpu-conv.ts), LRN and
 * LRNGrad (webgpu-lrn.ts). Channels-first convolutions go to the stock kernels (our network is
 * channels-last throughout).
 */
import { Conv2D, Conv2DBackpropFilter, getKernel, getKernelsForBackend, LRN, LRNGrad, registerKernel, unregisterKernel, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { conv2dWebgpu, filterGradWebgpu } from "./webgpu-conv.js";
import { conv2dInfo, type Conv2DArgs } from "./wasm-conv2d.js";
import { lrnGradWebgpu, lrnWebgpu } from "./webgpu-lrn.js";
import { filterGradConvInfo, type BackpropFilterArgs } from "./wasm-kernels.js";

/** Ours for channels-last data; the stock kernel, kept inside, for channels-first. */
function channelsLast<A extends { attrs: { dataFormat?: string }; backend: unknown }>(ours: (args: A, backend: WebGPUBackend) => TensorInfo) {
  return (stock: KernelFunc): KernelFunc => (args) => {
    const typed = args as unknown as A;
    return typed.attrs.dataFormat === "NCHW" ? stock(args) : ours(typed, typed.backend as WebGPUBackend);
  };
}

/** Marks our kernels as registered. */
const OURS = Symbol.for("zebrafish-dag/webgpu-kernels");

const REPLACEMENTS: [string, (stock: KernelFunc) => KernelFunc][] = [
  [Conv2D, channelsLast((a: Conv2DArgs, backend) => conv2dWebgpu(backend, a.inputs.x, a.inputs.filter, conv2dInfo(a)))],
  [Conv2DBackpropFilter, channelsLast((a: BackpropFilterArgs, backend) => filterGradWebgpu(backend, a.inputs.x, a.inputs.dy, filterGradConvInfo(a)))],
  [LRN, () => lrnWebgpu as unknown as KernelFunc],
  [LRNGrad, () => lrnGradWebgpu as unknown as KernelFunc],
];

/** Registers our kernels for the webgpu backend (once; the package must be imported first). */
export function registerWebgpuTrainingKernels(): void {
  for (const [name, make] of REPLACEMENTS) {
    const stock = getKernel(name, "webgpu");
    if (!stock || (stock.kernelFunc as { [OURS]?: boolean })[OURS]) continue;
    unregisterKernel(name, "webgpu");
    registerKernel({ kernelName: name, backendName: "webgpu", kernelFunc: Object.assign(make(stock.kernelFunc), { [OURS]: true }), setupFunc: stock.setupFunc });
  }
}

/** The webgpu kernels that are ours now (for the tests and the log). */
export function ourWebgpuKernels(): string[] {
  return getKernelsForBackend("webgpu").filter((k) => (k.kernelFunc as { [OURS]?: boolean })[OURS]).map((k) => k.kernelName);
}
