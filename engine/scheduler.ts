import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FileHashes } from "../cache/file-hashes.js";
import type { FileRef, KeyParts, RunRecord, RunStageEntry, TaskRecord } from "../cache/records.js";
import { Store } from "../cache/store.js";
import {
  assembledHash, compareOrder, fileInput, itemHash, taskItems, toInputValue, toItemIn,
  type Assembled, type Locate, type PlannedItem,
} from "./artifacts.js";
import { CodeFingerprints } from "./code-fingerprint.js";
import { asDiskFull, isDiskFull } from "./errors.js";
import type { Logger } from "./events.js";
import type { Executor } from "./executor.js";
import { canonicalJson, deriveSeed, taskKey } from "./hash.js";
import { taskName } from "./loggers/format.js";
import type { Pipeline, StageNode } from "./pipeline.js";
import type { InputValue, JsonObject } from "./stage-api.js";
import { TaskFailure, type FailureReason, type TaskOutputs } from "./task-spec.js";

export interface RunOptions {
  /** Stages to bring up to date, with what they need; all stages when empty. */
  targets?: string[];
  /** Stages whose cached results are ignored. */
  force?: string[];
  keepGoing?: boolean;
  /** Plan only: say what would run and why, run nothing, write nothing. */
  dryRun?: boolean;
  /** Re-hash every input file (not trusting unchanged size, inode and mtime) and every cached file reused. */
  rehash?: boolean;
  name?: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Called when a stage completes with its assembled outputs (results publishing). */
  onStageComplete?: (stage: StageNode, outputs: Record<string, Assembled>) => void;
  /** Called for every task that would run in a dry run, to explain why. */
  onWouldRun?: (task: PlannedTask) => void;
}

export interface PlannedTask {
  stage: string;
  itemId?: string;
  key: string;
  parts: KeyParts;
  /** A record for this key exists but some of its files are gone. */
  lostFiles: boolean;
}

export interface RunResult {
  ok: boolean;
  cancelled: boolean;
  record: RunRecord;
  ran: number;
  cached: number;
  failed: number;
}

interface TaskState extends PlannedTask {
  order: number[];
  parentMeta: JsonObject;
  /** The item this task maps over, by input name (its files are given to the stage at launch). */
  mapped: Record<string, PlannedItem>;
  params: JsonObject;
  status: "ready" | "running" | "done" | "failed" | "skipped" | "would-run";
  outputs?: TaskOutputs;
  measurements?: JsonObject;
  ms?: number;
  failure?: TaskFailure;
}

interface StageState {
  node: StageNode;
  /** Whole inputs (everything but the mapped one), once known. */
  whole?: Record<string, Assembled>;
  wholeHashes?: Record<string, string>;
  started: boolean;
  allTasksKnown: boolean;
  /** Items of the mapped input received before this stage could start. */
  waitingItems: PlannedItem[];
  eachProducerDone: boolean;
  tasks: TaskState[];
  /** Tasks not yet done (kept as a count: checking every task after each one is quadratic). */
  unfinished: number;
  complete: boolean;
  failed: boolean;
  /** A dry run cannot know this stage's outputs (something in it or above it would run). */
  unknown: boolean;
  outputs?: Record<string, Assembled>;
  startedAt?: number;
  /** The outputs of this stage's tasks in its latest run, by key (see Store.readStageIndex). */
  index: Map<string, TaskOutputs>;
  /** The fingerprint of the kind's code, part of every task key. */
  code: string;
}

/** Bring the pipeline's targets up to date: restore what is cached, run the rest in the executor. */
export class Scheduler {
  private readonly store: Store;
  private readonly states = new Map<string, StageState>();
  private readonly fileInputs = new Map<string, Assembled>();
  /**
   * Ready tasks, one queue per stage in pipeline order. The latest stage with work goes first
   * (depth first): an item flows through to its last stage before the next item starts, so
   * first results come early and finished work is not held back by a long first stage.
   */
  private readonly ready: TaskState[][] = [];
  private readyCount = 0;
  private readonly stageIndex = new Map<string, number>();
  private running = 0;
  private stopping = false;
  private cancelled = false;
  /** With --rehash: cached files found intact, and found damaged, in this run. */
  private readonly intact = new Set<string>();
  private readonly damaged = new Set<string>();
  /** An error of the engine itself (a full disk while writing the cache): ends the run, then is thrown. */
  private fatal?: unknown;
  private finish!: () => void;
  private readonly locate: Locate;

  constructor(private readonly pipeline: Pipeline, private readonly executor: Executor, private readonly options: RunOptions) {
    this.store = new Store(pipeline.cacheDir);
    this.locate = (ref) => ref.source ?? this.store.blobPath(ref.hash);
  }

  async run(): Promise<RunResult> {
    const { pipeline, options } = this;
    const started = Date.now();
    // Sortable by time to the millisecond, unique by its random tail.
    const runId = `${new Date(started).toISOString().replace(/[-:.]/g, "")}-${randomBytes(3).toString("hex")}`;
    const selected = this.selectStages(options.targets ?? []);
    if (!options.dryRun) {
      this.store.init();
      // Output folders of tasks that a killed run left behind (this process holds the lock).
      this.store.clearTmp();
    }
    options.logger({ type: "run-start", runId, pipeline: pipeline.file, stages: selected.map((s) => s.name), jobs: this.executor.slots, dryRun: Boolean(options.dryRun) });

    const hashes = new FileHashes(pipeline.cacheDir, options.rehash);
    for (const stage of selected) {
      for (const binding of Object.values(stage.inputs)) {
        if (binding.source === "stage") continue;
        const id = binding.source === "glob" ? `glob:${binding.pattern}` : `file:${binding.path}`;
        if (this.fileInputs.has(id)) continue;
        this.fileInputs.set(id, await fileInput(binding, pipeline.dir, hashes));
      }
    }
    if (!options.dryRun) hashes.save();

    const code = new CodeFingerprints(join(pipeline.cacheDir, "code-stat.json"));
    for (const node of selected) {
      const fingerprint = code.of(node.modulePath);
      if (!options.dryRun) this.store.writeCode(fingerprint.hash, fingerprint.manifest);
      this.stageIndex.set(node.name, this.stageIndex.size);
      this.states.set(node.name, {
        node, started: false, allTasksKnown: false, waitingItems: [], eachProducerDone: false,
        tasks: [], unfinished: 0, complete: false, failed: false, unknown: false,
        index: this.store.readStageIndex(node.name), code: fingerprint.hash,
      });
    }
    if (!options.dryRun) code.save();
    const abort = (): void => {
      this.cancelled = true;
      this.stopping = true;
      this.pump();
    };
    options.signal?.addEventListener("abort", abort, { once: true });

    const done = new Promise<void>((resolve) => (this.finish = resolve));
    for (const state of this.states.values()) this.tryStart(state);
    this.pump();
    await done;
    options.signal?.removeEventListener("abort", abort);

    if (this.fatal) {
      // The cache could not be written (a full disk): keep what can be kept, then say why.
      try { this.saveStageIndexes(); this.store.writeRun(this.record(runId, started)); } catch { /* the same fault */ }
      throw this.fatal;
    }
    if (!options.dryRun) this.saveStageIndexes();
    const record = this.record(runId, started);
    const counts = { ran: 0, cached: 0, failed: 0 };
    let wouldRun = 0;
    const unknownStages: string[] = [];
    for (const s of this.states.values()) {
      for (const t of s.tasks) {
        if (t.status === "done") counts[t.ms === undefined ? "cached" : "ran"]++;
        if (t.status === "failed") counts.failed++;
        if (t.status === "would-run") wouldRun++;
      }
      if (options.dryRun && !s.complete && (!s.started || !s.allTasksKnown)) unknownStages.push(s.node.name);
      if (!s.complete && !s.failed && !options.dryRun) {
        const blocker = this.blocker(s);
        options.logger({ type: "stage-blocked", stage: s.node.name, reason: this.cancelled ? "cancelled" : blocker ? `upstream stage "${blocker}" failed` : "not run" });
      }
    }
    const ok = !this.cancelled && counts.failed === 0 && [...this.states.values()].every((s) => s.complete || (options.dryRun && s.unknown));
    if (!options.dryRun) this.store.writeRun(record);
    const dry = options.dryRun ? { dryRun: { wouldRun, unknownStages } } : {};
    options.logger({ type: "run-done", ok, ...counts, ...dry, ms: Date.now() - started, runId, cancelled: this.cancelled });
    return { ok, cancelled: this.cancelled, record, ...counts };
  }

  /** Remember each stage's finished tasks in one file, where that changed what the file says. */
  private saveStageIndexes(): void {
    for (const state of this.states.values()) {
      const done = state.tasks.filter((t) => t.status === "done");
      if (!done.length || (done.length === state.index.size && done.every((t) => state.index.has(t.key)))) continue;
      this.store.writeStageIndex(state.node.name, new Map(done.map((t) => [t.key, t.outputs!])));
    }
  }

  /** Whether this run covers the stage (it is a target or something a target needs). */
  selected(stage: string): boolean {
    return this.states.has(stage);
  }

  /** The targets and every stage they need, in pipeline order. */
  private selectStages(targets: string[]): StageNode[] {
    if (!targets.length) return this.pipeline.stages;
    const wanted = new Set<string>();
    const add = (name: string): void => {
      if (wanted.has(name)) return;
      wanted.add(name);
      for (const b of Object.values(this.pipeline.byName.get(name)!.inputs)) if (b.source === "stage") add(b.stage);
    };
    for (const t of targets) add(t);
    return this.pipeline.stages.filter((s) => wanted.has(s.name));
  }

  private blocker(state: StageState): string | undefined {
    for (const b of Object.values(state.node.inputs)) {
      if (b.source !== "stage") continue;
      const up = this.states.get(b.stage)!;
      if (up.failed) return b.stage;
      const further = this.blocker(up);
      if (further) return further;
    }
    return undefined;
  }

  private consumers(stage: string): StageState[] {
    return [...this.states.values()].filter((s) => Object.values(s.node.inputs).some((b) => b.source === "stage" && b.stage === stage));
  }

  /** Start a stage once all its whole inputs are known: create its tasks (or the first of them). */
  private tryStart(state: StageState): void {
    if (state.started) return;
    const { node } = state;
    const whole: Record<string, Assembled> = {};
    for (const [name, binding] of Object.entries(node.inputs)) {
      if (binding.source === "stage") {
        const up = this.states.get(binding.stage)!;
        if (up.unknown) state.unknown = true;
        if (name === node.eachInput) continue;
        if (!up.complete) return;
        whole[name] = up.outputs![binding.output];
      } else {
        const value = this.fileInputs.get(binding.source === "glob" ? `glob:${binding.pattern}` : `file:${binding.path}`)!;
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
    this.options.logger({ type: "stage-start", stage: node.name });

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

  /** Key one task; restore it from the cache when possible, else queue it. */
  private addTask(state: StageState, itemId: string | undefined, order: number[], parentMeta: JsonObject, params: JsonObject, mapped: Record<string, PlannedItem>): void {
    const { node } = state;
    const inputHashes: Record<string, string> = { ...state.wholeHashes };
    for (const [name, item] of Object.entries(mapped)) inputHashes[name] = itemHash(item);
    const parts: KeyParts = {
      kind: node.kindName, version: node.kind.version, code: state.code, params: keyedParams(params, node.kind.executionParams), seed: deriveSeed(this.pipeline.seed, node.kindName, itemId),
      ...(itemId !== undefined ? { itemId } : {}), inputs: inputHashes,
    };
    const key = taskKey(parts);
    const task: TaskState = { stage: node.name, itemId, key, parts, order, parentMeta, mapped, params, status: "ready", lostFiles: false };
    state.tasks.push(task);
    state.unfinished++;

    const forced = this.options.force?.includes(node.name);
    let cached = forced ? undefined : this.store.completeTask(key, state.index);
    if (cached && this.options.rehash && !this.rehashed(key, cached)) cached = undefined;
    if (cached) {
      task.status = "done";
      task.outputs = cached;
      this.options.logger({ type: "task-done", stage: node.name, item: itemId, source: "cached", ms: 0, key });
      this.taskFinished(state, task);
      return;
    }
    task.lostFiles = !forced && this.store.readTask(key) !== undefined;
    if (this.options.dryRun) {
      task.status = "would-run";
      state.unknown = true;
      this.options.logger({ type: "task-would-run", stage: node.name, item: itemId, key });
      this.options.onWouldRun?.(task);
      return;
    }
    if (this.stopping) {
      task.status = "skipped";
      return;
    }
    const i = this.stageIndex.get(node.name)!;
    (this.ready[i] ??= []).push(task);
    this.readyCount++;
  }

  private pump(): void {
    while (!this.stopping && this.running < this.executor.slots && this.readyCount) {
      const queue = this.ready.findLast((q) => q?.length)!;
      const task = queue.shift()!;
      this.readyCount--;
      this.launch(task);
    }
    if (this.stopping) {
      for (const queue of this.ready) for (const t of queue?.splice(0) ?? []) t.status = "skipped";
      this.readyCount = 0;
    }
    if (this.running === 0 && (this.stopping || this.readyCount === 0)) this.finish();
  }

  private launch(task: TaskState): void {
    const state = this.states.get(task.stage)!;
    const { node } = state;
    task.status = "running";
    this.running++;
    const started = Date.now();
    const { logger } = this.options;
    logger({ type: "task-start", stage: node.name, item: task.itemId });
    const outDir = this.store.makeTmpDir(`${node.name}-${task.itemId ?? "all"}`);
    const controller = new AbortController();
    const onCancel = (): void => controller.abort();
    this.options.signal?.addEventListener("abort", onCancel, { once: true });
    this.executor
      .run(
        {
          modulePath: node.modulePath, stage: node.name, kind: node.kindName, params: task.params,
          inputs: this.taskInputs(state, task), seed: task.parts.seed, itemId: task.itemId, storeRoot: this.store.root, outDir,
          scratchDir: this.store.scratchDir(task.key), resources: node.resources,
        },
        (m) => {
          if (m.type === "progress") logger({ type: "task-progress", stage: node.name, item: task.itemId, done: m.done, total: m.total, ...(m.note ? { note: m.note } : {}) });
          else if (m.type === "warning") logger({ type: "warning", message: `${taskName(node.name, task.itemId)}: ${m.message}` });
          else logger({ type: "task-log", stage: node.name, item: task.itemId, message: m.message });
        },
        controller.signal,
      )
      .then(
        ({ outputs, measurements }) => this.guard(() => {
          task.ms = Date.now() - started;
          task.status = "done";
          task.outputs = outputs;
          task.measurements = measurements;
          const record: TaskRecord = {
            ...task.parts, key: task.key, stage: node.name, outputs, reads: this.taskReads(state, task),
            ...(Object.keys(measurements).length ? { measurements } : {}), durationMs: task.ms, finishedAt: new Date().toISOString(),
          };
          this.warnIfForcedResultDiffers(task, outputs);
          this.store.writeTask(record);
          this.store.removeScratch(task.key);
          logger({ type: "task-done", stage: node.name, item: task.itemId, source: "ran", ms: task.ms, key: task.key });
          this.taskFinished(state, task);
        }),
        (err: unknown) => {
          if (isDiskFull(err)) {
            task.status = "failed";
            this.guard(() => { throw asDiskFull(err, this.store.root); });
            return;
          }
          if (this.cancelled) {
            // Stopped by the user, not failed: its scratch folder stays for the next attempt.
            task.status = "skipped";
            return;
          }
          const failure = asTaskFailure(err);
          task.status = "failed";
          task.failure = failure;
          state.failed = true;
          logger({ type: "task-failed", stage: node.name, item: task.itemId, reason: failure.reason, error: failure.message, ...(failure.logPath ? { logPath: failure.logPath } : {}) });
          if (!this.options.keepGoing) this.stopping = true;
        },
      )
      .finally(() => {
        this.options.signal?.removeEventListener("abort", onCancel);
        this.running--;
        this.pump();
      });
  }

  /** What the stage receives: paths of every input file, with item ids and meta. */
  private taskInputs(state: StageState, task: TaskState): Record<string, InputValue> {
    const inputs: Record<string, InputValue> = {};
    for (const [name, value] of Object.entries(state.whole!)) inputs[name] = toInputValue(this.locate, value);
    for (const [name, item] of Object.entries(task.mapped)) inputs[name] = toItemIn(this.locate, item);
    return inputs;
  }

  /**
   * Run the engine's own bookkeeping for a task (records, publishing): a fault there (a full
   * disk) is not the task's failure but the run's end, reported once everything running stopped.
   */
  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.fatal ??= asDiskFull(err, this.store.root);
      this.stopping = true;
    }
  }

  /**
   * `--rehash` trusts no cached byte: a cached result counts only if every file it holds still
   * hashes to its name and the task did not read a file found damaged in this run (its
   * result may have been made from the bad bytes). Upstream tasks are checked first, so a
   * damaged file is known before the tasks that read it are.
   */
  private rehashed(key: string, outputs: TaskOutputs): boolean {
    for (const output of Object.values(outputs)) {
      for (const artifact of output.type === "artifact" ? [output] : output.items) {
        for (const { hash } of Object.values(artifact.files)) {
          if (this.intact.has(hash)) continue;
          if (this.damaged.has(hash) || !this.store.blobIntactSync(hash)) {
            this.damaged.add(hash);
            return false;
          }
          this.intact.add(hash);
        }
      }
    }
    return !this.damaged.size || !(this.store.readTask(key)?.reads ?? []).some((h) => this.damaged.has(h));
  }

  /**
   * A forced task that makes other outputs than the record under the same key: one of them was
   * made from damaged bytes, or the stage is not deterministic. Either way the user should know.
   */
  private warnIfForcedResultDiffers(task: TaskState, outputs: TaskOutputs): void {
    if (!this.options.force?.includes(task.stage)) return;
    const before = this.store.readTask(task.key);
    if (!before || canonicalJson(before.outputs) === canonicalJson(outputs)) return;
    this.options.logger({
      type: "warning",
      message: `${task.stage}${task.itemId ? `[${task.itemId}]` : ""} made other outputs than its cached result under the same key: ` +
        "its inputs may be damaged (run dag verify) or the stage kind is not deterministic",
    });
  }

  /** The hashes of the cached files a task was given (user files are read in place, not cached). */
  private taskReads(state: StageState, task: TaskState): string[] {
    const reads = new Set<string>();
    const add = (files: Record<string, FileRef>): void => {
      for (const ref of Object.values(files)) if (!ref.source) reads.add(ref.hash);
    };
    for (const value of Object.values(state.whole!)) {
      if (value.type === "artifact") add(value.files);
      else for (const item of value.items) add(item.files);
    }
    for (const item of Object.values(task.mapped)) add(item.files);
    return [...reads].sort();
  }

  private taskFinished(state: StageState, task: TaskState): void {
    state.unfinished--;
    // Stream this task's items to the stages that map over them: they need not wait for the rest.
    for (const consumer of this.consumers(state.node.name)) {
      const eachName = consumer.node.eachInput;
      const binding = eachName ? consumer.node.inputs[eachName] : undefined;
      if (!binding || binding.source !== "stage" || binding.stage !== state.node.name) continue;
      if (!state.node.perItem) continue; // a whole stage's collection is handed over when it completes
      const items = taskItems(task.outputs![binding.output], task.itemId, task.order, task.parentMeta);
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
        const items = sorted.flatMap((t) => taskItems(t.outputs![name], t.itemId, t.order, t.parentMeta));
        outputs[name] = { type: "collection", items };
      } else {
        const out = sorted[0].outputs![name];
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
    this.options.logger({ type: "stage-done", stage: node.name, ...counts, failed: 0, skipped: 0, ms: Date.now() - (state.startedAt ?? Date.now()) });
    if (!this.options.dryRun) this.options.onStageComplete?.(node, outputs);

    for (const consumer of this.consumers(node.name)) {
      const eachName = consumer.node.eachInput;
      const binding = eachName ? consumer.node.inputs[eachName] : undefined;
      const mapsOverThis = binding?.source === "stage" && binding.stage === node.name;
      if (mapsOverThis) {
        if (!node.perItem) {
          const value = outputs[binding.output];
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
    this.options.logger({ type: "task-failed", stage: state.node.name, reason: "stage-error", error: `stage kind "${state.node.kindName}" ${message}` });
    if (!this.options.keepGoing) this.stopping = true;
  }

  private emitTotal(state: StageState): void {
    this.options.logger({ type: "stage-total", stage: state.node.name, total: state.tasks.length, final: state.allTasksKnown });
  }

  private record(runId: string, started: number): RunRecord {
    const stages: Record<string, RunStageEntry> = {};
    for (const [name, s] of this.states) {
      const tasks: RunStageEntry["tasks"] = {};
      for (const t of s.tasks) {
        tasks[t.itemId ?? ""] = {
          key: t.key,
          source: t.status === "done" ? (t.ms === undefined ? "cached" : "ran") : t.status === "failed" ? "failed" : "skipped",
          ...(t.ms !== undefined ? { ms: t.ms } : {}),
          ...(t.failure ? { error: t.failure.message, reason: t.failure.reason, ...(t.failure.logPath ? { logPath: t.failure.logPath } : {}) } : {}),
          ...(t.measurements && Object.keys(t.measurements).length ? { measurements: t.measurements } : {}),
        };
      }
      const outputs: Record<string, string> = {};
      for (const [o, v] of Object.entries(s.outputs ?? {})) outputs[o] = assembledHash(v);
      stages[name] = { kind: s.node.kindName, params: s.node.params, tasks, outputs };
    }
    return {
      id: runId,
      ...(this.options.name ? { name: this.options.name } : {}),
      pipeline: this.pipeline.file,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      ok: !this.cancelled && [...this.states.values()].every((s) => s.complete),
      targets: this.options.targets ?? [],
      stages,
    };
  }
}

const REASONS = new Set<FailureReason>(["stage-error", "worker-crashed", "out-of-memory", "timeout", "cancelled", "job-failed"]);

/**
 * What an executor's rejection says about the failure. A `TaskFailure` carries its reason; one
 * that crossed a thread or process as plain data keeps its fields but not its class; anything
 * else is the stage's own error (its message kept).
 */
export function asTaskFailure(err: unknown): TaskFailure {
  if (err instanceof TaskFailure) return err;
  const fields = (typeof err === "object" && err !== null ? err : {}) as { reason?: unknown; message?: unknown; logPath?: unknown };
  const message = err instanceof Error ? err.message || String(err) : typeof fields.message === "string" ? fields.message : String(err);
  const reason = REASONS.has(fields.reason as FailureReason) ? (fields.reason as FailureReason) : "stage-error";
  return new TaskFailure(reason, message, typeof fields.logPath === "string" ? fields.logPath : undefined);
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
