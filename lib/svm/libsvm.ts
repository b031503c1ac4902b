/**
 * libsvm (v3.22, compiled to WebAssembly by libsvm-js), loaded quietly. libsvm-js has no types and
 * its Emscripten runtime writes to the console: its training log goes through Module.print
 * (console.log) unless `-q`, and loading prints a "wasm streaming compile failed" warning through
 * Module.printErr because Node's fetch cannot read a file path. We load the runtime ourselves,
 * replace both printers before anything is printed, and pass `quiet` as well. The runtime also
 * installs an unhandledRejection handler that calls process.exit(1): we remove it again.
 */
import { createRequire } from "node:module";

export type Kernel = "rbf" | "linear";

export interface SvmParams {
  kernel: Kernel;
  C: number;
  /** RBF only. */
  gamma?: number;
}

export interface SvmModel {
  predict(samples: number[][]): number[];
  free(): void;
}

interface LibsvmInstance {
  train(samples: number[][], labels: number[]): void;
  predict(samples: number[][]): number[];
  free(): void;
}
interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmInstance;
  KERNEL_TYPES: Record<string, string>;
  SVM_TYPES: Record<string, string>;
}
interface EmscriptenModule {
  print: (text: string) => void;
  printErr: (text: string) => void;
  load(): Promise<void>;
}

let loading: Promise<LibsvmClass> | undefined;

async function load(): Promise<LibsvmClass> {
  const require = createRequire(import.meta.url);
  const before = new Set(process.listeners("unhandledRejection"));
  let runtime: EmscriptenModule;
  try {
    runtime = require("libsvm-js/out/wasm/libsvm.js") as EmscriptenModule;
  } catch (error) {
    throw new Error(`svm: cannot load libsvm-js (${(error as Error).message}): run npm install in the project folder`);
  }
  const quiet = (): void => undefined;
  runtime.print = quiet;
  runtime.printErr = quiet;
  try {
    await runtime.load();
  } finally {
    for (const listener of process.listeners("unhandledRejection")) if (!before.has(listener)) process.off("unhandledRejection", listener);
  }
  const makeClass = require("libsvm-js/src/loadSVM.js") as (m: EmscriptenModule) => LibsvmClass;
  return makeClass(runtime);
}

/** Trains C-SVC models (libsvm defaults otherwise: tolerance 1e-3, shrinking on). */
export async function svmTrainer(): Promise<(samples: number[][], labels: number[], p: SvmParams) => SvmModel> {
  loading ??= load();
  const SVM = await loading;
  return (samples, labels, p) => {
    if (p.kernel === "rbf" && !(p.gamma !== undefined && p.gamma > 0)) throw new Error(`svm: an RBF kernel needs a positive gamma, got ${p.gamma}`);
    const svm = new SVM({
      type: SVM.SVM_TYPES.C_SVC,
      kernel: p.kernel === "rbf" ? SVM.KERNEL_TYPES.RBF : SVM.KERNEL_TYPES.LINEAR,
      cost: p.C,
      ...(p.kernel === "rbf" ? { gamma: p.gamma } : {}),
      quiet: true,
    });
    svm.train(samples, labels);
    return { predict: (x) => svm.predict(x), free: () => svm.free() };
  };
}
