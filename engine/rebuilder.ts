import type { Cache } from "../cache/cache.js";
import { outputFiles, type BlobHash, type RunRecord, type RunStageEntry, type TaskKey, type TaskRecord } from "../cache/records.js";
import { assembledHash, type Locate } from "./artifacts.js";
import type { Logger } from "./events.js";
import { canonicalJson } from "./hash.js";
import type { Pipeline } from "./pipeline.js";
import type { Plan, Task } from "./plan.js";
import type { TaskOutputs, TaskResult, TaskSpec } from "./task-spec.js";

export interface RebuildOptions {
  /** Stages whose cached results are ignored. */
  force?: string[];
  /** Trust no cached byte: re-hash every cached file a result would reuse. */
  rehash?: boolean;
  logger: Logger;
}

/**
 * Between the plan and the cache: whether a task's cached result may be restored, the spec of a
 * task that must run (where it reads and writes), and what is kept once it ran. It never runs
 * anything itself (that is the scheduler's executor) and knows the cache only as a `Cache`.
 */
export class Rebuilder {
  /** With --rehash: cached files found intact, and found damaged, in this run. */
  private readonly intact = new Set<BlobHash>();
  private readonly damaged = new Set<BlobHash>();
  readonly locate: Locate;

  constructor(readonly cache: Cache, private readonly options: RebuildOptions) {
    this.locate = (ref) => ref.source ?? cache.blobPath(ref.hash);
  }

  /** The task's cached outputs, if they can be trusted; else undefined (and whether files went missing). */
  restore(task: Task): TaskOutputs | undefined {
    const forced = this.options.force?.includes(task.stage);
    let cached = forced ? undefined : this.cache.get(task.key, task.stage);
    if (cached && this.options.rehash && !this.rehashed(task.key, cached)) cached = undefined;
    if (!cached) task.lostFiles = !forced && this.cache.record(task.key) !== undefined;
    return cached;
  }

  /** What an executor needs to run a stale task (or check a cached one): the stage, its inputs' paths, fresh folders to write. */
  spec(plan: Plan, task: Task, check?: { storeRoot: string; outDir: string; scratchDir: string }): TaskSpec {
    const { node } = plan.stages.get(task.stage)!;
    // A check (`run --check`) reads the cache's files but writes into a store and folders of its own.
    const { outDir, scratchDir } = check ?? this.cache.taskFolders(task.key, `${node.name}-${task.itemId ?? "all"}`);
    return {
      modulePath: node.modulePath, stage: node.name, kind: node.kindName, params: task.params,
      inputs: plan.taskInputs(task, this.locate), seed: task.parts.seed, itemId: task.itemId, storeRoot: check?.storeRoot ?? this.cache.root, outDir,
      scratchDir, resources: node.resources, ...(task.parts.machine !== undefined ? { machine: task.parts.machine } : {}),
    };
  }

  /** A task ran and put its files in the cache: keep its record (what it made, what it read, how it went). */
  built(plan: Plan, task: Task, result: TaskResult, ms: number): void {
    const { outputs, measurements, route } = result;
    const record: TaskRecord = {
      ...task.parts, key: task.key, stage: task.stage, outputs, reads: plan.taskReads(task),
      ...(Object.keys(measurements).length ? { measurements } : {}), ...(route ? { route } : {}), durationMs: ms, finishedAt: new Date().toISOString(),
    };
    this.warnIfForcedResultDiffers(task, outputs);
    this.cache.set(record);
    this.cache.settled(task.key);
  }

  /** The end of a run: each stage's finished tasks in one index, and the run record. */
  finish(plan: Plan, record: RunRecord): void {
    for (const [name, state] of plan.stages) {
      this.cache.setStage(name, new Map(state.tasks.filter((t) => t.status === "done").map((t) => [t.key, t.outputs!])));
    }
    this.cache.writeRun(record);
  }

  /**
   * `--rehash` trusts no cached byte: a cached result counts only if every file it holds still
   * hashes to its name and the task did not read a file found damaged in this run (its
   * result may have been made from the bad bytes). Upstream tasks are checked first, so a
   * damaged file is known before the tasks that read it are.
   */
  private rehashed(key: TaskKey, outputs: TaskOutputs): boolean {
    for (const { hash } of outputFiles(outputs) ?? []) {
      if (this.intact.has(hash)) continue;
      if (this.damaged.has(hash) || !this.cache.intact(hash)) {
        this.damaged.add(hash);
        return false;
      }
      this.intact.add(hash);
    }
    return !this.damaged.size || !(this.cache.record(key)?.reads ?? []).some((h) => this.damaged.has(h));
  }

  /**
   * A forced task that makes other outputs than the record under the same key: one of them was
   * made from damaged bytes, or the stage is not deterministic. Either way the user should know.
   */
  private warnIfForcedResultDiffers(task: Task, outputs: TaskOutputs): void {
    if (!this.options.force?.includes(task.stage)) return;
    const before = this.cache.record(task.key);
    if (!before || canonicalJson(before.outputs) === canonicalJson(outputs)) return;
    this.options.logger({
      type: "warning",
      message: `${task.stage}${task.itemId ? `[${task.itemId}]` : ""} made other outputs than its cached result under the same key: ` +
        "its inputs may be damaged (run dag verify) or the stage kind is not deterministic",
    });
  }
}

/** The run record: every task's key and whether it ran, came from the cache, failed or was skipped. */
export function runRecord(plan: Plan, pipeline: Pipeline, run: { id: string; name?: string; started: number; targets: string[]; cancelled: boolean }): RunRecord {
  const stages: Record<string, RunStageEntry> = {};
  for (const [name, s] of plan.stages) {
    const tasks: RunStageEntry["tasks"] = {};
    for (const t of s.tasks) {
      tasks[t.itemId ?? ""] = {
        key: t.key,
        source: t.status === "done" ? (t.ms === undefined ? "cached" : "ran") : t.status === "failed" ? "failed" : "skipped",
        ...(t.ms !== undefined ? { ms: t.ms } : {}),
        ...(t.failure ? { error: t.failure.message, reason: t.failure.reason, ...(t.failure.logPath ? { logPath: t.failure.logPath } : {}) } : {}),
        ...(t.measurements && Object.keys(t.measurements).length ? { measurements: t.measurements } : {}),
        ...(t.route ? { route: t.route } : {}),
      };
    }
    const outputs: Record<string, string> = {};
    for (const [o, v] of Object.entries(s.outputs ?? {})) outputs[o] = assembledHash(v);
    stages[name] = { kind: s.node.kindName, params: s.node.params, tasks, outputs };
  }
  return {
    id: run.id,
    ...(run.name ? { name: run.name } : {}),
    pipeline: pipeline.file,
    startedAt: new Date(run.started).toISOString(),
    finishedAt: new Date().toISOString(),
    ok: !run.cancelled && [...plan.stages.values()].every((s) => s.complete),
    targets: run.targets,
    stages,
  };
}
