import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasEnded, jobFailure, parseSqueue, sbatchFlags } from "../dist/engine/executors/slurm-commands.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import { chainPipeline, dag, run, workspace, writePipeline } from "./helpers/workspace.js";

describe("per-stage resources", () => {
  it("are the kind's defaults, overridden key by key by the stage's own", async () => {
    const dir = workspace("stages:\n  sleepy:\n    params: { ms: 1 }\n    resources: { cpus: 2, gpus: 1, partition: gpu, sbatch: [--account=lab] }\n  plain: { kind: sleepy }\n");
    const p = await loadPipeline(join(dir, "pipeline.yaml"));
    expect(p.byName.get("sleepy")!.resources).toEqual({ cpus: 2, mem_mb: 200, gpus: 1, partition: "gpu", sbatch: ["--account=lab"] });
    expect(p.byName.get("plain")!.resources).toEqual({ cpus: 1, mem_mb: 200 });
    expect(sbatchFlags(p.byName.get("sleepy")!.resources)).toEqual(["--cpus-per-task=2", "--mem=200M", "--gres=gpu:1", "--partition=gpu", "--account=lab"]);
    expect(sbatchFlags({ time_min: 90, gpus: 0 })).toEqual(["--time=90"]);
  });

  it("are outside every key: changing them reruns nothing", async () => {
    const chain = chainPipeline({ seed: 2, count: 3, base: 1, max: 9 });
    const dir = workspace(chain);
    const first = await run(dir);
    expect(first.ok).toBe(true);
    writePipeline(dir, chain.replace("  square:\n    inputs: { values: clamp.values }", "  square:\n    inputs: { values: clamp.values }\n    resources: { cpus: 4, mem_mb: 64000, gpus: 2, time_min: 5, partition: big }"));
    const again = await run(dir);
    expect(again.ok).toBe(true);
    expect(again.ran).toEqual([]);
    expect(again.cached).toBe(first.ran.length);
  });

  it("are checked with errors that name the line and the key", () => {
    const dir = workspace("stages:\n  sleepy:\n    resources: { cpus: 0, mem: 3, gpus: -1, sbatch: account=lab }\n");
    const r = dag(dir, "run");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml:4:27: stage "sleepy", key "stages.sleepy.resources.mem": unknown key "mem"\n  hint: allowed keys: cpus, mem_mb, gpus, time_min, partition, sbatch');
    expect(r.stderr).toContain('pipeline.yaml:4:24: stage "sleepy", key "stages.sleepy.resources.cpus": expected a number >= 1');
    expect(r.stderr).toContain('pipeline.yaml:4:41: stage "sleepy", key "stages.sleepy.resources.gpus": expected a number >= 0');
    expect(r.stderr).toContain('pipeline.yaml:4:53: stage "sleepy", key "stages.sleepy.resources.sbatch": expected array');
  });
});

describe("SLURM job states as failure reasons", () => {
  const job: { id: string; exitCode?: string; cancelledByUs: boolean; logPath: string; logTail: string } = { id: "12_3", cancelledByUs: false, logPath: "/c/.dag/jobs/s/0-train/3/job.log", logTail: "" };
  it("maps each final state to a reason with what to do, and keeps the log's path", () => {
    const of = (state: string, more: Partial<typeof job> = {}) => {
      const f = jobFailure({ ...job, ...more, state });
      return [f.reason, f.message, f.logPath];
    };
    expect(of("OUT_OF_MEMORY")).toEqual(["out-of-memory", "SLURM job 12_3 ran out of memory (OUT_OF_MEMORY): raise the stage's resources.mem_mb", job.logPath]);
    expect(of("TIMEOUT")[0]).toBe("timeout");
    expect(of("TIMEOUT")[1]).toMatch(/raise the stage's resources.time_min/);
    expect(of("NODE_FAIL")).toEqual(["job-failed", "SLURM job 12_3 failed with its node (NODE_FAIL)", job.logPath]);
    expect(of("PREEMPTED")[0]).toBe("job-failed");
    expect(of("CANCELLED")[1]).toMatch(/cancelled outside dag/);
    expect(of("CANCELLED", { cancelledByUs: true })[0]).toBe("cancelled");
    expect(of("FAILED", { exitCode: "0:9", logTail: "Killed" })).toEqual(["worker-crashed", "SLURM job 12_3 ended without a result: its task process died (exit code 0:9, as code:signal); its log ends: Killed", job.logPath]);
    expect(of("UNKNOWN")[0]).toBe("job-failed");
  });

  it("reads squeue's lines, array elements each on its own, and knows which states are final", () => {
    expect([...parseSqueue("41_0|RUNNING|None\n41_1|PENDING|Resources\n42|COMPLETED|None\n")]).toEqual([
      ["41_0", { state: "RUNNING", reason: "None" }], ["41_1", { state: "PENDING", reason: "Resources" }], ["42", { state: "COMPLETED", reason: "None" }],
    ]);
    expect(["PENDING", "RUNNING", "COMPLETING", "CONFIGURING"].some(hasEnded)).toBe(false);
    expect(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"].every(hasEnded)).toBe(true);
  });
});
