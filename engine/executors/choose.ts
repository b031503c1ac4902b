import type { Executor } from "../executor.js";
import type { SlurmSettings } from "./slurm.js";

export const EXECUTORS = ["local", "subprocess", "slurm"] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface ExecutorChoice {
  executor: ExecutorName;
  /** Tasks at once, for the local pool and subprocesses. */
  jobs: number;
  /** Attempts after a failure of where a task ran (not of the stage itself). */
  retries: number;
  slurm: SlurmSettings;
}

/** The executor `dag run --executor NAME` asks for, with its settings; only its own module is loaded. */
export async function createExecutor(choice: ExecutorChoice): Promise<Executor> {
  const executor =
    choice.executor === "slurm" ? new (await import("./slurm.js")).SlurmExecutor(choice.slurm)
    : choice.executor === "subprocess" ? new (await import("./subprocess.js")).SubprocessExecutor(choice.jobs)
    : new (await import("./local.js")).LocalPoolExecutor(choice.jobs);
  return choice.retries > 0 ? new (await import("./retry.js")).RetryingExecutor(executor, choice.retries) : executor;
}
