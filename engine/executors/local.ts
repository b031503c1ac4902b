import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import type { Piscina } from "piscina";
import type { Executor } from "../executor.js";
import { TaskFailure, type TaskMessage, type TaskResult, type TaskSpec } from "../task-spec.js";
import type { ThreadAnswer } from "../worker.js";

const WORKER = fileURLToPath(new URL("../worker.js", import.meta.url));

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
    let answer: ThreadAnswer;
    try {
      const pool = await this.pool();
      answer = (await pool.run({ spec, port: port2, abortFlag }, { transferList: [port2] })) as ThreadAnswer;
    } catch (err) {
      throw threadFailure(err);
    } finally {
      signal.removeEventListener("abort", abort);
      port1.close();
    }
    if ("result" in answer) return answer.result;
    // A stage that stopped because it was asked to is cancelled, not broken.
    throw new TaskFailure(signal.aborted ? "cancelled" : "stage-error", answer.stageError);
  }

  async close(): Promise<void> {
    await (await this.poolInstance)?.destroy();
  }
}

/** Why a thread gave no answer: it ran out of heap, or it died (process.exit, a native crash). */
function threadFailure(err: unknown): TaskFailure {
  const message = err instanceof Error ? err.message : String(err);
  if ((err as NodeJS.ErrnoException | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY") {
    return new TaskFailure("out-of-memory", `the worker thread ran out of memory (${message}); give the stage less work per task or node more heap (NODE_OPTIONS=--max-old-space-size=MiB)`);
  }
  return new TaskFailure("worker-crashed", `the worker thread died without an answer: ${message}`);
}
