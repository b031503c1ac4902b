import { join } from "node:path";
import type { Cache } from "../cache/cache.js";
import { FileHashes } from "../cache/file-hashes.js";
import type { BlobHash, FileRef, KeyParts, TaskKey } from "../cache/records.js";
import {
  assembledHash, compareOrder, fileInput, itemHash, taskItems, toInputValue, toItemIn,
  type Assembled, type Locate, type PlannedItem,
} from "./artifacts.js";
import { CodeFingerprints } from "./code-fingerprint.js";
import type { Logger } from "./events.js";
import { deriveSeed, taskKey } from "./hash.js";
import type { InputBinding, Pipeline, StageNode } from "./pipeline.js";
import type { InputValue, Json, JsonObject } from "./stage-api.js";
import { UsageError } from "./errors.js";
import type { TaskFailure, TaskOutputs } from "./task-spec.js";

/**
 * The plan: which tasks exist, their keys, which are cached and which must run. It is dynamic
 * (a per-item stage's tasks are known only once the items it maps over exist) but does no work
 * of its own: the rebuilder says what the cache holds, the scheduler runs what is stale and
 * reports back, and a query (`dag status`, `--dry-run`) runs nothing and reads the plan.
 */

export interface PlannedTask {
  stage: string;
  itemId?: string;
  key: TaskKey;
  parts: KeyParts;
  /** A record for this key exists but some of its files are gone. */
  lostFiles: boolean;
}

/** `would-run`: stale in a query, which runs nothing (its dependants' keys stay unknown). */
export type TaskStatus = "ready" | "running" | "done" | "failed" | "skipped" | "would-run";

export interface Task extends PlannedTask {
  order: number[];
  parentMeta: JsonObject;
  /** The item this task maps over, by input name (its files are given to the stage at launch). */
  mapped: Record<string, PlannedItem>;
  params: JsonObject;
  status: TaskStatus;
  outputs?: TaskOutputs;
  measurements?: JsonObject;
  /** The compute route it said it took (ctx.route), when it ran. */
  route?: JsonObject;
  /** How long it ran; undefined for a task restored from the cache. */
  ms?: number;
  failure?: TaskFailure;
}

export interface StageState {
  node: StageNode;
  /** Whole inputs (everything but the mapped one), once known. */
  whole?: Record<string, Assembled>;
  wholeHashes?: Record<string, string>;
  started: boolean;
  allTasksKnown: boolean;
  /** Items of the mapped input received before this stage could start. */
  waitingItems: PlannedItem[];
  eachProducerDone: boolean;
  tasks: Task[];
  /** Tasks not yet done (kept as a count: checking every task after each one is quadratic). */
  unfinished: number;
  complete: boolean;
  failed: boolean;
  /** A query cannot know this stage's outputs (something in it or above it would run). */
  unknown: boolean;
  outputs?: Record<string, Assembled>;
  startedAt?: number;
  /** The fingerprint of the kind's code, part of every task key. */
  code: string;
}

/** What the plan starts from: user files by content, and each stage kind's code fingerprint. */
export interface PlanInputs {
  files: Map<string, Assembled>;
  code: Map<string, string>;
}

export interface PlanHooks {
  /** The outputs of this task if its result can be restored from the cache. */
  restore(task: Task): TaskOutputs | undefined;
  /** A task that must run (the plan hears back through `done` or `fail`), or in a query, would run. */
  stale(task: Task): void;
  /** A task's result was restored from the cache (`dag run --check` runs it again to compare). */
  restored?(task: Task): void;
  /** A stage failed by the plan itself (a kind that returned the wrong shape of output). */
  stageFailed(stage: string): void;
  /** A stage completed with its assembled outputs (results publishing); never called in a query. */
  stageComplete?(node: StageNode, outputs: Record<string, Assembled>): void;
  logger: Logger;
}

/** The targets and every stage they need, in pipeline order. */
export function selectStages(pipeline: Pipeline, targets: string[]): StageNode[] {
  if (!targets.length) return pipeline.stages;
  const wanted = new Set<string>();
  const add = (name: string): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const b of Object.values(pipeline.byName.get(name)!.inputs)) if (b.source === "stage") add(b.stage);
  };
  for (const t of targets) add(t);
  return pipeline.stages.filter((s) => wanted.has(s.name));
}

const fileInputId = (binding: Exclude<InputBinding, { source: "stage" }>): string =>
  binding.source === "glob" ? `glob:${binding.pattern}` : `file:${binding.path}`;

/**
 * Hash the user files the stages name and fingerprint their kinds' code. With `persist`, the
 * stat caches that make this cheap next time are saved, and each fingerprint's manifest kept.
 */
export async function planInputs(pipeline: Pipeline, stages: StageNode[], options: { rehash?: boolean; persist?: Cache }): Promise<PlanInputs> {
  const hashes = new FileHashes(pipeline.cacheDir, options.rehash);
  const files = new Map<string, Assembled>();
  for (const stage of stages) {
    for (const binding of Object.values(stage.inputs)) {
      if (binding.source === "stage") continue;
      const id = fileInputId(binding);
      if (!files.has(id)) files.set(id, await fileInput(binding, pipeline.dir, hashes));
    }
  }
  if (options.persist) hashes.save();
  const fingerprints = new CodeFingerprints(join(pipeline.cacheDir, "code-stat.json"));
  const code = new Map<string, string>();
  for (const node of stages) {
    const fingerprint = fingerprints.of(node.modulePath, node.kind.reads);
    options.persist?.describeCode(fingerprint.hash, fingerprint.manifest);
    code.set(node.name, fingerprint.hash);
  }
  if (options.persist) fingerprints.save();
  return { files, code };
}

export class Plan {
  readonly stages = new Map<string, StageState>();
  private readonly machineKeys = new WeakMap<JsonObject, Json>();

  /** `query`: nothing will run; a stale task stays `would-run` and what depends on it unknown. */
  constructor(
    private readonly pipeline: Pipeline,
    nodes: StageNode[],
    private readonly inputs: PlanInputs,
    private readonly hooks: PlanHooks,
    private readonly query = false,
  ) {
    for (const node of nodes) {
      this.stages.set(node.name, {
        node, started: false, allTasksKnown: false, waitingItems: [], eachProducerDone: false,
        tasks: [], unfinished: 0, complete: false, failed: false, unknown: false, code: inputs.code.get(node.name)!,
      });
    }
  }

  /** Start every stage whose whole inputs are known (restoring what is cached as it goes). */
  start(): void {
    for (const state of this.stages.values()) this.tryStart(state);
  }

  /** A task ran: its outputs stream to the stages that map over them. */
  done(task: Task, outputs: TaskOutputs): void {
    task.status = "done";
    task.outputs = outputs;
    this.taskFinished(this.stages.get(task.stage)!, task);
  }

  fail(task: Task, failure: TaskFailure): void {
    task.status = "failed";
    task.failure = failure;
    this.stages.get(task.stage)!.failed = true;
  }

  /** The first failed stage above this one, if any (why it did not complete). */
  blocker(state: StageState): string | undefined {
    for (const b of Object.values(state.node.inputs)) {
      if (b.source !== "stage") continue;
      const up = this.stages.get(b.stage)!;
      if (up.failed) return b.stage;
      const further = this.blocker(up);
      if (further) return further;
    }
    return undefined;
  }

  /** What the stage receives: paths of every input file, with item ids and meta. */
  taskInputs(task: Task, locate: Locate): Record<string, InputValue> {
    const inputs: Record<string, InputValue> = {};
    for (const [name, value] of Object.entries(this.stages.get(task.stage)!.whole!)) inputs[name] = toInputValue(locate, value);
    for (const [name, item] of Object.entries(task.mapped)) inputs[name] = toItemIn(locate, item);
    return inputs;
  }

  /** The hashes of the cached files a task was given (user files are read in place, not cached). */
  taskReads(task: Task): BlobHash[] {
    const reads = new Set<BlobHash>();
    const add = (files: Record<string, FileRef>): void => {
      for (const ref of Object.values(files)) if (!ref.source) reads.add(ref.hash);
    };
    for (const value of Object.values(this.stages.get(task.stage)!.whole!)) {
      if (value.type === "artifact") add(value.files);
      else for (const item of value.items) add(item.files);
    }
    for (const item of Object.values(task.mapped)) add(item.files);
    return [...reads].sort();
  }

  private consumers(stage: string): StageState[] {
    return [...this.stages.values()].filter((s) => Object.values(s.node.inputs).some((b) => b.source === "stage" && b.stage === stage));
  }

  /** Start a stage once all its whole inputs are known: create its tasks (or the first of them). */
  private tryStart(state: StageState): void {
    if (state.started) return;
    const { node } = state;
    const whole: Record<string, Assembled> = {};
    for (const [name, binding] of Object.entries(node.inputs)) {
      if (binding.source === "stage") {
        const up = this.stages.get(binding.stage)!;
        if (up.unknown) state.unknown = true;
        if (name === node.eachInput) continue;
        if (!up.complete) return;
        whole[name] = up.outputs![binding.output]!;
      } else {
        const value = this.inputs.files.get(fileInputId(binding))!;
        if (name === node.eachInput) {
          if (value.type === "collection") state.waitingItems.push(...value.items);
          state.eachProducerDone = true;
        } else {
          whole[name] = value;
        }
      }
    }
    state.started = true;
    state.startedAt = Date.now();
    state.whole = whole;
    state.wholeHashes = Object.fromEntries(Object.entries(whole).map(([k, v]) => [k, assembledHash(v)]));
    this.hooks.logger({ type: "stage-start", stage: node.name });

    if (node.kind.split) {
      const items = node.kind.split(node.params);
      items.forEach((item, i) => this.addTask(state, item.id, [i], item.meta ?? {}, item.params, {}));
      state.allTasksKnown = true;
    } else if (node.eachInput) {
      const waiting = state.waitingItems.splice(0);
      for (const item of waiting) this.addItemTask(state, item);
      if (state.eachProducerDone) state.allTasksKnown = true;
    } else {
      this.addTask(state, undefined, [0], {}, node.params, {});
      state.allTasksKnown = true;
    }
    this.emitTotal(state);
    this.checkComplete(state);
  }

  private addItemTask(state: StageState, item: PlannedItem): void {
    const eachName = state.node.eachInput!;
    this.addTask(state, item.id, item.order, item.meta, state.node.params, { [eachName]: item });
  }

  /** Key one task; restore it from the cache when possible, else hand it on as stale. */
  private addTask(state: StageState, itemId: string | undefined, order: number[], parentMeta: JsonObject, params: JsonObject, mapped: Record<string, PlannedItem>): void {
    const { node } = state;
    const inputHashes: Record<string, string> = { ...state.wholeHashes };
    for (const [name, item] of Object.entries(mapped)) inputHashes[name] = itemHash(item);
    const machine = machineKey(node, params, this.machineKeys);
    const parts: KeyParts = {
      kind: node.kindName, version: node.kind.version, code: state.code, params: keyedParams(params, node.kind.executionParams), seed: deriveSeed(this.pipeline.seed, node.kindName, itemId),
      ...(itemId !== undefined ? { itemId } : {}), inputs: inputHashes, ...(machine !== undefined ? { machine } : {}),
    };
    const key = taskKey(parts);
    const task: Task = { stage: node.name, itemId, key, parts, order, parentMeta, mapped, params, status: "ready", lostFiles: false };
    state.tasks.push(task);
    state.unfinished++;

    const cached = this.hooks.restore(task);
    // A record that names other outputs than the kind declares (tampered, or from a kind changed
    // without a version bump that the code fingerprint missed) is not trusted: the task runs.
    if (cached && fitsKind(cached, node)) {
      task.status = "done";
      task.outputs = cached;
      this.hooks.logger({ type: "task-done", stage: node.name, item: itemId, source: "cached", ms: 0, key });
      this.hooks.restored?.(task);
      this.taskFinished(state, task);
      return;
    }
    if (this.query) {
      task.status = "would-run";
      state.unknown = true;
    }
    this.hooks.stale(task);
  }

  private taskFinished(state: StageState, task: Task): void {
    state.unfinished--;
    // Stream this task's items to the stages that map over them: they need not wait for the rest.
    for (const consumer of this.consumers(state.node.name)) {
      const eachName = consumer.node.eachInput;
      const binding = eachName ? consumer.node.inputs[eachName] : undefined;
      if (!binding || binding.source !== "stage" || binding.stage !== state.node.name) continue;
      if (!state.node.perItem) continue; // a whole stage's collection is handed over when it completes
      // A done task has every output its kind declares (worker.ts checks what ran, fitsKind what is restored).
      const items = taskItems(task.outputs![binding.output]!, task.itemId, task.order, task.parentMeta);
      this.deliver(consumer, items);
    }
    this.checkComplete(state);
  }

  private deliver(consumer: StageState, items: PlannedItem[]): void {
    if (!consumer.started) {
      consumer.waitingItems.push(...items);
      return;
    }
    for (const item of items) this.addItemTask(consumer, item);
    this.emitTotal(consumer);
  }

  private checkComplete(state: StageState): void {
    if (state.complete || state.failed || !state.allTasksKnown || state.unknown) return;
    if (state.unfinished > 0) return;
    const { node } = state;
    const outputs: Record<string, Assembled> = {};
    const sorted = [...state.tasks].sort((a, b) => compareOrder(a.order, b.order));
    for (const [name, spec] of Object.entries(node.kind.outputs)) {
      if (node.perItem) {
        const items = sorted.flatMap((t) => taskItems(t.outputs![name]!, t.itemId, t.order, t.parentMeta));
        outputs[name] = { type: "collection", items };
      } else {
        const out = sorted[0]!.outputs![name]!;
        outputs[name] = out.type === "artifact" ? out : { type: "collection", items: out.items.map((it, j) => ({ ...it, order: [j] })) };
        if (out.type !== spec.type) {
          this.failStage(state, `returned ${out.type === "artifact" ? "an artifact" : "a collection"} for output "${name}", which it declares as ${spec.type}`);
          return;
        }
      }
    }
    state.complete = true;
    state.outputs = outputs;
    const counts = { ran: 0, cached: 0 };
    for (const t of state.tasks) counts[t.ms === undefined ? "cached" : "ran"]++;
    this.hooks.logger({ type: "stage-done", stage: node.name, ...counts, failed: 0, skipped: 0, ms: Date.now() - (state.startedAt ?? Date.now()) });
    if (!this.query) this.hooks.stageComplete?.(node, outputs);

    for (const consumer of this.consumers(node.name)) {
      const eachName = consumer.node.eachInput;
      const binding = eachName ? consumer.node.inputs[eachName] : undefined;
      const mapsOverThis = binding?.source === "stage" && binding.stage === node.name;
      if (mapsOverThis) {
        if (!node.perItem) {
          const value = outputs[binding.output]!;
          if (value.type === "collection") this.deliver(consumer, value.items);
        }
        consumer.eachProducerDone = true;
        if (consumer.started) {
          consumer.allTasksKnown = true;
          this.emitTotal(consumer);
        }
      }
      this.tryStart(consumer);
      this.checkComplete(consumer);
    }
  }

  private failStage(state: StageState, message: string): void {
    state.failed = true;
    this.hooks.logger({ type: "task-failed", stage: state.node.name, reason: "stage-error", error: `stage kind "${state.node.kindName}" ${message}` });
    this.hooks.stageFailed(state.node.name);
  }

  private emitTotal(state: StageState): void {
    this.hooks.logger({ type: "stage-total", stage: state.node.name, total: state.tasks.length, final: state.allTasksKnown });
  }
}

/** One keyed copy per params object: every task of a per-item stage shares it, so taskKey serialises it once. */
const keyedCopies = new WeakMap<JsonObject, JsonObject>();

/** The params that go into a task's key: all but the kind's execution params (how, not what). */
function keyedParams(params: JsonObject, executionParams: readonly string[] | undefined): JsonObject {
  if (!executionParams?.length) return params;
  let keyed = keyedCopies.get(params);
  if (!keyed) keyedCopies.set(params, (keyed = Object.fromEntries(Object.entries(params).filter(([name]) => !executionParams.includes(name)))));
  return keyed;
}

/**
 * The kind's machineKey for these params, resolved here and now (a kind that cannot resolve it is
 * a usage error); `known`: one resolution per params object in this plan (the tasks of a per-item stage share it).
 */
function machineKey(node: StageNode, params: JsonObject, machineKeys: WeakMap<JsonObject, Json>): Json | undefined {
  const hook = node.kind.machineKey;
  if (!hook) return undefined;
  if (!machineKeys.has(params)) {
    try {
      machineKeys.set(params, hook.resolve(params));
    } catch (error) {
      throw new UsageError(`stage "${node.name}": ${(error as Error).message}`);
    }
  }
  return machineKeys.get(params);
}

/** Whether a task's outputs are the ones its kind declares: each name once, of its type where the type is fixed. */
function fitsKind(outputs: TaskOutputs, node: StageNode): boolean {
  const declared = Object.entries(node.kind.outputs);
  if (Object.keys(outputs).length !== declared.length) return false;
  // A per-item stage's task may return an artifact (one item) or a collection (sub-items) for a collection output.
  return declared.every(([name, spec]) => outputs[name] !== undefined && (node.perItem || outputs[name].type === spec.type));
}
