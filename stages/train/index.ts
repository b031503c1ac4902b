/**
 * train: the two-stream CNN, one cached training per point of the learning-rate x weight-decay
 * grid (a generator stage: `split` lists the points). See README.md.
 *
 * Only types and the params schema are imported here: TensorFlow.js loads inside run(), since
 * the engine imports every stage kind in the main thread to validate a pipeline.
 */
import type { InputsOf, JsonObject, OutputValue, ParamsOf, SplitItem, StageContext, StageKind } from "../../engine/stage-api.js";
import { ARCHITECTURE_SCHEMA } from "../../lib/model/architecture.js";
import { probeMachine } from "../../lib/model/machine.js";
import { resolveTrainingRoute, routeKey, type RouteParams } from "../../lib/model/route.js";

/** The lr and weight decay of the stage's params: a value or a list of values. */
type GridParams = JsonObject & { lr: number | number[]; weight_decay: number | number[] };

/** One grid point's params: the stage's, with a single lr and weight decay. */
export type GridPoint<P extends GridParams> = Omit<P, "lr" | "weight_decay"> & { lr: number; weight_decay: number };

const oneOrMany = (description: string, def: number[]) => ({
  description,
  default: def,
  oneOf: [
    { type: "number", minimum: 0 },
    { type: "array", items: { type: "number", minimum: 0 }, minItems: 1 },
  ],
}) as const;

/** 0.001 -> "1e-3", 0 -> "0": short, path-safe ids for grid points. */
function shortNumber(x: number): string {
  if (x === 0) return "0";
  const [mantissa, exponent] = x.toExponential().split("e");
  return `${Number(mantissa)}e${Number(exponent)}`;
}

const list = (v: number | number[]): number[] => [...new Set(Array.isArray(v) ? v : [v])];

export function gridPoints<P extends GridParams>(params: P): SplitItem<GridPoint<P>>[] {
  return list(params.lr).flatMap((lr) =>
    list(params.weight_decay).map((wd) => {
      const point: GridPoint<P> = { ...params, lr, weight_decay: wd };
      return { id: `lr${shortNumber(lr)}-wd${shortNumber(wd)}`, params: point, meta: { lr, weight_decay: wd } };
    }),
  );
}

/** Bump when the same params and inputs give another model (also invalidates checkpoints). */
export const TRAIN_VERSION = 2;

const train = {
  name: "train",
  version: TRAIN_VERSION,
  description: "Two-stream CNN (spatial grey frame + temporal flow stack, fused log-softmax), one training per lr x weight-decay grid point",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      architecture: ARCHITECTURE_SCHEMA,
      lr: oneOrMany("Adam's base learning rate, or a list: one training per value (the paper's grid: [1e-3, 1e-4, 1e-5]).", [1e-3]),
      weight_decay: oneOrMany("L2 weight decay added to the gradient (PyTorch's Adam weight_decay), or a list (the paper's grid: [1e-2, 1e-3, 1e-4]).", [1e-4]),
      epochs: { type: "integer", minimum: 1, default: 16, description: "Passes over the training samples (the paper: about 8 in the grid search, 5 on the full set, from ImageNet weights; from a random start on few samples it takes more steps: the default pipeline gives its 144 training samples 40 epochs of batch 16)." },
      batch: { type: "integer", minimum: 1, default: 32, description: "Samples per batch (the paper: 32)." },
      schedule: { type: "string", enum: ["inv_sqrt", "constant"], default: "inv_sqrt", description: "Learning rate per epoch e (from 1): lr / sqrt(e) (the paper's text), or lr throughout (what their code did)." },
      augmentation: {
        type: "string", enum: ["random", "all", "off"], default: "random",
        description: "Per epoch each training sample is shown in one random augmentation of the 18 (9 crops x vertical flip), in all 18 (the paper: 18x the samples per epoch), or only centre-cropped.",
      },
      keep: {
        type: "string", enum: ["last", "best"], default: "last",
        description: "Which epoch's weights the model keeps: the last, or the one with the best fused validation accuracy (at equal accuracy the lower validation loss). best needs a validation set large enough to rank epochs: on the default data's 26 validation events it picks barely trained epochs that validate well by chance. Without validation samples: the last.",
      },
      backend: {
        type: "string", enum: ["auto", "webgpu", "tensorflow", "wasm", "cpu"], default: "auto",
        description: "TensorFlow.js backend: auto takes the fastest that works here (webgpu, tensorflow, wasm, cpu); the environment variable DAG_TFJS_BACKEND overrides auto. Resolved when the plan is made, with the kernels it will run (on wasm: the native AVX2 build where it was built and DAG_NATIVE_KERNELS is not off, else WebAssembly SIMD): that route is in the key, and a task that lands where it cannot run it fails.",
      },
      seed: {
        type: ["integer", "null"], minimum: 0, default: null,
        description: "Seed of the initial weights, sample order, augmentations and dropout; null: the task's seed (from the pipeline's seed and the grid point). Set it to start every grid point from the same weights.",
      },
      memory_mb: { type: "integer", minimum: 0, default: 2048, description: "Sample files kept in memory (MiB) between epochs; beyond it they are read again. No effect on results." },
      threads: {
        type: "integer", minimum: 0, default: 0,
        description: "Threads on the wasm and cpu backends (0: one per core). On wasm with the native kernels (built at install where a C compiler is found) they share each convolution, product and Adam update; otherwise each batch is cut into fixed shards of 4 samples whose gradients worker threads compute and this thread sums in shard order (at most one thread per shard). Either way any count gives the same bits. No effect on GPU backends.",
      },
    },
  },
  // The thread count and memory_mb change speed alone; the backend is keyed as the route it resolves to (machineKey).
  executionParams: ["backend", "memory_mb", "threads"],
  machineKey: {
    params: ["backend"],
    describe: "the backend and kernel build that training takes there (lib/model/route.ts; dag show prints each task's route)",
    resolve: (params: RouteParams) => routeKey(resolveTrainingRoute(params, probeMachine())),
  },
  // On a cluster: room for memory_mb's sample cache (2 GiB) and the model beside it, two cores
  // for the backend. No GPU by default: on a CPU-only cluster a GPU request is never scheduled.
  resources: { cpus: 2, mem_mb: 4096 },
  inputs: {
    samples: { type: "collection", description: "flow.samples: HDF5 `sample` per subsample (flow, flow_range, spatial), meta label and recording" },
    splits: { type: "artifact", description: "split.splits: which recordings train, validate, test" },
    pretrained: { type: "artifact", optional: true, description: "starting weights: a train model (model.json + weights.bin) or an HDF5 file (see README)" },
  },
  outputs: {
    models: { type: "collection", description: "per grid point: model.json + weights.bin (TensorFlow.js LayersModel), history.json, metrics.json; meta lr, weight_decay, validation_accuracy" },
  },
  split: gridPoints,
  async run(ctx: StageContext, params: GridPoint<ParamsOf<typeof this.params>>, inputs: InputsOf<typeof this.inputs>): Promise<Record<string, OutputValue>> {
    const { trainPoint } = await import("./run.js");
    return { models: await trainPoint(ctx, params, inputs.samples, inputs.splits, inputs.pretrained) };
  },
} as const;

export type TrainParams = ParamsOf<typeof train.params>;
export type PointParams = GridPoint<TrainParams>;
export default train satisfies StageKind;
