/**
 * The native build of our convolution kernels and Adam (lib/model/native/: AVX2 + FMA, several threads),
 * compiled at install by build-native.ts where a C compiler and Node's headers are found. Null
 * where it was not built, cannot load, the CPU lacks AVX2 or FMA, or DAG_NATIVE_KERNELS=off:
 * the WebAssembly build then runs (lib/model/wasm-simd-kernels.ts), and `nativeStatus` says why.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { NATIVE_ADDON, NATIVE_REPORT, type NativeBuildReport } from "./native/paths.js";

/** Pointers are byte offsets into `heap` (the wasm backend's memory); the last argument is the thread count. */
export interface NativeAddon {
  available(): boolean;
  conv2d(heap: ArrayBuffer, ...args: number[]): void;
  filterGrad(heap: ArrayBuffer, ...args: number[]): void;
  inputGrad(heap: ArrayBuffer, ...args: number[]): void;
  matmul(heap: ArrayBuffer, ...args: number[]): void;
  /** One Adam step (lib/model/parallel/host-adam.ts): x, grad, m, v and out (which may be x) of one length. */
  adam(x: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, decay: number, beta1: number, beta2: number,
    epsilon: number, stepSize: number, correction2: number, threads: number): void;
}

/** Environment variable that turns the native kernels off (`off`), e.g. to compare with the wasm ones. */
export const NATIVE_ENV = "DAG_NATIVE_KERNELS";

let loaded: { addon: NativeAddon | null; status: string } | undefined;

function load(): { addon: NativeAddon | null; status: string } {
  const file = fileURLToPath(NATIVE_ADDON);
  if (!existsSync(file)) {
    let why = "not built";
    try {
      why = `not built at install: ${(JSON.parse(readFileSync(fileURLToPath(NATIVE_REPORT), "utf8")) as NativeBuildReport).reason}`;
    } catch {
      // no report either: the build step never ran (npm run build makes both)
    }
    return { addon: null, status: why };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    if (!addon.available()) return { addon: null, status: "this CPU lacks AVX2 or FMA" };
    return { addon, status: "AVX2 + FMA" };
  } catch (error) {
    return { addon: null, status: `failed to load: ${(error as Error).message.split("\n")[0]} (npm run build rebuilds it)` };
  }
}

/** Read at every call, so that a test (or a long-lived process) can turn the native kernels off and on. */
const turnedOff = () => process.env[NATIVE_ENV] === "off";

/** The native kernels, or null (see nativeStatus). */
export function nativeConvolutions(): NativeAddon | null {
  if (turnedOff()) return null;
  loaded ??= load();
  return loaded.addon;
}

/** What the native kernels are here: "AVX2 + FMA", or why they do not run. */
export function nativeStatus(): string {
  if (turnedOff()) return `turned off (${NATIVE_ENV}=off)`;
  loaded ??= load();
  return loaded.status;
}

let threads = 1;

/** Threads each native kernel call shares its work among (1 in data-parallel workers, which are parallel already). */
export function setNativeThreads(count: number): void {
  threads = Math.max(1, Math.floor(count));
}

export const nativeThreads = (): number => threads;
