import type { Executor } from "../executor.js";
import { LocalPoolExecutor } from "./local.js";
import { RetryingExecutor } from "./retry.js";
import { SlurmExecutor, type SlurmSettings } from "./slurm.js";
import { SubprocessExecutor } from "./subprocess.js";

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

/** The executor `dag run --executor NAME` asks for, with its settings. */
export function createExecutor(choice: ExecutorChoice): Executor {
  const executor =
    choice.executor === "slurm" ? new SlurmExecutor(choice.slurm)
    : choice.executor === "subprocess" ? new SubprocessExecutor(choice.jobs)
    : new LocalPoolExecutor(choice.jobs);
  return choice.retries > 0 ? new RetryingExecutor(executor, choice.retries) : executor;
}
