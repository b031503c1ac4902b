import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LocalPoolExecutor } from "../dist/engine/executors/local.js";
import { RetryingExecutor } from "../dist/engine/executors/retry.js";
import { SubprocessExecutor } from "../dist/engine/executors/subprocess.js";
import { recording, resultBytes, taskProcess } from "./helpers/executors.js";
import { chainPipeline, CLI, FIXTURE_STAGES, run, workspace } from "./helpers/workspace.js";

const CHAIN = chainPipeline({ seed: 3, count: 4, base: 7, max: 30 });


describe("the subprocess executor (a dag task process per task)", () => {
  it("makes the same bytes as the local pool, and the two share one cache", async () => {
    const local = workspace(CHAIN);
    const viaProcesses = workspace(CHAIN);
    expect((await run(local)).ok).toBe(true);
    const executor = recording(new SubprocessExecutor(2));
    const sub = await run(viaProcesses, { executor });
    expect(sub.ok).toBe(true);
    // A task's progress comes back over its process's stdout.
    expect(executor.messages.filter((x) => x.task.startsWith("square[") && x.m.type === "progress")).toHaveLength(4);
    expect(sub.ran).toHaveLength(4 * 4 + 1); // numbers, clamp, square, digits per item; total
    expect(resultBytes(viaProcesses)).toEqual(resultBytes(local));

    // Half and half: two more numbers run in processes, everything else comes from the local run's cache.
    const more = chainPipeline({ seed: 3, count: 6, base: 7, max: 30 });
    writeFileSync(join(local, "pipeline.yaml"), readFileSync(join(local, "pipeline.yaml"), "utf8").replace(CHAIN, more));
    const half = await run(local, { executor: new SubprocessExecutor(2) });
    expect(half.ok).toBe(true);
    expect(half.ran.filter((t) => t.startsWith("numbers"))).toEqual(["numbers[n4]", "numbers[n5]"]);
    expect(half.ran).toContain("total");
    expect(half.ran).toHaveLength(4 * 2 + 1); // numbers, clamp, square, digits of n4 and n5, and total
    expect(half.cached).toBe(4 * 4); // the same four stages of n0-n3, made by the local pool
    const fresh = workspace(more);
    expect((await run(fresh)).ok).toBe(true);
    expect(resultBytes(local)).toEqual(resultBytes(fresh));
    // Nothing of the processes' folders is left once their results are in.
    expect(readdirOrEmpty(join(local, ".dag/jobs"))).toEqual([]);
  });

  it("reports a stage's error as stage-error, with the stage's message", async () => {
    const dir = workspace(chainPipeline({ seed: 1, count: 3, base: 1, max: 9 }).replace("square:\n    inputs: { values: clamp.values }", "square:\n    inputs: { values: clamp.values }\n    params: { fail_on: 2 }"));
    const executor = recording(new SubprocessExecutor(2));
    const out = await run(dir, { executor, keepGoing: true });
    expect(out.ok).toBe(false);
    expect(out.failed).toEqual(["square[n1]"]);
    expect(executor.failures.map((f) => [f.task, f.failure.reason])).toEqual([["square[n1]", "stage-error"]]);
    expect(executor.failures[0]!.failure.message).toBe("refusing to square 2 (fail_on)");
  });

  it("reports a killed task process as worker-crashed, and retries it when asked", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 3000 } }\n");
    const executor = recording(new SubprocessExecutor(1));
    const failing = run(dir, { executor });
    process.kill(await taskProcess(dir), "SIGKILL");
    const out = await failing;
    expect(out.failed).toEqual(["sleepy"]);
    expect(executor.failures[0]!.failure.reason).toBe("worker-crashed");
    expect(executor.failures[0]!.failure.message).toMatch(/killed by SIGKILL/);

    const retried = recording(new RetryingExecutor(new SubprocessExecutor(1), 1));
    const again = run(dir, { executor: retried });
    process.kill(await taskProcess(dir), "SIGKILL");
    const out2 = await again;
    expect(out2.ok).toBe(true);
    expect(out2.ran).toEqual(["sleepy"]);
    expect(retried.messages.map((x) => x.m)).toContainEqual(expect.objectContaining({ type: "warning", message: expect.stringMatching(/^attempt 1 failed \(worker-crashed: .*killed by SIGKILL.*\); trying again \(attempt 2 of 2\)$/) }));
  });

  it("stops a task busy in a loop when the run is aborted: cancelled, checkpoint kept", async () => {
    const dir = workspace("stages:\n  busy: { params: { batches: 200, batch_ms: 50 } }\n");
    const executor = recording(new SubprocessExecutor(1));
    const controller = new AbortController();
    const running = run(dir, { executor, signal: controller.signal });
    await taskProcess(dir);
    await new Promise((r) => setTimeout(r, 1500));
    const aborted = Date.now();
    controller.abort();
    const out = await running;
    expect(Date.now() - aborted).toBeLessThan(2000);
    expect(out.ok).toBe(false);
    expect(executor.failures.map((f) => f.failure.reason)).toEqual(["cancelled"]);
    expect(executor.failures[0]!.failure.message).toMatch(/cancelled after batch \d+/);
    const [scratch] = readdirSync(join(dir, ".dag/scratch"));
    expect(Number(readFileSync(join(dir, ".dag/scratch", scratch!, "batches-done"), "utf8"))).toBeGreaterThan(0);
  });
});

describe("the local pool's failure reasons", () => {
  it("a stage that throws is stage-error; a thread that dies is worker-crashed, and the pool goes on", async () => {
    const dir = workspace("stages:\n  thrower: { kind: crashes, params: { how: throw } }\n  dier: { kind: crashes, params: { how: exit-thread } }\n  fine: { kind: crashes }\n");
    const executor = recording(new LocalPoolExecutor(1));
    const out = await run(dir, { executor, keepGoing: true });
    expect(out.ran).toEqual(["fine"]);
    const reasons = Object.fromEntries(executor.failures.map((f) => [f.task, f.failure.reason]));
    expect(reasons).toEqual({ thrower: "stage-error", dier: "worker-crashed" });
    expect(executor.failures.find((f) => f.task === "dier")!.failure.message).toMatch(/worker exited with code: 7/);
  });
});

describe("dag task", () => {
  it("runs a spec: 0 and a result file; 1 for a stage's error; 2, saying what is wrong, for a spec it cannot read", () => {
    const dir = workspace("stages:\n  fine: { kind: crashes }\n");
    const task = (name: string, how: string): { code: number | null; stderr: string; result: any } => {
      const at = join(dir, name);
      mkdirSync(at);
      writeFileSync(join(at, "spec.json"), JSON.stringify({
        modulePath: join(FIXTURE_STAGES, "crashes/index.js"), stage: "fine", kind: "crashes", params: { how }, inputs: {}, seed: 1,
        storeRoot: join(dir, ".dag"), outDir: join(dir, ".dag/tmp", name), scratchDir: join(dir, ".dag/scratch", name), resources: {},
      }));
      const r = spawnSync(process.execPath, [CLI, "task", join(at, "spec.json")], { encoding: "utf8" });
      return { code: r.status, stderr: r.stderr, result: existsSync(join(at, "result.json")) ? JSON.parse(readFileSync(join(at, "result.json"), "utf8")) : undefined };
    };
    const ok = task("ok", "none");
    expect(ok.code).toBe(0);
    const file = ok.result.result.outputs.done.files.done;
    expect(readFileSync(join(dir, ".dag/blobs", file.hash.slice(0, 2), file.hash), "utf8")).toBe("done");
    expect(existsSync(join(dir, ".dag/tasks"))).toBe(false); // the coordinator writes task records, never the task

    const threw = task("threw", "throw");
    expect(threw.code).toBe(1);
    expect(threw.result).toEqual({ ok: false, reason: "stage-error", message: "this stage throws on purpose" });

    mkdirSync(join(dir, "bad"));
    writeFileSync(join(dir, "bad/spec.json"), "{ not json");
    const bad = spawnSync(process.execPath, [CLI, "task", join(dir, "bad/spec.json")], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^dag task: cannot read the task spec .*bad\/spec.json: .*; dag task runs a spec that dag run wrote/);
  });
});

function readdirOrEmpty(path: string): string[] {
  return existsSync(path) ? readdirSync(path) : [];
}
