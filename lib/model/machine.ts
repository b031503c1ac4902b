/**
 * What this machine offers training, found by cheap checks that load no TensorFlow.js: the
 * planning process calls it (lib/model/route.ts) to know which route `backend: auto` takes before
 * any task runs, and the task calls it again to check that it runs that route.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { BackendChoice } from "./backend-param.js";
import { nativeConvolutions, nativeStatus } from "./native-kernels.js";
import { wasmKernelBuild } from "./wasm-simd-kernels.js";

/** Environment variable that replaces `auto` (e.g. DAG_TFJS_BACKEND=wasm). */
export const BACKEND_ENV = "DAG_TFJS_BACKEND";

export type ConcreteBackend = Exclude<BackendChoice, "auto">;

/**
 * Whether the dynamic linker can find the Vulkan loader, through which Dawn reaches a GPU on
 * Linux: LD_LIBRARY_PATH, then the linker cache. Unsure (no cache to read): yes, let Dawn try.
 */
export function vulkanLoaderFound(): boolean {
  const name = "libvulkan.so.1";
  if ((process.env["LD_LIBRARY_PATH"] ?? "").split(":").some((dir) => dir && existsSync(join(dir, name)))) return true;
  try {
    return readFileSync("/etc/ld.so.cache").includes(name);
  } catch {
    return true;
  }
}

/**
 * Whether the kernel offers a GPU to Vulkan at all: NVIDIA's device nodes, a DRM render node
 * (Mesa's AMD and Intel drivers), or WSL's /dev/dxg. Without one, the Vulkan drivers that a
 * desktop package pulls in (Chromium brings Mesa's) can only offer lavapipe, and Dawn says so in
 * native warnings on stderr first.
 */
export function gpuDeviceFound(dev = "/dev"): boolean {
  if (existsSync(join(dev, "nvidiactl")) || existsSync(join(dev, "dxg"))) return true;
  try {
    return readdirSync(join(dev, "dri")).some((name) => name.startsWith("renderD"));
  } catch {
    return false;
  }
}

/** Whether the CPU multiplies and adds in one rounding (relaxed SIMD's madd is then fused). Unsure: null. */
function cpuHasFma(): boolean | null {
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return null;
  }
}

const resolvable = (pkg: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

/** Our kernels on the wasm backend, by the build that runs (each rounds its own way). */
export type WasmKernels = "native-avx2-fma" | "wasm-relaxed-simd-fma" | "wasm-relaxed-simd" | "wasm-simd128" | "tfjs-wasm";

export interface Machine {
  cores: number;
  /** DAG_TFJS_BACKEND, where set. */
  backendOverride?: string;
  /** Backends that `auto` skips here, with why (webgpu: no GPU; tensorflow: not installed). */
  unavailable: Partial<Record<ConcreteBackend, string>>;
  /** The kernels the wasm backend runs here. */
  wasmKernels: WasmKernels;
  /** Why the native kernels do not run here ("AVX2 + FMA" where they do). */
  native: string;
}

/** The GPU backend's cheap preconditions; Dawn itself may still find only a software adapter. */
function webgpuUnavailable(): string | undefined {
  if (!resolvable("webgpu")) return "the webgpu package (Dawn) is not installed";
  if (process.platform !== "linux") return undefined;
  if (!vulkanLoaderFound()) return "no Vulkan loader here (libvulkan.so.1 is in neither LD_LIBRARY_PATH nor the linker cache), so Dawn cannot reach a GPU: install libvulkan1 and the GPU's Vulkan driver (DAG_TFJS_BACKEND=webgpu tries Dawn anyway)";
  if (!gpuDeviceFound()) return "no GPU device here (none of /dev/nvidiactl, /dev/dri/renderD*, /dev/dxg), so Vulkan could offer only a software adapter (DAG_TFJS_BACKEND=webgpu tries Dawn anyway)";
  return undefined;
}

function wasmKernels(): WasmKernels {
  if (nativeConvolutions()) return "native-avx2-fma";
  const build = wasmKernelBuild();
  if (build === "fused") return cpuHasFma() === false ? "wasm-relaxed-simd" : "wasm-relaxed-simd-fma";
  return build === "plain" ? "wasm-simd128" : "tfjs-wasm";
}

/** This machine, now (DAG_NATIVE_KERNELS and DAG_TFJS_BACKEND are read at each call). */
export function probeMachine(): Machine {
  const unavailable: Machine["unavailable"] = {};
  const webgpu = webgpuUnavailable();
  if (webgpu) unavailable.webgpu = webgpu;
  if (!resolvable("@tensorflow/tfjs-node-gpu") && !resolvable("@tensorflow/tfjs-node")) {
    unavailable.tensorflow = "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (npm install @tensorflow/tfjs-node to use it)";
  }
  const override = process.env[BACKEND_ENV];
  return {
    cores: availableParallelism(),
    ...(override ? { backendOverride: override } : {}),
    unavailable,
    wasmKernels: wasmKernels(),
    native: nativeStatus(),
  };
}
