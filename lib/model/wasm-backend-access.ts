/**
 * What our wasm kernels use of the wasm backend beyond KernelBackend: its own kernels called on
 * TensorInfos (no tensors, no engine bookkeeping), freeing temporaries, and views of the heap.
 */
import { backend_util, getKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from "@tensorflow/tfjs-core";

export interface WasmBackend extends KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  /** One more reference to the data: disposeData frees it when the last one goes. */
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  /** A Float32Array over the tensor's bytes on the heap: take it after the last allocation, which may grow (and replace) the heap's buffer. */
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** Runs one of the wasm backend's own kernels; `user` names our kernel that needs it, for the error. */
export function callWasmKernel(name: string, backend: KernelBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap, user: string): TensorInfo {
  const kernel = getKernel(name, "wasm");
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel, which our ${user} needs: use the cpu backend`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/** `callWasmKernel` for one of our kernels, `user`, that runs the wasm backend's own kernels by name. */
export function wasmKernelCaller(user: string): (name: string, backend: KernelBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap) => TensorInfo {
  return (name, backend, inputs, attrs) => callWasmKernel(name, backend, inputs, attrs, user);
}

/** The attributes tfjs-core gives a convolution's gradient kernels (the shape they must return aside). */
export interface ConvGradientAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}
