import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Executor } from "../executor.js";
import { fromResultFile, lineSplitter, parseLine, readResult, SPEC_FILE, writeSpec } from "../task-protocol.js";
import { TaskFailure, type TaskMessage, type TaskResult, type TaskSpec } from "../task-spec.js";
import { hasEnded, jobFailure, parseExitCode, parseSqueue, requireSlurmCommands, sbatchFlags, slurm } from "./slurm-commands.js";
import { CLI_PATH } from "./subprocess.js";
import { TaskDirs } from "./task-dirs.js";

export interface SlurmSettings {
  /** Tasks in the cluster's queue at once (each element of a job array counts). */
  maxJobs: number;
  /** Between two looks at the queue (one squeue call for every job in flight). */
  pollMs: number;
  /** How long tasks of one stage are gathered into one job array after the first arrives. */
  gatherMs?: number;
  /** false: a job per task, never an array (for clusters that limit arrays). */
  arrays?: boolean;
  /** sbatch options for every job (`--account=lab`), before each stage's own `resources.sbatch`. */
  sbatch?: string[];
}

interface Job {
  spec: TaskSpec;
  dir: string;
  /** The folder of its sbatch call: the script, and a folder per task. */
  batch: string;
  onMessage: (m: TaskMessage) => void;
  signal: AbortSignal;
  resolve: (r: TaskResult) => void;
  reject: (e: TaskFailure) => void;
  /** `12`, or `12_3` for an element of an array; set once sbatch answered. */
  id?: string;
  cancelled: boolean;
  logOffset: number;
  log: ReturnType<typeof lineSplitter>;
  /** Plain lines of the job's log, the last few, for a failure's message. */
  tail: string[];
  /** Looks at the queue that did not list it. */
  unseen: number;
  /** SLURM said it left the queue (running, or past it): `dag status` counts it as running. */
  started: boolean;
  onAbort: () => void;
}

/**
 * Each task as a SLURM job that runs `dag task` on a compute node against the cache on a shared
 * filesystem; tasks of one stage that are ready together (per-item tasks) go as one job array.
 * The node writes the task's files into the store and its result next to its spec; the
 * coordinator (this process) reads the result and writes every task and run record. The queue is
 * watched with one squeue call per `pollMs` for all jobs; a job that ends without a result fails
 * its task with the job's state mapped to a reason and its log's path; an aborted task's job is
 * cancelled with scancel, and its promise settles only once SLURM says the job ended, so a
 * cancelled run leaves nothing in the queue.
 */
export class SlurmExecutor implements Executor {
  readonly name = "slurm";
  readonly needsSharedFilesystem = true;
  readonly queues = true;
  readonly slots: number;
  private dirs?: TaskDirs;
  /** Tasks gathered for one sbatch call, by stage and resources. */
  private readonly gathering = new Map<string, Job[]>();
  private readonly inFlight = new Set<Job>();
  private submitting: Promise<void> = Promise.resolve();
  private pollTimer?: NodeJS.Timeout;
  private polling = false;
  private readonly toCancel = new Set<string>();
  private batches = 0;
  private tasks = 0;
  /** Per batch folder, its tasks not yet done; it goes when all succeeded (a failed one's log stays). */
  private readonly batchLeft = new Map<string, { left: number; failed: boolean }>();

  constructor(private readonly settings: SlurmSettings) {
    requireSlurmCommands();
    this.slots = settings.maxJobs;
  }

  run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult> {
    if (signal.aborted) return Promise.reject(new TaskFailure("cancelled", "cancelled before it was submitted"));
    this.dirs ??= new TaskDirs(spec.storeRoot, this.name);
    return new Promise<TaskResult>((resolve, reject) => {
      const job: Job = {
        spec, dir: "", batch: "", onMessage, signal, resolve, reject, cancelled: false, logOffset: 0, tail: [], unseen: 0, started: false,
        log: lineSplitter((line) => {
          const m = parseLine(line);
          if (m?.type === "log" && !line.startsWith("@dag ")) job.tail = [...job.tail, line].slice(-3);
          if (m) onMessage(m);
        }),
        onAbort: () => this.cancel(job),
      };
      signal.addEventListener("abort", job.onAbort, { once: true });
      // Without arrays each task is a group of its own.
      const group = this.settings.arrays === false ? `task ${this.tasks++}` : `${spec.stage}\0${JSON.stringify(spec.resources)}`;
      const gathered = this.gathering.get(group);
      if (gathered) {
        gathered.push(job);
        return;
      }
      this.gathering.set(group, [job]);
      setTimeout(() => {
        const jobs = this.gathering.get(group);
        this.gathering.delete(group);
        // One sbatch at a time: the controller answers each in turn anyway.
        if (jobs?.length) this.submitting = this.submitting.then(() => this.submit(jobs));
      }, this.settings.gatherMs ?? 50);
    });
  }

  /** Submits, or fails every task of the batch with why it could not be (never rejects: the chain goes on). */
  private async submit(jobs: Job[]): Promise<void> {
    try {
      await this.sbatch(jobs);
    } catch (err) {
      // Writing the specs or the script failed (a full disk: the message says ENOSPC).
      for (const job of jobs.filter((j) => !j.id)) this.settle(job, () => job.reject(new TaskFailure("job-failed", `could not prepare the job: ${(err as Error).message}`)));
    }
  }

  /** One sbatch call for tasks of one stage: a plain job, or a job array of them. */
  private async sbatch(jobs: Job[]): Promise<void> {
    const first = jobs[0]!.spec;
    const batch = join(this.dirs!.root, `${this.batches++}-${first.stage.replace(/[^A-Za-z0-9_.-]/g, "_")}`);
    jobs.forEach((job, i) => {
      job.batch = batch;
      job.dir = join(batch, String(i));
      writeSpec(job.dir, job.spec);
    });
    this.batchLeft.set(batch, { left: jobs.length, failed: false });
    const script = join(batch, "job.sh");
    const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
    writeFileSync(script, `#!/bin/sh\n# One task of dag (the array element picks its folder).\nexec ${q(process.execPath)} ${q(CLI_PATH)} task ${q(batch)}/"\${SLURM_ARRAY_TASK_ID:-0}"/${SPEC_FILE}\n`, { mode: 0o755 });
    const array = jobs.length > 1;
    const args = [
      "--parsable", `--job-name=dag-${first.stage}`, `--chdir=${batch}`,
      `--output=${join(batch, array ? "%a" : "0", "job.log")}`,
      ...(array ? [`--array=0-${jobs.length - 1}`] : []),
      ...(this.settings.sbatch ?? []), ...sbatchFlags(first.resources), script,
    ];
    const answer = await slurm("sbatch", args);
    const base = answer.stdout.trim().split(";")[0] ?? "";
    if (answer.code !== 0 || !/^\d+$/.test(base)) {
      const why = answer.stderr.trim().split("\n").filter(Boolean).slice(-2).join(" / ") || `exit code ${answer.code}`;
      for (const job of jobs) this.settle(job, () => job.reject(new TaskFailure("job-failed", `sbatch refused the job: ${why} (options: ${args.slice(0, -1).join(" ")})`, script)));
      return;
    }
    jobs.forEach((job, i) => {
      job.id = array ? `${base}_${i}` : base;
      job.onMessage({ type: "log", message: `submitted as SLURM job ${job.id}${array ? ` (an array of ${jobs.length})` : ""}` });
      this.inFlight.add(job);
      if (job.cancelled) this.toCancel.add(job.id);
    });
    this.schedulePoll();
    if (this.toCancel.size) await this.flushCancels();
  }

  private cancel(job: Job): void {
    job.cancelled = true;
    for (const jobs of this.gathering.values()) {
      const i = jobs.indexOf(job);
      if (i < 0) continue;
      // Gathered, not submitted: there is no job to cancel.
      jobs.splice(i, 1);
      this.settle(job, () => job.reject(new TaskFailure("cancelled", "cancelled before it was submitted")));
      return;
    }
    if (!job.id) return; // being submitted: submit() cancels it once it has an id
    this.toCancel.add(job.id);
    setImmediate(() => void this.flushCancels());
  }

  /** One scancel call for every job whose task was aborted since the last. */
  private async flushCancels(): Promise<void> {
    const ids = [...this.toCancel];
    this.toCancel.clear();
    if (ids.length) await slurm("scancel", ids);
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.polling || !this.inFlight.size) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.polling = true;
      // A look that failed half-way (a log that cannot be read) is taken again next time.
      void this.poll().catch(() => undefined).finally(() => {
        this.polling = false;
        this.schedulePoll();
      });
    }, this.settings.pollMs);
  }

  /** One look at the queue for every job in flight; finished ones settle their tasks. */
  private async poll(): Promise<void> {
    const jobs = [...this.inFlight];
    const bases = [...new Set(jobs.map((j) => j.id!.split("_")[0]))];
    const answer = await slurm("squeue", ["-h", "-r", "--states=all", "-o", "%i|%T|%r", `--jobs=${bases.join(",")}`]);
    // "Invalid job id": squeue knows none of them any more. Any other failure (the controller
    // did not answer): look again next time rather than take the jobs for lost.
    if (answer.code !== 0 && !/invalid job id/i.test(answer.stderr)) return;
    const states = answer.code === 0 ? parseSqueue(answer.stdout) : new Map<string, { state: string }>();
    for (const job of jobs) {
      const seen = states.get(job.id!);
      if (seen && !hasEnded(seen.state)) {
        job.unseen = 0;
        if (!job.started && seen.state !== "PENDING") {
          job.started = true;
          job.onMessage({ type: "started" });
        }
        this.readLog(job);
        continue;
      }
      // A job squeue no longer lists has ended long ago (MinJobAge) or SLURM lost it: twice, to be sure.
      if (!seen && ++job.unseen < 2) continue;
      await this.finish(job, seen?.state ?? "UNKNOWN");
    }
  }

  /** New lines of the job's log: progress, log and warnings of the task on the node. */
  private readLog(job: Job): void {
    let fd: number | undefined;
    try {
      fd = openSync(join(job.dir, "job.log"), "r");
      const buffer = Buffer.alloc(64 * 1024);
      let n: number;
      while ((n = readSync(fd, buffer, 0, buffer.length, job.logOffset)) > 0) {
        job.logOffset += n;
        job.log.push(buffer.toString("utf8", 0, n));
      }
    } catch {
      // Not started yet, or the shared filesystem did not answer: the next look reads on.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private async finish(job: Job, state: string): Promise<void> {
    this.inFlight.delete(job);
    this.readLog(job); // what it wrote since the last look
    job.log.end();
    const logPath = join(job.dir, "job.log");
    const result = readResult(job.dir);
    if (result?.ok) {
      this.settle(job, () => job.resolve(fromResultFile(result)));
      this.dirs!.remove(job.dir);
      this.batchDone(job.batch, true);
      return;
    }
    this.batchDone(job.batch, false);
    if (result) {
      // The stage's own error (or it stopped when asked): the node said so itself.
      this.settle(job, () => { try { fromResultFile(result, logPath); } catch (e) { job.reject(e as TaskFailure); } });
      return;
    }
    const exitCode = state === "FAILED" || state === "COMPLETED" ? parseExitCode((await slurm("scontrol", ["show", "job", "-o", job.id!])).stdout) : undefined;
    this.settle(job, () => job.reject(jobFailure({ id: job.id!, state, exitCode, cancelledByUs: job.cancelled, logPath, logTail: job.tail.join(" / ") })));
  }

  private batchDone(batch: string, ok: boolean): void {
    const b = this.batchLeft.get(batch);
    if (!b) return;
    b.left--;
    b.failed ||= !ok;
    if (b.left > 0) return;
    this.batchLeft.delete(batch);
    if (!b.failed) this.dirs!.remove(batch);
  }

  private settle(job: Job, how: () => void): void {
    job.signal.removeEventListener("abort", job.onAbort);
    how();
  }

  /** Cancels whatever is still queued or running (a second Ctrl-C): no job outlives the run. */
  async close(): Promise<void> {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    for (const jobs of [...this.gathering.values()]) for (const job of [...jobs]) this.cancel(job);
    this.gathering.clear();
    await this.submitting;
    const ids = [...this.inFlight].map((j) => j.id!);
    if (ids.length) await slurm("scancel", ids);
    for (const job of this.inFlight) this.settle(job, () => job.reject(new TaskFailure("cancelled", `SLURM job ${job.id} was cancelled: dag stopped`)));
    this.inFlight.clear();
    this.dirs?.closeSession();
  }
}
