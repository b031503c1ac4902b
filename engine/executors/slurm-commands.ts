import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { UsageError } from "../errors.js";
import type { Resources } from "../stage-api.js";
import { TaskFailure } from "../task-spec.js";

/** The SLURM commands the executor uses; each runs without a shell, its output parsed here. */
const COMMANDS = ["sbatch", "squeue", "scancel", "scontrol"] as const;

/** Fails with what to do when the SLURM client commands are not on PATH. */
export function requireSlurmCommands(): void {
  const missing = COMMANDS.filter((c) => !onPath(c));
  if (missing.length) {
    throw new UsageError(`--executor slurm needs SLURM's ${COMMANDS.join(", ")} on PATH (missing: ${missing.join(", ")}): run dag where jobs can be submitted (a login node), or install the SLURM client (Debian: apt-get install slurm-client)`);
  }
}

function onPath(command: string): boolean {
  return (process.env["PATH"] ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function slurm(command: (typeof COMMANDS)[number], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === "number" ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : "") });
    });
  });
}

/** A stage's resources as sbatch options (what is not set is left to the cluster's defaults). */
export function sbatchFlags(r: Resources): string[] {
  return [
    ...(r.cpus !== undefined ? [`--cpus-per-task=${r.cpus}`] : []),
    ...(r.mem_mb !== undefined ? [`--mem=${r.mem_mb}M`] : []),
    ...(r.gpus ? [`--gres=gpu:${r.gpus}`] : []),
    ...(r.time_min !== undefined ? [`--time=${r.time_min}`] : []),
    ...(r.partition !== undefined ? [`--partition=${r.partition}`] : []),
    ...(r.sbatch ?? []),
  ];
}

/** One job's (or array element's) state as squeue sees it: `12`, `12_3`. */
export interface JobState {
  state: string;
  reason: string;
}

/** squeue's lines `ID|STATE|REASON` (with -r, one per array element). */
export function parseSqueue(stdout: string): Map<string, JobState> {
  const states = new Map<string, JobState>();
  for (const line of stdout.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    if (id && state) states.set(id, { state, reason: reason ?? "" });
  }
  return states;
}

/** States after which a job runs no more (COMPLETING is not one: its processes may still run). */
const ENDED = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "DEADLINE", "REVOKED", "SPECIAL_EXIT"]);

export function hasEnded(state: string): boolean {
  return ENDED.has(state);
}

/**
 * Why a job that left no result failed, from its final state: what the user can do about it is
 * in the message, and where to read more is its log.
 */
export function jobFailure(job: { id: string; state: string; exitCode?: string; cancelledByUs: boolean; logPath: string; logTail: string }): TaskFailure {
  const tail = job.logTail ? `; its log ends: ${job.logTail}` : "";
  const at = (reason: ConstructorParameters<typeof TaskFailure>[0], message: string): TaskFailure => new TaskFailure(reason, `SLURM job ${job.id} ${message}${tail}`, job.logPath);
  switch (job.state) {
    case "OUT_OF_MEMORY":
      return at("out-of-memory", "ran out of memory (OUT_OF_MEMORY): raise the stage's resources.mem_mb");
    case "TIMEOUT":
    case "DEADLINE":
      return at("timeout", `ran past its time limit (${job.state}): raise the stage's resources.time_min`);
    case "CANCELLED":
      return job.cancelledByUs ? at("cancelled", "was cancelled") : at("job-failed", "was cancelled outside dag (scancel, or the cluster's administrators)");
    case "NODE_FAIL":
    case "BOOT_FAIL":
      return at("job-failed", `failed with its node (${job.state})`);
    case "PREEMPTED":
      return at("job-failed", "was preempted by another job");
    case "FAILED":
    case "COMPLETED":
      return at("worker-crashed", `ended without a result: its task process died${job.exitCode ? ` (exit code ${job.exitCode}, as code:signal)` : ""}`);
    case "UNKNOWN":
      return at("job-failed", "is no longer known to SLURM and left no result");
    default:
      return at("job-failed", `ended in state ${job.state} without a result`);
  }
}

/** `ExitCode=0:9` of `scontrol show job -o`. */
export function parseExitCode(scontrolLine: string): string | undefined {
  return /\bExitCode=(\d+:\d+)/.exec(scontrolLine)?.[1];
}
