import type { TaskOutput } from "../cache/records.js";
import type { InputValue, Json, JsonObject, Resources } from "./stage-api.js";

/** Everything a worker needs to run one task; plain data, so it crosses thread boundaries. */
export interface TaskSpec {
  modulePath: string;
  stage: string;
  kind: string;
  params: JsonObject;
  inputs: Record<string, InputValue>;
  seed: number;
  itemId?: string;
  storeRoot: string;
  outDir: string;
  /** The task's resumable scratch folder (`ctx.scratch`): kept across attempts, keyed by the task key. */
  scratchDir: string;
  /** What the task asks of the machine that runs it (the stage's `resources`, over its kind's defaults). */
  resources: Resources;
  /** The kind's machineKey as planned (`ctx.machine`), where it has one. */
  machine?: Json;
}

/** What a finished task gives back: its outputs (keyed), and how its run went (never keyed). */
export interface TaskResult {
  outputs: TaskOutputs;
  measurements: JsonObject;
  /** The compute route the task said it took (ctx.route). */
  route?: JsonObject;
}

/** Messages a running task sends back while it works. */
export type TaskMessage =
  | { type: "progress"; done: number; total: number; note?: string }
  | { type: "log"; message: string }
  | { type: "warning"; message: string }
  /** The task left the executor's own queue and runs (sent only by executors with `queues`). */
  | { type: "started" };

export type TaskOutputs = Record<string, TaskOutput>;

/** Why a task did not produce its outputs. Every executor reports failures as one of these. */
export type FailureReason =
  | "stage-error" /** the stage threw: a bug or bad input, the message says which */
  | "worker-crashed" /** the thread or process running the task died without an answer */
  | "out-of-memory" /** killed for memory (a worker's heap limit, the cluster's OOM killer) */
  | "timeout" /** ran past its time limit */
  | "cancelled" /** the run was cancelled (Ctrl-C, a failed sibling without --keep-going) */
  | "job-failed"; /** the cluster reports the job failed (node failure, preempted, sbatch refused) */

/** The error an executor rejects with when a task fails: a reason, a message, where to read more. */
export class TaskFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    /** A log file with the task's own output (a cluster job's stdout/stderr), when there is one. */
    readonly logPath?: string,
  ) {
    super(message);
    this.name = "TaskFailure";
  }
}
