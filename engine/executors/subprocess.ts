import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Executor } from "../executor.js";
import { fromResultFile, lineSplitter, parseLine, readResult, SPEC_FILE } from "../task-protocol.js";
import { TaskFailure, type TaskMessage, type TaskResult, type TaskSpec } from "../task-spec.js";
import { TaskDirs } from "./task-dirs.js";

/** The dag command line, as a task process on this host or a cluster node starts it. */
export const CLI_PATH = fileURLToPath(new URL("../cli.js", import.meta.url));

/**
 * Each task in a child process of its own (`dag task`), here: what a cluster node does, without
 * the cluster. It proves that a task needs nothing of the coordinator but its spec and the store,
 * and isolates tasks from each other (a task that kills its process takes no pool thread along).
 */
export class SubprocessExecutor implements Executor {
  readonly name = "subprocess";
  readonly needsSharedFilesystem = true;
  private dirs?: TaskDirs;

  constructor(readonly slots: number) {}

  run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult> {
    const dirs = (this.dirs ??= new TaskDirs(spec.storeRoot, this.name));
    const dir = dirs.make(spec);
    return new Promise<TaskResult>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, "task", `${dir}/${SPEC_FILE}`], { stdio: ["ignore", "pipe", "pipe"] });
      const lines = lineSplitter((line) => {
        const m = parseLine(line);
        if (m) onMessage(m);
      });
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => lines.push(chunk));
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
      const abort = (): void => void child.kill("SIGTERM");
      signal.addEventListener("abort", abort, { once: true });
      child.on("error", (err) => reject(new TaskFailure("worker-crashed", `could not start the task process (${process.execPath}): ${err.message}`)));
      child.on("close", (code, killedBy) => {
        signal.removeEventListener("abort", abort);
        lines.end();
        const result = readResult(dir);
        try {
          if (result) {
            resolve(fromResultFile(result));
            dirs.remove(dir);
            return;
          }
          const said = stderr.trim().split("\n").slice(-3).join(" / ");
          if (signal.aborted) throw new TaskFailure("cancelled", "cancelled before the task process wrote a result");
          if (/heap out of memory|ERR_WORKER_OUT_OF_MEMORY/.test(stderr)) throw new TaskFailure("out-of-memory", `the task process ran out of memory: ${said}`);
          throw new TaskFailure("worker-crashed", `the task process ${killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`} without a result${said ? `: ${said}` : ""}`);
        } catch (failure) {
          dirs.remove(dir);
          reject(failure as TaskFailure);
        }
      });
    });
  }

  async close(): Promise<void> {
    this.dirs?.closeSession();
  }
}
