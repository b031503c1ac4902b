/**
 * The stage contract: the only engine module a stage kind may import (types only).
 *
 * A stage kind is a folder `stages/<kind>/` whose `index.ts` default-exports a `StageKind`.
 * The engine hands a stage everything it needs as arguments (params, input files, a context)
 * and takes back what it returns; a stage never touches the cache, the plan or other stages.
 */
import type { FromSchema, FromSchemaOptions, JSONSchema } from "json-schema-to-ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A JSON Schema (draft 2020-12 subset that ajv understands). */
export type JsonSchema = { [key: string]: unknown };

/** One artifact given to a stage: logical file names mapped to absolute, read-only paths. */
export interface ArtifactIn {
  files: Record<string, string>;
  meta: JsonObject;
}

/** One item of a collection. `id` is stable across runs (e.g. `rec003/ev01`). */
export interface ItemIn extends ArtifactIn {
  id: string;
}

export interface CollectionIn {
  items: ItemIn[];
}

export type InputValue = ArtifactIn | ItemIn | CollectionIn;

/**
 * What a task returns for one output. File paths are relative to `ctx.outDir` (or absolute
 * paths inside it); the engine hashes them and moves them into the content-addressed store.
 */
export interface ArtifactOut {
  files?: Record<string, string>;
  meta?: JsonObject;
}

export interface ItemOut extends ArtifactOut {
  id: string;
}

export interface CollectionOut {
  items: ItemOut[];
}

export type OutputValue = ArtifactOut | CollectionOut;

/** What a kind's inputs look like in `run`, from their declaration (see `InputsOf`). */
export interface InputSpec {
  description: string;
  /** `collection`: a list of items; `artifact`: a single set of files. */
  type: "collection" | "artifact";
  /**
   * Map over this collection: the stage runs once per item and receives that item
   * (an `ItemIn`) under this input's name. At most one input of a kind may say so.
   */
  each?: boolean;
  optional?: boolean;
}

export interface OutputSpec {
  description: string;
  /**
   * `collection` or `artifact`. A stage that runs per item always yields collections: each task
   * returns an artifact (one item, named like its input item) or a collection (sub-items named
   * `<input item>/<sub id>`), and the engine gathers them. Sub-items inherit the input item's
   * meta, overridden by their own.
   */
  type: "collection" | "artifact";
}

export interface Progress {
  /**
   * Work done within this task, e.g. frames rendered of frames to render; `note`, a short line
   * on how it goes (a long training: epoch, loss, accuracy, rate), shown beside the progress bar.
   */
  (done: number, total: number, note?: string): void;
}

export interface StageContext {
  /** An empty directory that belongs to this task: write output files here. */
  outDir: string;
  /**
   * A folder of this task's own that survives a failed or interrupted attempt (checkpoints go
   * here): the next attempt of the same task (same key) finds what the last one left. The engine
   * deletes it when the task succeeds, and `dag gc` deletes every one.
   */
  scratch: string;
  /**
   * Record how the run went (wall times, rates, where it resumed): kept in the task record and
   * the run record, never in the outputs, so two runs that make the same result give the same
   * bytes and early cutoff holds. Later calls add to or replace earlier keys.
   */
  measure(values: JsonObject): void;
  /**
   * The kind's `machineKey` as the plan resolved it on the machine that planned (part of this
   * task's key); absent for a kind without one. A task that would compute other bits here refuses.
   */
  machine?: Json;
  /**
   * Say which compute route this task took (which backend, kernels, threads): kept in the task
   * record and the run record, printed by `dag show`; never part of the key or the outputs.
   */
  route?(route: JsonObject): void;
  /** A deterministic 32-bit seed derived from the pipeline seed, the stage kind and the item. */
  seed: number;
  /** The item this task works on, when the stage runs per item. */
  itemId?: string;
  log(message: string): void;
  /**
   * Something the user must not miss (a confound, a result that cannot be trusted): shown as a
   * warning in every logger, apart from the task's ordinary log lines.
   */
  warn(message: string): void;
  progress: Progress;
  /** Aborted when the run is cancelled; long loops should check it. */
  signal: AbortSignal;
}

/**
 * What one task of a stage asks of the machine that runs it. Execution params: outside every
 * key, so changing them reruns nothing. Executors use what they understand (the local pool
 * ignores all but `cpus`; SLURM maps each to an sbatch option).
 */
export interface Resources {
  /** CPU cores per task. */
  cpus?: number;
  /** Memory per task, in MiB. */
  mem_mb?: number;
  /** GPUs per task. */
  gpus?: number;
  /** Wall-clock limit per task, in minutes. */
  time_min?: number;
  /** Cluster partition (queue). */
  partition?: string;
  /** Extra sbatch flags, passed as they are (`--account=lab`, `--constraint=a100`). */
  sbatch?: string[];
}

/** One unit of work that a generator stage (one with `split`) declares for itself. */
export interface SplitItem<P extends JsonObject = JsonObject> {
  id: string;
  /** Everything this item's result depends on: it is the item's params and part of its key. */
  params: P;
  meta?: JsonObject;
}

/** What `run` of a generator stage receives: the params of the items its `split` lists. */
export type SplitParamsOf<Split> = Split extends (params: never) => readonly SplitItem<infer P>[] ? P : never;

/**
 * The params a kind's `run` receives, derived from its params schema (declared `as const`): the
 * engine fills in defaults before a task runs, so a property with a `default` is never missing.
 * `Options.deserialize` gives the type of a part of the schema that json-schema-to-ts cannot read
 * (extract's durations: exactly one of two properties, by minProperties / maxProperties).
 */
export type ParamsOf<S, Options extends FromSchemaOptions = {}> = S extends JSONSchema ? FromSchema<S, Options> : never;

/** One declared input as `run` receives it: `each: true` one item, a collection, or an artifact. */
export type InputOf<S extends InputSpec> = S extends { each: true } ? ItemIn : S extends { type: "collection" } ? CollectionIn : ArtifactIn;

/** A kind's inputs as `run` receives them, from its `inputs` declaration; an optional one may be absent. */
export type InputsOf<I extends Readonly<Record<string, InputSpec>>> = { -readonly [K in keyof I as I[K] extends { optional: true } ? never : K]: InputOf<I[K]> } & {
  -readonly [K in keyof I as I[K] extends { optional: true } ? K : never]?: InputOf<I[K]>;
};

/**
 * A stage kind. A kind declares its params and inputs once and types `run` from them, without a
 * contextual type so that `this` is the kind itself, and checks itself against this interface where
 * it is exported:
 *
 *     const mask = { name: "mask", params: { ... }, inputs: { ... }, ...,
 *       async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) { ... },
 *     } as const;
 *     export default mask satisfies StageKind;
 */
export interface StageKind<P = any> {
  name: string;
  /**
   * A manual salt of the key. The kind's code (its module, its local imports, their npm
   * packages, the files its modules name by `new URL("literal", import.meta.url)`) and the files
   * in `reads` are in every key already; bump this only for what those cannot see: a package
   * imported by a computed name, a change of meaning that no file shows.
   */
  version: number;
  /**
   * Files of the project this kind reads at run time besides its inputs (a table, a model
   * shipped with the code), as file URLs: `reads: [new URL("./table.csv", import.meta.url)]`.
   * A folder stands for every file under it (for a file chosen by a param). Their bytes are part
   * of the kind's code fingerprint, so an edit makes its results stale and `dag status` names
   * the file. Files that a module of `lib/` loads itself (the native addon, a worker's module)
   * are named there with `new URL("literal", import.meta.url)` and need no declaration here.
   */
  reads?: readonly URL[];
  description: string;
  /** JSON Schema of `params`, with defaults; unknown keys are rejected. */
  params: JsonSchema;
  /**
   * Top-level params that change how a task runs but not what it produces (a compute backend, a
   * memory budget): left out of the task's key, so changing one reruns nothing and a cached
   * result made with another value is reused. The task still receives them.
   */
  executionParams?: readonly string[];
  /**
   * What of the machine decides a task's bits although no param says so (train: the backend and
   * kernel build that `backend: auto` resolves to). `resolve` runs when the plan is made, in the
   * planning process, so it must be cheap (no heavy imports); its value is part of the task's key
   * (`machine`) and reaches the task as `ctx.machine`. `params`: the execution params it resolves
   * (`dag kinds` says they are keyed through it).
   */
  machineKey?: { params: readonly string[]; describe: string; resolve(params: P): Json };
  /** What each task of this kind asks for by default (train: a GPU); a stage's `resources` override it. */
  resources?: Resources;
  inputs: Readonly<Record<string, InputSpec>>;
  outputs: Readonly<Record<string, OutputSpec>>;
  /**
   * A generator stage fans out by itself: `split` (cheap, run while planning) lists its items,
   * each run as its own task with its own key, so that adding one item runs one task.
   */
  split?(params: P): SplitItem[];
  run(ctx: StageContext, params: P, inputs: Record<string, InputValue>): Promise<Record<string, OutputValue>>;
}

/**
 * A chart of a stage's output in `dag report`, as a declarative Vega-Lite spec. A kind offers its
 * charts in `stages/<kind>/report-hints.ts` (default export: `ReportHints`), a module the kind itself
 * does not import: a changed chart is not a changed result, and reruns nothing.
 */
export interface ReportChart {
  title: string;
  /** The output that holds the data, and the file in it (its logical name); without `file`, the output's meta. */
  output: string;
  file?: string;
  /** The data as rows for Vega-Lite (default: the JSON itself, when it is a list of objects). */
  rows?: (data: Json) => JsonObject[];
  /** A Vega-Lite spec without `data`: the engine adds the rows. */
  spec: JsonObject;
}

export interface ReportHints {
  charts?: ReportChart[];
}
