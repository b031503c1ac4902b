/**
 * Our kernels for TF.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu 4.22), registered in
 * place of the stock ones: Conv2D (the forward pass on the gradient tape, where TF.js does not
 * fuse bias and ReLU) and Conv2DBackpropFilter as implicit GEMMs (webgpu-conv.ts), LRN and
 * LRNGrad (webgpu-lrn.ts). Channels-first convolutions go to the stock kernels (our network is
 * channels-last throughout).
 */
import { Conv2D, Conv2DBackpropFilter, getKernel, getKernelsForBackend, LRN, LRNGrad, registerKernel, unregisterKernel, type KernelFunc } from "@tensorflow/tfjs-core";
import type { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { conv2dWebgpu, filterGradWebgpu } from "./webgpu-conv.js";
import { conv2dInfo, type Conv2DArgs } from "./wasm-conv2d.js";
import { lrnGradWebgpu, lrnWebgpu } from "./webgpu-lrn.js";
import { filterGradConvInfo, type BackpropFilterArgs } from "./wasm-kernels.js";

function backpropFilter(stock: KernelFunc): KernelFunc {
  return (args) => {
    const ours = args as unknown as BackpropFilterArgs;
    if (ours.attrs.dataFormat === "NCHW") return stock(args);
    return filterGradWebgpu(ours.backend as unknown as WebGPUBackend, ours.inputs.x, ours.inputs.dy, filterGradConvInfo(ours));
  };
}

function forward(stock: KernelFunc): KernelFunc {
  return (args) => {
    const ours = args as unknown as Conv2DArgs;
    if (ours.attrs.dataFormat === "NCHW") return stock(args);
    return conv2dWebgpu(ours.backend as unknown as WebGPUBackend, ours.inputs.x, ours.inputs.filter, conv2dInfo(ours));
  };
}

/** Marks our kernels as registered (the stock ones are kept inside them for channels-first data). */
const OURS = Symbol.for("zebrafish-dag/webgpu-kernels");

const REPLACEMENTS: [string, (stock: KernelFunc) => KernelFunc][] = [
  [Conv2D, forward],
  [Conv2DBackpropFilter, backpropFilter],
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
