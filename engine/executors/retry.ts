import type { Executor } from "../executor.js";
import { TaskFailure, type FailureReason, type TaskMessage, type TaskResult, type TaskSpec } from "../task-spec.js";

/** Failures worth another attempt: where the task ran went wrong, not the stage (its error would repeat). */
const RETRIED: ReadonlySet<FailureReason> = new Set(["worker-crashed", "job-failed", "timeout", "out-of-memory"]);

/**
 * Any executor, with a task that failed for a reason of where it ran (a killed or lost job, a
 * crashed worker, a node that went down) run again up to `retries` times. Each retry is said as
 * a warning of the task; the last failure is the task's.
 */
export class RetryingExecutor implements Executor {
  constructor(private readonly inner: Executor, readonly retries: number) {}

  get name(): string { return this.inner.name; }
  get slots(): number { return this.inner.slots; }
  get needsSharedFilesystem(): boolean { return this.inner.needsSharedFilesystem; }

  async run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inner.run(spec, onMessage, signal);
      } catch (err) {
        if (!(err instanceof TaskFailure) || !RETRIED.has(err.reason) || attempt > this.retries || signal.aborted) throw err;
        onMessage({ type: "warning", message: `attempt ${attempt} failed (${err.reason}: ${err.message}${err.logPath ? `; log: ${err.logPath}` : ""}); trying again (attempt ${attempt + 1} of ${this.retries + 1})` });
      }
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
