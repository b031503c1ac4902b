/**
 * Our WebAssembly SIMD kernels (lib/model/wasm-simd/kernels.c), instantiated on the TF.js wasm
 * backend's own memory so that they read and write its tensors in place. Null where that cannot
 * be done (no WebAssembly SIMD, or a wasm backend build that does not expose its memory): the
 * callers then take their XNNPACK route.
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { KERNELS_WASM_BASE64 } from "./wasm-simd/kernels-wasm.js";

interface Exports {
  conv2d_filter_grad(x: number, dy: number, dw: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number, co: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, dilationH: number, dilationW: number, top: number, left: number, rows: number): void;
  conv2d_input_grad(dy: number, w: number, dx: number, turned: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number,
    co: number, kernelH: number, kernelW: number, strideH: number, strideW: number, top: number, left: number): void;
  conv2d(x: number, w: number, y: number, packed: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number, co: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, dilationH: number, dilationW: number, top: number, left: number): void;
  lrn(x: number, y: number, scratch: number, pixels: number, channels: number, radius: number, bias: number, alpha: number): void;
  prepare_flow(flow: number, offset: number, step: number, out: number, channels: number, rows: number, cols: number, size: number, top: number, left: number, flip: number): void;
  max_pool_grad(x: number, dy: number, dx: number, batch: number, height: number, width: number, channels: number, outHeight: number, outWidth: number,
    filterH: number, filterW: number, strideH: number, strideW: number, top: number, left: number): void;
  lrn_grad(x: number, y: number, dy: number, dx: number, scratch: number, pixels: number, channels: number, radius: number, bias: number, alpha: number): void;
}

/** The part of the WebAssembly JS API used here (this project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: object | null | undefined;
const instances = new WeakMap<object, Exports>();

function heapMemory(backend: WasmBackend): object | null {
  const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof wasmApi.Memory ? memory : null;
}

/** The kernels on this backend's heap, or null where they cannot run. */
export type SimdKernels = Exports;

export function simdKernels(backend: WasmBackend): Exports | null {
  const memory = heapMemory(backend);
  if (!memory) return null;
  const known = instances.get(memory);
  if (known) return known;
  if (compiled === undefined) {
    try {
      compiled = new wasmApi.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
    } catch {
      compiled = null; // no WebAssembly SIMD in this engine
    }
  }
  if (!compiled) return null;
  const exports = new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as Exports;
  instances.set(memory, exports);
  return exports;
}

/** The byte address of a tensor's data on the heap. */
export const heapAddress = (backend: WasmBackend, t: TensorInfo): number => backend.typedArrayFromHeap(t).byteOffset;
