import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import type { Piscina } from "piscina";
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
   * Run one task; when `signal` aborts, the task should stop at its next check (see worker.ts).
   * A failure rejects with a `TaskFailure` (task-spec.ts) that says why.
   */
  run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult>;
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));

export function defaultJobs(): number {
  return availableParallelism();
}

/** Worker threads on this machine (Piscina), one task per thread. */
export class LocalPoolExecutor implements Executor {
  readonly name = "local";
  readonly needsSharedFilesystem = false;
  private poolInstance?: Promise<Piscina>;

  constructor(readonly slots: number) {}

  /**
   * Threads start with the first task, and Piscina is imported only then: a run that restores
   * everything from the cache neither starts threads nor pays for loading the pool.
   */
  private pool(): Promise<Piscina> {
    return (this.poolInstance ??= import("piscina").then(({ Piscina }) => new Piscina({
      filename: WORKER,
      minThreads: Math.min(this.slots, 1),
      maxThreads: this.slots,
      // Stage kinds load heavy libraries (OpenCV, HDF5): keep threads warm across tasks.
      idleTimeout: 60_000,
      // A task is queued only when a thread is free: the scheduler never oversubscribes.
      concurrentTasksPerWorker: 1,
    })));
  }

  async run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on("message", onMessage);
    // Shared memory reaches a worker busy in a loop; the message wakes one that awaits.
    const abortFlag = new Int32Array(new SharedArrayBuffer(4));
    const abort = (): void => {
      Atomics.store(abortFlag, 0, 1);
      port1.postMessage({ type: "abort" });
    };
    signal.addEventListener("abort", abort, { once: true });
    try {
      const pool = await this.pool();
      return (await pool.run({ spec, port: port2, abortFlag }, { transferList: [port2] })) as TaskResult;
    } finally {
      signal.removeEventListener("abort", abort);
      port1.close();
    }
  }

  async close(): Promise<void> {
    await (await this.poolInstance)?.destroy();
  }
}
