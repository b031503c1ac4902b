/**
 * Picks the TensorFlow.js backend at run time: the fastest that works on this machine.
 *
 *   auto: webgpu (a hardware adapter), then tensorflow, then wasm, then cpu (the first that initialises)
 *
 * Each attempt says why it was or was not taken. train prints the reasons (about 400 characters),
 * evaluate and explain the brief form that points there; train and evaluate record them in their
 * metrics. Heavy packages are imported only when their backend is tried.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { missingTrainingKernels, registerWasmTrainingKernels } from "./wasm-kernels.js";
import { simdKernels, simdVariant } from "./wasm-simd-kernels.js";
import { nativeStatus } from "./native-kernels.js";
import { registerWebgpuTrainingKernels } from "./webgpu-kernels.js";
import type { WasmBackend } from "./wasm-backend-access.js";
import { BACKEND_CHOICES, type BackendChoice } from "./backend-param.js";

import { BACKEND_ENV, gpuDeviceFound, vulkanLoaderFound, type Machine } from "./machine.js";
import { describeRoute, type TrainingRoute } from "./route.js";

export { BACKEND_CHOICES, type BackendChoice } from "./backend-param.js";
export { BACKEND_ENV, gpuDeviceFound } from "./machine.js";

type Concrete = Exclude<BackendChoice, "auto">;

export interface BackendAttempt {
  backend: Concrete;
  ok: boolean;
  /** Why it was taken (what was found) or why not (and what would make it work). */
  reason: string;
}

export interface BackendSelection {
  requested: BackendChoice;
  /** The TensorFlow.js backend name now active ("webgpu", "tensorflow", "wasm", "cpu"). */
  backend: Concrete;
  /** Why this one, and why not each one skipped, with what would make it work. */
  reason: string;
  /** The choice in a few words, for stages after train (whose log has the reason): `wasm (auto; skipped webgpu, tensorflow)`. */
  brief: string;
  attempts: BackendAttempt[];
}

const AUTO_ORDER: Concrete[] = ["webgpu", "tensorflow", "wasm", "cpu"];

/** The kernels the wasm backend now active runs (route.ts names them), or null on another backend. */
export function activeWasmKernels(machine: Machine): string | null {
  if (tf.getBackend() !== "wasm") return null;
  return simdKernels(tf.backend() as WasmBackend) ? machine.wasmKernels : "tfjs-wasm";
}

/**
 * Activates a training route's backend (route.ts chose it when the plan was made) with auto's
 * checks where auto chose it, and checks that its kernels run here: a machine that cannot run
 * the route says why instead of training other bits under the route's key.
 */
export async function activateRoute(route: TrainingRoute, machine: Machine): Promise<BackendSelection> {
  tf.env().set("PROD", true);
  const auto = route.chosen_by === "auto";
  const cannot = (why: string) => new Error(`the training route ${describeRoute(route)} cannot run here: ${why}`);
  let reason: string;
  try {
    reason = await ATTEMPTS[route.backend](auto);
  } catch (error) {
    throw cannot(error instanceof Unavailable ? error.message : `${route.backend} failed: ${(error as Error).message.split("\n")[0]}`);
  }
  const kernels = activeWasmKernels(machine);
  if (kernels !== null && kernels !== route.kernels) throw cannot(`the wasm backend runs ${kernels} kernels here`);
  const skipped = auto ? AUTO_ORDER.slice(0, AUTO_ORDER.indexOf(route.backend)).map((backend) => ({ backend, ok: false, reason: machine.unavailable[backend] ?? "" })) : [];
  const attempts = [...skipped, { backend: route.backend, ok: true, reason }];
  const requested = route.chosen_by === "params" ? route.backend : "auto";
  const why = `${route.chosen_by === "params" ? "requested" : route.chosen_by}: ${reason}${skipped.length ? `; skipped ${skipped.map((a) => `${a.backend}: ${a.reason}`).join("; ")}` : ""}`;
  const brief = `${route.backend} (${route.chosen_by === "params" ? "requested" : route.chosen_by}${skipped.length ? `; skipped ${skipped.map((a) => a.backend).join(", ")}` : ""})`;
  return { requested, backend: route.backend, reason: why, brief, attempts };
}

/** `auto`: the backend is one of several to try (a cheap check may rule it out). */
type Attempt = (auto: boolean) => Promise<string>;

/** Thrown by an attempt that cannot work here; its message is the reason. */
class Unavailable extends Error {}

async function activate(name: string): Promise<void> {
  // setBackend resolves false (and logs) when the backend's factory fails.
  if (!(await tf.setBackend(name))) throw new Unavailable(`tf.setBackend("${name}") failed to initialise it`);
  await tf.ready();
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}

/** Dawn's WebGPU for Node (the `webgpu` package); TF.js's WebGPU backend looks for navigator.gpu. */
const tryWebgpu: Attempt = async (auto) => {
  // Without the loader or a GPU device Dawn can only fail, after printing native warnings into
  // the progress display of every training: when webgpu is one choice of several, skip it quietly.
  if (auto && process.platform === "linux" && !vulkanLoaderFound()) {
    throw new Unavailable("no Vulkan loader here (libvulkan.so.1 is in neither LD_LIBRARY_PATH nor the linker cache), so Dawn cannot reach a GPU: install libvulkan1 and the GPU's Vulkan driver (DAG_TFJS_BACKEND=webgpu tries Dawn anyway)");
  }
  if (auto && process.platform === "linux" && !gpuDeviceFound()) {
    throw new Unavailable("no GPU device here (none of /dev/nvidiactl, /dev/dri/renderD*, /dev/dxg), so Vulkan could offer only a software adapter (DAG_TFJS_BACKEND=webgpu tries Dawn anyway)");
  }
  let webgpu: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    webgpu = (await import("webgpu")) as unknown as typeof webgpu;
  } catch (error) {
    throw new Unavailable(`the webgpu package (Dawn) did not load: ${(error as Error).message.split("\n")[0]}`);
  }
  Object.assign(globalThis, webgpu.globals);
  // One Dawn instance per process, held for good: TF.js's backend keeps the device of the first
  // one, and a second instance replacing it let the first be collected under that device (Dawn
  // then aborts the process on a dead mutex).
  dawn ??= { gpu: webgpu.create([]) };
  const gpu = dawn.gpu;
  dawn.adapter ??= await gpu.requestAdapter();
  const adapter = dawn.adapter;
  if (!adapter) {
    throw new Unavailable("Dawn found no WebGPU adapter (no GPU, or no Vulkan driver: Linux needs libvulkan.so.1 and a GPU's Vulkan ICD)");
  }
  const info = (adapter as { info?: AdapterInfo }).info;
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" ") || "an adapter";
  // A software adapter (SwiftShader, lavapipe: Vulkan on the CPU) trains hundreds of times
  // slower than wasm: good for testing the WGSL kernels, not for a run that chose nothing.
  if (auto && info?.isFallbackAdapter) {
    throw new Unavailable(`Dawn found only ${name}, a software (CPU) adapter, far slower than wasm (DAG_TFJS_BACKEND=webgpu uses it anyway)`);
  }
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  await import("@tensorflow/tfjs-backend-webgpu");
  registerWebgpuTrainingKernels();
  await activate("webgpu");
  const software = info?.isFallbackAdapter ? ", a software adapter (slow: for testing)" : "";
  return `Dawn found ${name}${software}; our WGSL kernels for the convolution, its filter gradient, LRN and LRNGrad`;
};

interface AdapterInfo { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }

interface GpuLike {
  requestAdapter(): Promise<object | null>;
}

let dawn: { gpu: GpuLike; adapter?: object | null } | undefined;

/** libtensorflow through tfjs-node(-gpu): only when the user installed one (never a dependency). */
const tryTensorflow: Attempt = async () => {
  const reasons: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(pkg);
    } catch (error) {
      reasons.push(isModuleNotFound(error) ? `${pkg} is not installed` : `${pkg} failed to load: ${(error as Error).message.split("\n")[0]}`);
      continue;
    }
    if (!tf.findBackendFactory("tensorflow")) {
      reasons.push(`${pkg} loaded but registered its backend with another copy of @tensorflow/tfjs-core: install the version matching tfjs-core ${tf.version_core}`);
      continue;
    }
    await activate("tensorflow");
    return `${pkg} is installed (libtensorflow)`;
  }
  throw new Unavailable(`${reasons.join("; ")} (npm install @tensorflow/tfjs-node to use it)`);
};

const tryWasm: Attempt = async () => {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The package's main file sits in dist/ beside its .wasm binaries; a file path works in Node.
  const dist = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"));
  wasm.setWasmPaths(`${dist}/`);
  registerWasmTrainingKernels();
  await activate("wasm");
  const missing = missingTrainingKernels("wasm");
  if (missing.length) throw new Unavailable(`the wasm backend lacks kernels that training needs: ${missing.join(", ")}`);
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const ours = simdKernels(tf.backend() as WasmBackend)
    ? `our SIMD kernels for the convolutions, their gradients, LRN and max-pool gradients (${kernelBuild()})`
    : "our JavaScript filter and max-pool gradients (this engine cannot run our SIMD kernels)";
  return `XNNPACK in WebAssembly${simd ? " with SIMD" : ""}, one thread, plus ${ours}`;
};

/** Which build of our kernels runs, and why not the faster ones. */
function kernelBuild(): string {
  const variant = simdVariant();
  if (variant === "native") return "the convolutions, the dense layers' products and Adam native: AVX2 + FMA, on as many threads as training's `threads`";
  return `WebAssembly, ${variant === "fused" ? "fused multiply-add" : "no fused multiply-add in this engine"}; native kernels ${nativeStatus()}, so training's \`threads\` are worker threads, one TF.js instance each`;
}

const tryCpu: Attempt = async () => {
  await import("@tensorflow/tfjs-backend-cpu");
  await activate("cpu");
  return "plain JavaScript kernels (the slowest: training is about 500x slower than on wasm)";
};

const ATTEMPTS: Record<Concrete, Attempt> = { webgpu: tryWebgpu, tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu };

/**
 * Activates the requested backend. `auto` (or the DAG_TFJS_BACKEND variable) tries them in order
 * of speed; a named backend that cannot work here is an error that says why.
 */
export async function selectBackend(requested: BackendChoice = "auto"): Promise<BackendSelection> {
  // tfjs prints a banner recommending tfjs-node and other warnings meant for browsers: PROD silences them.
  tf.env().set("PROD", true);
  const fromEnv = process.env[BACKEND_ENV];
  let choice = requested;
  if (requested === "auto" && fromEnv) {
    if (!(BACKEND_CHOICES as readonly string[]).includes(fromEnv)) {
      throw new Error(`${BACKEND_ENV}=${fromEnv} is not a backend: use one of ${BACKEND_CHOICES.join(", ")}`);
    }
    choice = fromEnv as BackendChoice;
  }
  const order = choice === "auto" ? AUTO_ORDER : [choice as Concrete];
  const attempts: BackendAttempt[] = [];
  for (const backend of order) {
    try {
      const reason = await ATTEMPTS[backend](choice === "auto");
      attempts.push({ backend, ok: true, reason });
      const skipped = attempts.filter((a) => !a.ok);
      const via = choice !== requested ? ` (${BACKEND_ENV}=${fromEnv})` : "";
      const why = choice === "auto" ? `auto${via}: ${reason}${skipped.length ? `; skipped ${skipped.map((a) => `${a.backend}: ${a.reason}`).join("; ")}` : ""}` : `requested${via}: ${reason}`;
      const brief = `${backend} (${choice === "auto" ? "auto" : "requested"}${via}${skipped.length ? `; skipped ${skipped.map((a) => a.backend).join(", ")}` : ""})`;
      return { requested, backend, reason: why, brief, attempts };
    } catch (error) {
      attempts.push({ backend, ok: false, reason: error instanceof Unavailable ? error.message : `failed: ${(error as Error).message.split("\n")[0]}` });
    }
  }
  const failed = attempts.map((a) => `${a.backend}: ${a.reason}`).join("; ");
  throw new Error(`backend "${choice}" cannot run here (${failed}); use backend: auto to fall back to one that can`);
}
