/**
 * The training route: which TensorFlow.js backend, which kernels, how many threads and how they
 * share the work, which Adam. Chosen here alone, by `resolveTrainingRoute`, from the params and
 * the machine (machine.ts: cheap checks, no TensorFlow.js), so that the plan knows the route
 * before a task runs and the task runs that route or refuses.
 *
 * The thread count never changes the bits (the native kernels share each call's outputs; batch
 * shards are fixed and summed in shard order), so only the backend and the kernels are the
 * route's part of the key (`routeKey`).
 */
import { BACKEND_CHOICES, type BackendChoice } from "./backend-param.js";
import { BACKEND_ENV, type ConcreteBackend, type Machine, type WasmKernels } from "./machine.js";

/** Samples per batch shard on the data-parallel routes: fixed, so that any thread count sums the same shards in the same order. */
export const SHARD_SAMPLES = 4;

/** The shards [start, end) of a batch of `n`: SHARD_SAMPLES each, the last one the rest. */
export function batchShards(n: number): [number, number][] {
  return Array.from({ length: Math.ceil(n / SHARD_SAMPLES) }, (_, i) => [i * SHARD_SAMPLES, Math.min(n, (i + 1) * SHARD_SAMPLES)]);
}

export type RouteKernels = WasmKernels | "tfjs-cpu" | "wgsl" | "libtensorflow";

export interface TrainingRoute {
  backend: ConcreteBackend;
  kernels: RouteKernels;
  /** How the threads share a step: the native kernels split each call's outputs; worker threads take fixed shards of each batch; or one thread (GPU backends). */
  parallel: "native-kernels" | "batch-shards" | "none";
  threads: number;
  optimiser: "adam-native" | "adam-js" | "adam-tfjs";
  /** Who chose the backend: auto, the stage's params, or DAG_TFJS_BACKEND in place of auto. */
  chosen_by: "auto" | "params" | typeof BACKEND_ENV;
}

export interface RouteParams {
  backend: BackendChoice;
  /** 0: one per core. */
  threads: number;
  batch: number;
}

const AUTO_ORDER: ConcreteBackend[] = ["webgpu", "tensorflow", "wasm", "cpu"];

const KERNELS: Record<Exclude<ConcreteBackend, "wasm">, RouteKernels> = { webgpu: "wgsl", tensorflow: "libtensorflow", cpu: "tfjs-cpu" };

/** The one place a training's route is decided. */
export function resolveTrainingRoute(params: RouteParams, machine: Machine): TrainingRoute {
  let choice = params.backend;
  let chosenBy: TrainingRoute["chosen_by"] = choice === "auto" ? "auto" : "params";
  if (choice === "auto" && machine.backendOverride) {
    if (!(BACKEND_CHOICES as readonly string[]).includes(machine.backendOverride)) {
      throw new Error(`${BACKEND_ENV}=${machine.backendOverride} is not a backend: use one of ${BACKEND_CHOICES.join(", ")}`);
    }
    choice = machine.backendOverride as BackendChoice;
    chosenBy = BACKEND_ENV;
  }
  const backend = choice === "auto" ? AUTO_ORDER.find((b) => !machine.unavailable[b])! : choice;
  const kernels = backend === "wasm" ? machine.wasmKernels : KERNELS[backend];
  const wanted = Math.max(1, params.threads || machine.cores);
  if (backend === "webgpu" || backend === "tensorflow") return { backend, kernels, parallel: "none", threads: 1, optimiser: "adam-tfjs", chosen_by: chosenBy };
  if (kernels === "native-avx2-fma") return { backend, kernels, parallel: "native-kernels", threads: wanted, optimiser: "adam-native", chosen_by: chosenBy };
  // More workers than a batch has shards would wait.
  return { backend, kernels, parallel: "batch-shards", threads: Math.min(wanted, batchShards(params.batch).length), optimiser: "adam-js", chosen_by: chosenBy };
}

/** What of a route changes a training's bits: its part of the task key. */
export function routeKey(route: TrainingRoute): { backend: ConcreteBackend; kernels: RouteKernels } {
  return { backend: route.backend, kernels: route.kernels };
}

/** The route in one line, for the log and `dag show`. */
export function describeRoute(r: TrainingRoute): string {
  const threads = `${r.threads} thread${r.threads === 1 ? "" : "s"}`;
  const how = r.parallel === "native-kernels" ? `${threads} in the native kernels` : r.parallel === "batch-shards" ? `${threads} on shards of ${SHARD_SAMPLES} samples per batch` : threads;
  return `${r.backend} (${r.chosen_by}), kernels ${r.kernels}, ${how}, ${r.optimiser}`;
}
