import { availableParallelism } from "node:os";
import type { TaskMessage, TaskResult, TaskSpec } from "./task-spec.js";

/**
 * Where tasks run. The scheduler decides what is ready; an executor only runs what it is given,
 * so another one (a cluster queue) can replace the local pool without touching the planner.
 */
export interface Executor {
  /** As `--executor` names it (`local`, `slurm`, ...). */
  readonly name: string;
  /** How many tasks may run at once. */
  readonly slots: number;
  /**
   * The task runs where it sees the cache at the same paths as the coordinator (another host on
   * a shared filesystem, another process here): `TaskSpec`'s absolute paths assume it.
   */
  readonly needsSharedFilesystem: boolean;
  /**
   * Tasks handed to `run` wait in a queue of the executor's own (a cluster's) before they run:
   * it sends `{ type: "started" }` when one starts, and until then `dag status` counts it as
   * queued. Absent or false: a task runs from the moment `run` is called.
   */
  readonly queues?: boolean;
  /**
   * Run one task; when `signal` aborts, the task should stop at its next check (see worker.ts).
   * A failure rejects with a `TaskFailure` (task-spec.ts) that says why.
   */
  run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult>;
  close(): Promise<void>;
}

export function defaultJobs(): number {
  return availableParallelism();
}
