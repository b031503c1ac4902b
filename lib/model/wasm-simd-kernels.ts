/**
 * Our WebAssembly SIMD kernels (lib/model/wasm-simd/kernels.c), instantiated on the TF.js wasm
 * backend's own memory so that they read and write its tensors in place. Null where that cannot
 * be done (no WebAssembly SIMD, or a wasm backend build that does not expose its memory): the
 * callers then take their XNNPACK route.
 *
 * Two builds of the same kernels: `fused` uses relaxed SIMD's multiply-add, one FMA instruction
 * per multiply-add where the CPU has FMA (1.2-1.3x the convolutions' throughput here, see
 * docs/benchmarks-train.md); `plain` is 128-bit SIMD alone. Node 20's V8 has relaxed SIMD
 * behind --experimental-wasm-relaxed-simd, which is set here when the engine lacks it (it is on
 * by default from Node 22). The fused build rounds once per multiply-add, so its sums differ in
 * the last bits from the plain build's; on one machine every run gives the same bits.
 *
 * `native` is the fused build with the three convolutions and the matrix product replaced by their native AVX2 build
 * (native-kernels.ts), on the same heap: twice the vector width, and several threads.
 */
import { setFlagsFromString } from "node:v8";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from "./wasm-simd/kernels-wasm.js";
import { nativeConvolutions, nativeThreads, type NativeAddon } from "./native-kernels.js";

interface Exports {
  conv2d_filter_grad(x: number, dy: number, dw: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number, co: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, dilationH: number, dilationW: number, top: number, left: number, rows: number): void;
  conv2d_input_grad(dy: number, w: number, dx: number, turned: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number,
    co: number, kernelH: number, kernelW: number, strideH: number, strideW: number, top: number, left: number): void;
  conv2d(x: number, w: number, y: number, packed: number, batch: number, height: number, width: number, ci: number, outHeight: number, outWidth: number, co: number,
    kernelH: number, kernelW: number, strideH: number, strideW: number, dilationH: number, dilationW: number, top: number, left: number): void;
  matmul(a: number, b: number, out: number, m: number, k: number, n: number, transposeB: number): void;
  pad_input(x: number, out: number, batch: number, height: number, width: number, channels: number, top: number, bottom: number, left: number, right: number): void;
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
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export type SimdVariant = "native" | WasmVariant;
type WasmVariant = "fused" | "plain";
const BUILDS: Record<WasmVariant, string> = { fused: KERNELS_RELAXED_WASM_BASE64, plain: KERNELS_WASM_BASE64 };

const compiled = new Map<WasmVariant, object | null>();
const instances: Record<SimdVariant, WeakMap<object, Exports>> = { native: new WeakMap(), fused: new WeakMap(), plain: new WeakMap() };

function compile(variant: WasmVariant): object | null {
  const bytes = Buffer.from(BUILDS[variant], "base64");
  if (variant === "fused" && !wasmApi.validate(bytes)) setFlagsFromString("--experimental-wasm-relaxed-simd");
  try {
    return new wasmApi.Module(bytes);
  } catch {
    return null; // no WebAssembly SIMD (or relaxed SIMD) in this engine
  }
}

function module(variant: WasmVariant): object | null {
  if (!compiled.has(variant)) compiled.set(variant, compile(variant));
  return compiled.get(variant) ?? null;
}

const wasmVariant = (): WasmVariant => (module("fused") ? "fused" : "plain");

/** The build of our kernels this engine can run: fused (relaxed SIMD), plain (SIMD128), or none (no WebAssembly SIMD). */
export const wasmKernelBuild = (): WasmVariant | null => (module("fused") ? "fused" : module("plain") ? "plain" : null);

/** The build the kernels run: native where it was built and runs here, else fused where this engine takes relaxed SIMD, else plain. */
export const simdVariant = (): SimdVariant => (nativeConvolutions() ? "native" : wasmVariant());

interface Memory {
  readonly buffer: ArrayBuffer;
}

function heapMemory(backend: WasmBackend): Memory | null {
  const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
  return memory instanceof wasmApi.Memory ? (memory as Memory) : null;
}

/** The wasm kernels with the convolutions native; the heap's buffer is read at each call (growing the heap replaces it). */
const withNative = (exports: Exports, memory: Memory, native: NativeAddon): Exports => ({
  ...exports,
  conv2d: (...args) => native.conv2d(memory.buffer, ...args, nativeThreads()),
  conv2d_filter_grad: (...args) => native.filterGrad(memory.buffer, ...args, nativeThreads()),
  conv2d_input_grad: (...args) => native.inputGrad(memory.buffer, ...args, nativeThreads()),
  matmul: (...args) => native.matmul(memory.buffer, ...args, nativeThreads()),
});

/** The kernels on this backend's heap, or null where they cannot run. */
export type SimdKernels = Exports;

export function simdKernels(backend: WasmBackend, variant: SimdVariant = simdVariant()): Exports | null {
  const memory = heapMemory(backend);
  if (!memory) return null;
  const native = variant === "native" ? nativeConvolutions() : null;
  if (variant === "native" && !native) return null;
  const known = instances[variant].get(memory);
  if (known) return known;
  const build = variant === "native" ? wasmVariant() : variant;
  const compiledModule = module(build);
  if (!compiledModule) return null;
  const wasm = instances[build].get(memory) ?? (new wasmApi.Instance(compiledModule, { env: { memory } }).exports as unknown as Exports);
  instances[build].set(memory, wasm);
  const exports = native ? withNative(wasm, memory, native) : wasm;
  instances[variant].set(memory, exports);
  return exports;
}

/** The byte address of a tensor's data on the heap. */
export const heapAddress = (backend: WasmBackend, t: TensorInfo): number => backend.typedArrayFromHeap(t).byteOffset;
