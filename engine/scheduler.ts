import { randomBytes } from "node:crypto";
import type { Cache } from "../cache/cache.js";
import type { RunRecord } from "../cache/records.js";
import { LocalCache } from "../cache/local-cache.js";
import { Store } from "../cache/store.js";
import type { Assembled } from "./artifacts.js";
import { asDiskFull, isDiskFull } from "./errors.js";
import type { Logger } from "./events.js";
import type { Executor } from "./executor.js";
import { liveIdentity, liveStatePath, LiveStatusWriter, type LiveStage, type LiveState } from "./live-status.js";
import { taskName } from "./loggers/format.js";
import type { Pipeline, StageNode } from "./pipeline.js";
import { Plan, planInputs, selectStages, type PlannedTask, type Task } from "./plan.js";
import { Rebuilder, runRecord } from "./rebuilder.js";
import { Checker, type CheckSummary } from "./check.js";
import { queryPlan } from "./status.js";
import { TaskFailure, type FailureReason } from "./task-spec.js";

/** Why a stage that nothing blocked did not finish: the run stopped at a failure elsewhere. */
const NOT_RUN = "not run: the run stopped at the first failure (--keep-going runs what does not depend on it)";

export type { PlannedTask } from "./plan.js";

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
  /** Stages whose cached tasks run again in a scratch area to be compared with the cache (`--check`); nothing of it is kept. */
  check?: string[];
  name?: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Where results are looked up and kept; the store under the pipeline's `.dag/` unless given. */
  cache?: Cache;
  /** Called when a stage completes with its assembled outputs (results publishing). */
  onStageComplete?: (stage: StageNode, outputs: Record<string, Assembled>) => void;
  /** Called for every task that would run in a dry run, to explain why. */
  onWouldRun?: (task: PlannedTask) => void;
}

export interface RunResult {
  ok: boolean;
  cancelled: boolean;
  record: RunRecord;
  ran: number;
  cached: number;
  failed: number;
  /** `check`: what the checks found. */
  check?: CheckSummary;
}

/**
 * Bring the pipeline's targets up to date. The plan says what exists and what is stale, the
 * rebuilder restores what the cache holds and keeps what ran; this class is the scheduler
 * between them and the executor: a ready queue, as many tasks in flight as it has slots,
 * cancellation, and a failure event for every task the executor could not finish.
 */
export class Scheduler {
  private plan?: Plan;
  private rebuilder?: Rebuilder;
  /**
   * Ready tasks, one queue per stage in pipeline order. The latest stage with work goes first
   * (depth first): an item flows through to its last stage before the next item starts, so
   * first results come early and finished work is not held back by a long first stage.
   */
  private readonly ready: Task[][] = [];
  private readyCount = 0;
  private readonly stageIndex = new Map<string, number>();
  private running = 0;
  private stopping = false;
  private cancelled = false;
  /** An error of the engine itself (a full disk while writing the cache): ends the run, then is thrown. */
  private fatal?: unknown;
  private finish!: () => void;
  /** Handed to an executor that queues (a cluster) and not started there yet. */
  private readonly inExecutorQueue = new Set<Task>();
  private live?: LiveStatusWriter;
  private checker?: Checker;

  constructor(private readonly pipeline: Pipeline, private readonly executor: Executor, private readonly options: RunOptions) {}

  /** Whether this run covers the stage (it is a target or something a target needs). */
  selected(stage: string): boolean {
    return this.plan?.stages.has(stage) ?? false;
  }

  async run(): Promise<RunResult> {
    const { pipeline, options } = this;
    const started = Date.now();
    // Sortable by time to the millisecond, unique by its random tail.
    const runId = `${new Date(started).toISOString().replace(/[-:.]/g, "")}-${randomBytes(3).toString("hex")}`;
    const stages = selectStages(pipeline, options.targets ?? []);
    if (options.dryRun) return this.dryRun(runId, started, stages);

    const cache = options.cache ?? new LocalCache(new Store(pipeline.cacheDir));
    cache.open();
    options.logger({ type: "run-start", runId, pipeline: pipeline.file, stages: stages.map((s) => s.name), jobs: this.executor.slots, dryRun: false });
    const inputs = await planInputs(pipeline, stages, { rehash: options.rehash, persist: cache });
    const rebuilder = (this.rebuilder = new Rebuilder(cache, options));
    stages.forEach((s, i) => this.stageIndex.set(s.name, i));
    const checker = (this.checker = options.check ? new Checker(new Set(options.check), cache, options.logger) : undefined);
    const plan = (this.plan = new Plan(pipeline, stages, inputs, {
      restore: (task) => rebuilder.restore(task),
      restored: (task) => {
        if (checker?.covers(task.stage)) this.enqueue(checker.rerun(task, task.outputs!));
      },
      stale: (task) => this.enqueue(task),
      stageFailed: () => {
        if (!options.keepGoing) this.stopping = true;
      },
      stageComplete: options.onStageComplete,
      logger: options.logger,
    }));

    const abort = (): void => {
      this.cancelled = true;
      this.stopping = true;
      this.pump();
    };
    options.signal?.addEventListener("abort", abort, { once: true });
    const identity = liveIdentity(runId, this.executor.name, started);
    this.live = new LiveStatusWriter(liveStatePath(pipeline.cacheDir), () => ({ ...identity, updatedAt: "", stages: this.liveStages() }));
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    try {
      plan.start();
      this.pump();
      await done;
    } finally {
      options.signal?.removeEventListener("abort", abort);
      this.live.close();
    }

    const record = (): RunRecord => runRecord(plan, pipeline, { id: runId, name: options.name, started, targets: options.targets ?? [], cancelled: this.cancelled });
    if (this.fatal) {
      // The cache could not be written (a full disk): keep what can be kept, then say why.
      try { rebuilder.finish(plan, record()); } catch { /* the same fault */ }
      throw this.fatal;
    }
    const counts = countTasks(plan);
    const check = checker && { ...checker.summary, notCached: [...plan.stages.values()].filter((s) => checker.covers(s.node.name)).flatMap((s) => s.tasks).filter((t) => t.ms !== undefined).length };
    for (const s of plan.stages.values()) {
      if (s.complete || s.failed) continue;
      const blocker = plan.blocker(s);
      options.logger({ type: "stage-blocked", stage: s.node.name, reason: this.cancelled ? "cancelled" : blocker ? `upstream stage "${blocker}" failed` : NOT_RUN });
    }
    const ok = !this.cancelled && counts.failed === 0 && [...plan.stages.values()].every((s) => s.complete);
    const finished = record();
    rebuilder.finish(plan, finished);
    options.logger({ type: "run-done", ok, ran: counts.ran, cached: counts.cached, failed: counts.failed, ms: Date.now() - started, runId, cancelled: this.cancelled, ...(check ? { check } : {}) });
    return { ok, cancelled: this.cancelled, record: finished, ran: counts.ran, cached: counts.cached, failed: counts.failed, ...(check ? { check } : {}) };
  }

  /** A dry run is a query of the plan: nothing runs, nothing is written. */
  private async dryRun(runId: string, started: number, stages: StageNode[]): Promise<RunResult> {
    const { pipeline, options } = this;
    options.logger({ type: "run-start", runId, pipeline: pipeline.file, stages: stages.map((s) => s.name), jobs: this.executor.slots, dryRun: true });
    const plan = (this.plan = await queryPlan(pipeline, { ...options, targets: options.targets ?? [] }));
    const counts = countTasks(plan);
    const unknownStages = [...plan.stages.values()].filter((s) => !s.complete && (!s.started || !s.allTasksKnown)).map((s) => s.node.name);
    const ok = counts.failed === 0 && [...plan.stages.values()].every((s) => s.complete || s.unknown);
    const record = runRecord(plan, pipeline, { id: runId, name: options.name, started, targets: options.targets ?? [], cancelled: false });
    options.logger({
      type: "run-done", ok, ran: counts.ran, cached: counts.cached, failed: counts.failed, dryRun: { wouldRun: counts.wouldRun, unknownStages },
      ms: Date.now() - started, runId, cancelled: false,
    });
    return { ok, cancelled: false, record, ran: counts.ran, cached: counts.cached, failed: counts.failed };
  }

  private enqueue(task: Task): void {
    if (this.stopping) {
      task.status = "skipped";
      this.checker?.forget(task);
      return;
    }
    (this.ready[this.stageIndex.get(task.stage)!] ??= []).push(task);
    this.readyCount++;
  }

  private pump(): void {
    this.live?.changed();
    while (!this.stopping && this.running < this.executor.slots && this.readyCount) {
      const queue = this.ready.findLast((q) => q?.length)!;
      const task = queue.shift()!;
      this.readyCount--;
      this.launch(task);
    }
    if (this.stopping) {
      for (const queue of this.ready) {
        for (const t of queue?.splice(0) ?? []) {
          t.status = "skipped";
          this.checker?.forget(t);
        }
      }
      this.readyCount = 0;
    }
    if (this.running === 0 && (this.stopping || this.readyCount === 0)) this.finish();
  }

  private launch(task: Task): void {
    if (this.checker?.isCheck(task)) {
      this.launchCheck(task, this.checker);
      return;
    }
    const plan = this.plan!;
    const rebuilder = this.rebuilder!;
    const { logger } = this.options;
    task.status = "running";
    this.running++;
    const started = Date.now();
    logger({ type: "task-start", stage: task.stage, item: task.itemId });
    const spec = rebuilder.spec(plan, task);
    if (this.executor.queues) this.inExecutorQueue.add(task);
    const controller = new AbortController();
    const onCancel = (): void => controller.abort();
    this.options.signal?.addEventListener("abort", onCancel, { once: true });
    this.executor
      .run(
        spec,
        (m) => {
          if (m.type === "started") {
            if (this.inExecutorQueue.delete(task)) this.live?.changed();
          } else if (m.type === "progress") logger({ type: "task-progress", stage: task.stage, item: task.itemId, done: m.done, total: m.total, ...(m.note ? { note: m.note } : {}) });
          else if (m.type === "warning") logger({ type: "warning", message: `${taskName(task.stage, task.itemId)}: ${m.message}` });
          else logger({ type: "task-log", stage: task.stage, item: task.itemId, message: m.message });
        },
        controller.signal,
      )
      .then(
        (result) => this.guard(() => {
          task.ms = Date.now() - started;
          task.measurements = result.measurements;
          if (result.route) task.route = result.route;
          rebuilder.built(plan, task, result, task.ms);
          logger({ type: "task-done", stage: task.stage, item: task.itemId, source: "ran", ms: task.ms, key: task.key });
          plan.done(task, result.outputs);
        }),
        (err: unknown) => {
          if (isDiskFull(err)) {
            task.status = "failed";
            this.guard(() => { throw asDiskFull(err, rebuilder.cache.root); });
            return;
          }
          if (this.cancelled) {
            // Stopped by the user, not failed: its scratch folder stays for the next attempt.
            task.status = "skipped";
            return;
          }
          const failure = asTaskFailure(err);
          plan.fail(task, failure);
          logger({ type: "task-failed", stage: task.stage, item: task.itemId, reason: failure.reason, error: failure.message, ...(failure.logPath ? { logPath: failure.logPath } : {}) });
          if (!this.options.keepGoing) this.stopping = true;
        },
      )
      .finally(() => {
        this.options.signal?.removeEventListener("abort", onCancel);
        this.inExecutorQueue.delete(task);
        this.running--;
        this.pump();
      });
  }

  /**
   * Run a cached task again (`--check`) on the same executor, into folders of its own, and compare.
   * Its messages are not the run's (the cached task's log and warnings were said when it ran);
   * only what the comparison finds is reported.
   */
  private launchCheck(task: Task, checker: Checker): void {
    this.running++;
    const folders = checker.folders(task);
    const controller = new AbortController();
    const onCancel = (): void => controller.abort();
    this.options.signal?.addEventListener("abort", onCancel, { once: true });
    this.executor
      .run(this.rebuilder!.spec(this.plan!, task, folders), () => {}, controller.signal)
      .then(
        (result) => checker.compare(task, result, folders),
        (err: unknown) => {
          if (isDiskFull(err)) this.guard(() => { throw asDiskFull(err, folders.root); });
          if (this.cancelled || isDiskFull(err)) checker.forget(task, folders);
          else checker.failed(task, asTaskFailure(err).message, folders);
        },
      )
      .catch((err: unknown) => this.guard(() => { throw err; }))
      .finally(() => {
        this.options.signal?.removeEventListener("abort", onCancel);
        this.running--;
        this.pump();
      });
  }

  /** Per stage, how many tasks wait, run, are done or failed (`dag status` during the run). */
  private liveStages(): LiveState["stages"] {
    const stages: LiveState["stages"] = {};
    for (const [name, state] of this.plan!.stages) {
      const s: LiveStage = { queued: 0, running: 0, done: 0, failed: 0, total: state.tasks.length, final: state.allTasksKnown };
      for (const t of state.tasks) {
        if (t.status === "ready") s.queued++;
        else if (t.status === "running") s[this.inExecutorQueue.has(t) ? "queued" : "running"]++;
        else if (t.status === "done") s.done++;
        else if (t.status === "failed") s.failed++;
      }
      stages[name] = s;
    }
    return stages;
  }

  /**
   * Run the engine's own bookkeeping for a task (records, publishing): a fault there (a full
   * disk) is not the task's failure but the run's end, reported once everything running stopped.
   */
  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.fatal ??= asDiskFull(err, this.rebuilder!.cache.root);
      this.stopping = true;
    }
  }
}

function countTasks(plan: Plan): { ran: number; cached: number; failed: number; wouldRun: number } {
  const counts = { ran: 0, cached: 0, failed: 0, wouldRun: 0 };
  for (const s of plan.stages.values()) {
    for (const t of s.tasks) {
      if (t.status === "done") counts[t.ms === undefined ? "cached" : "ran"]++;
      if (t.status === "failed") counts.failed++;
      if (t.status === "would-run") counts.wouldRun++;
    }
  }
  return counts;
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
