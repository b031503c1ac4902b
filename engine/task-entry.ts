import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { LocalPoolExecutor } from "./executors/local.js";
import { messageLine, TASK_EXIT, writeResult } from "./task-protocol.js";
import { TaskFailure, type FailureReason, type TaskSpec } from "./task-spec.js";

const EXIT_OF: Record<FailureReason, number> = {
  "stage-error": TASK_EXIT.stageError,
  "out-of-memory": TASK_EXIT.outOfMemory,
  "worker-crashed": TASK_EXIT.crashed,
  "timeout": TASK_EXIT.crashed,
  "job-failed": TASK_EXIT.crashed,
  "cancelled": TASK_EXIT.cancelled,
};

/**
 * `dag task DIR/spec.json`: run one task that a coordinator (`dag run --executor subprocess|slurm`)
 * wrote, in this process: the stage's files go into the store, its result into DIR/result.json,
 * its progress and log lines to stdout. SIGTERM or SIGINT (scancel, Ctrl-C) ask the stage to stop
 * at its next check. The stage runs in a thread of this process so that a stage busy in a loop
 * still sees that request (worker.ts).
 */
export async function runTaskFile(specFile: string): Promise<number> {
  const dir = dirname(resolve(specFile));
  let spec: TaskSpec;
  try {
    spec = JSON.parse(readFileSync(specFile, "utf8")) as TaskSpec;
    for (const field of ["modulePath", "storeRoot", "outDir", "scratchDir", "stage"] as const) {
      if (typeof spec[field] !== "string") throw new Error(`it has no "${field}"`);
    }
  } catch (err) {
    process.stderr.write(`dag task: cannot read the task spec ${specFile}: ${(err as Error).message}; dag task runs a spec that dag run wrote (--executor subprocess or slurm)\n`);
    return TASK_EXIT.badSpec;
  }
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(TASK_EXIT.cancelled);
    controller.abort();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const executor = new LocalPoolExecutor(1);
  try {
    const result = await executor.run(spec, (m) => void process.stdout.write(messageLine(m)), controller.signal);
    writeResult(dir, { ok: true, result });
    return TASK_EXIT.done;
  } catch (err) {
    const failure = err instanceof TaskFailure ? err : new TaskFailure("worker-crashed", (err as Error).message ?? String(err));
    writeResult(dir, { ok: false, reason: failure.reason, message: failure.message });
    process.stderr.write(`dag task: ${spec.stage}${spec.itemId ? `[${spec.itemId}]` : ""}: ${failure.message}\n`);
    return EXIT_OF[failure.reason];
  } finally {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    await executor.close();
  }
}
