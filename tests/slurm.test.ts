import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SlurmExecutor } from "../dist/engine/executors/slurm.js";
import { recording, resultBytes, taskProcess } from "./helpers/executors.js";
import { queuedJobs, slurmCluster } from "./helpers/slurm.js";
import { chainPipeline, CLI, dag, run, workspace } from "./helpers/workspace.js";

const cluster = slurmCluster();
if (!cluster.available) console.warn(`SKIPPED: the tests on a real SLURM cluster: ${cluster.why}`);
afterAll(() => cluster.stop());

const slurmExecutor = (): SlurmExecutor => new SlurmExecutor({ maxJobs: 20, pollMs: 200 });

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const v = probe();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!cluster.available)("the SLURM executor on a real single-node cluster", () => {
  it("makes the local run's bytes; per-item tasks ready together go as one job array; a run half on the cluster, half local shares the cache", async () => {
    const chain = chainPipeline({ seed: 5, count: 3, base: 2, max: 40 });
    const local = workspace(chain);
    expect((await run(local)).ok).toBe(true);
    const onCluster = workspace(chain);
    const executor = recording(slurmExecutor());
    const out = await run(onCluster, { executor });
    expect(out.ok).toBe(true);
    expect(out.ran).toHaveLength(3 * 4 + 1);
    expect(resultBytes(onCluster)).toEqual(resultBytes(local));
    // numbers' three tasks were ready at once: one sbatch, one array of three.
    const submitted = executor.messages.filter((x) => x.task.startsWith("numbers[") && x.m.type === "log" && x.m.message.startsWith("submitted"));
    const ids = submitted.map((x) => /SLURM job (\d+)_(\d) \(an array of 3\)/.exec((x.m as { message: string }).message));
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids.map((m) => m![1])).size).toBe(1);
    expect(ids.map((m) => m![2]).sort()).toEqual(["0", "1", "2"]);
    // What a task says on the node comes back through its job's log.
    expect(executor.messages.filter((x) => x.task.startsWith("square[") && x.m.type === "progress")).toHaveLength(3);

    // Two more items: they run on the cluster, the rest comes from what the local pool made.
    const more = chainPipeline({ seed: 5, count: 5, base: 2, max: 40 });
    writeFileSync(join(local, "pipeline.yaml"), readFileSync(join(local, "pipeline.yaml"), "utf8").replace(chain, more));
    const half = await run(local, { executor: slurmExecutor() });
    expect(half.ok).toBe(true);
    expect(half.ran).toHaveLength(2 * 4 + 1);
    expect(half.cached).toBe(3 * 4);
    const fresh = workspace(more);
    expect((await run(fresh)).ok).toBe(true);
    expect(resultBytes(local)).toEqual(resultBytes(fresh));
    expect(queuedJobs(local)).toEqual([]);
  });

  it("runs real stages (rendering and reading HDF5, OpenCV) on the nodes with the local run's bytes", () => {
    const yaml = "stages:\n  synthesize: { params: { recordings: 2 } }\n  extract:\n    inputs: { recordings: synthesize.recordings }\n    params: { crop_size: 128, bladder: { offset: 5 } }\n";
    const local = workspace(yaml, false);
    const onCluster = workspace(yaml, false);
    expect(dag(local, "run").code).toBe(0);
    const r = dag(onCluster, "run", "--executor", "slurm", "--slurm-poll", "0.3");
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(resultBytes(local)).length).toBeGreaterThan(10);
    expect(resultBytes(onCluster)).toEqual(resultBytes(local));
  });

  it("dag status during a run shows a job waiting in SLURM's queue as queued, and the running one as running", async () => {
    // Two tasks that each ask for every CPU of the one node: one runs, the other waits for it.
    const cpus = Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim());
    const stage = (ms: number): string => `{ kind: sleepy, params: { ms: ${ms} }, resources: { cpus: ${cpus} } }`;
    const dir = workspace(`stages:\n  first: ${stage(5000)}\n  second: ${stage(5001)}\n`);
    const child = spawn(process.execPath, [CLI, "run", "--executor", "slurm", "--slurm-poll", "0.2"], { cwd: dir, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const text = await until("one job running and one queued in dag status", () => {
        const out = dag(dir, "status").stdout;
        return /1 running/.test(out) && /1 queued/.test(out) ? out : undefined;
      });
      expect(text).toMatch(/slurm executor/);
      expect(text).toMatch(/^(first|second)\s+1 queued, 0 done of 1$/m);
      expect(text).toMatch(/^(first|second)\s+1 running, 0 done of 1$/m);
    } finally {
      expect(await exited).toBe(0);
    }
    expect(dag(dir, "status").stdout).toMatch(/first\s+up to date/);
  });

  it("keeps no more jobs in the queue than --slurm-max-jobs", async () => {
    const dir = workspace("stages:\n  numbers: { params: { count: 5 } }\n");
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, queuedJobs(dir).length)), 100);
    const out = await run(dir, { executor: new SlurmExecutor({ maxJobs: 2, pollMs: 200 }) });
    clearInterval(watch);
    expect(out.ran).toHaveLength(5);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it("a job whose process is killed fails its task as worker-crashed, with its log", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 20000 } }\n");
    const executor = recording(slurmExecutor());
    const running = run(dir, { executor });
    process.kill(await taskProcess(dir, 30), "SIGKILL");
    const out = await running;
    expect(out.failed).toEqual(["sleepy"]);
    const { failure } = executor.failures[0]!;
    expect(failure.reason).toBe("worker-crashed");
    expect(failure.message).toMatch(/^SLURM job \d+ ended without a result: its task process died \(exit code 0:9/);
    expect(existsSync(failure.logPath!)).toBe(true);
    // The log stays for a person to read, until dag gc.
    expect(dag(dir, "gc").code).toBe(0);
    expect(existsSync(failure.logPath!)).toBe(false);
    expect(existsSync(join(dir, ".dag", "jobs"))).toBe(false);
  });

  it("with --retries, a job cancelled outside dag (scancel) runs again", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 4000 } }\n");
    const child = spawn(process.execPath, [CLI, "run", "--executor", "slurm", "--slurm-poll", "0.2", "--retries", "1"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    await taskProcess(dir, 30);
    const [job] = queuedJobs(dir);
    spawnSync("scancel", [job!.split("|")[0]!]);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(stderr).toMatch(/attempt 1 failed \(job-failed: SLURM job \d+ was cancelled outside dag .*\); trying again \(attempt 2 of 2\)/);
    expect(code).toBe(0);
    expect(readFileSync(join(dir, "results/sleepy/done/done.txt"), "utf8")).toBe("done");
  });

  it("passes a stage's resources to sbatch: a partition the cluster has not fails the task with sbatch's own words", () => {
    const dir = workspace("stages:\n  sleepy:\n    params: { ms: 1 }\n    resources: { partition: nosuch }\n");
    const r = spawnSync(process.execPath, [CLI, "run", "--executor", "slurm", "--slurm-poll", "0.2"], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sleepy.*sbatch refused the job: .*invalid partition.*\(options: .*--cpus-per-task=1 --mem=200M --partition=nosuch\)/i);
  });

  it("Ctrl-C cancels the submitted jobs, running and pending: none is left in the queue", async () => {
    const dir = workspace("stages:\n  a: { kind: sleepy, params: { ms: 60000 } }\n  b: { kind: sleepy, params: { ms: 60000 } }\n  c: { kind: sleepy, params: { ms: 60000 } }\n");
    const child = spawn(process.execPath, [CLI, "run", "--executor", "slurm", "--slurm-poll", "0.2"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const closed = new Promise<number | null>((r) => child.on("close", r));
    await until("three jobs in the queue", () => (queuedJobs(dir).length === 3 ? true : undefined));
    await taskProcess(dir, 30);
    const interrupted = Date.now();
    child.kill("SIGINT");
    expect(await closed).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(15_000);
    expect(queuedJobs(dir)).toEqual([]);
  });
});

describe("--executor slurm without SLURM", () => {
  it("says that sbatch is not on PATH and what to do, before taking the workspace", () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 1 } }\n");
    const r = spawnSync(process.execPath, [CLI, "run", "--executor", "slurm"], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dag: --executor slurm needs SLURM's sbatch, squeue, scancel, scontrol on PATH \(missing: sbatch, squeue, scancel, scontrol\): run dag where jobs can be submitted \(a login node\), or install the SLURM client/);
    expect(existsSync(join(dir, ".dag/lock"))).toBe(false);
  });
});
