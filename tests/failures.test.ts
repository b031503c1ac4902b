/** Typed failures: what an executor rejects with reaches the event, the loggers and the run record with its reason. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Store } from "../dist/cache/store.js";
import type { EngineEvent } from "../dist/engine/events.js";
import type { Executor } from "../dist/engine/executor.js";
import { LocalPoolExecutor } from "../dist/engine/executors/local.js";
import { jsonLogger } from "../dist/engine/loggers/json.js";
import { plainLogger } from "../dist/engine/loggers/plain.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import { Scheduler } from "../dist/engine/scheduler.js";
import { TaskFailure } from "../dist/engine/task-spec.js";
import { CHAIN, workspace } from "./helpers/workspace.js";

/** The local pool, except that square's item n1 fails the way `failure` says. */
function failingOn(failure: () => unknown): Executor {
  const local = new LocalPoolExecutor(2);
  return {
    name: "failing", slots: local.slots, needsSharedFilesystem: false,
    run: (spec, onMessage, signal) => (spec.stage === "square" && spec.itemId === "n1" ? Promise.reject(failure()) : local.run(spec, onMessage, signal)),
    close: () => local.close(),
  };
}

async function runWith(executor: Executor): Promise<{ events: EngineEvent[]; plain: string; json: string; runId: string }> {
  const dir = workspace(CHAIN);
  const pipeline = await loadPipeline(join(dir, "pipeline.yaml"));
  const events: EngineEvent[] = [];
  let plain = "";
  let json = "";
  const toPlain = plainLogger((l) => (plain += l));
  const toJson = jsonLogger((l) => (json += l));
  try {
    const result = await new Scheduler(pipeline, executor, {
      keepGoing: true,
      logger: (e) => { events.push(e); toPlain(e); toJson(e); },
    }).run();
    expect(result.ok).toBe(false);
    expect(result.failed).toBe(1);
    return { events, plain, json, runId: result.record.id };
  } finally {
    await executor.close();
  }
}

describe("typed failures", () => {
  it("a TaskFailure's reason and log path reach the event, both loggers and the run record", async () => {
    const out = await runWith(failingOn(() => new TaskFailure("out-of-memory", "killed at 2 GiB", "/cluster/logs/square-n1.log")));
    const failure = out.events.find((e) => e.type === "task-failed");
    expect(failure).toMatchObject({ stage: "square", item: "n1", reason: "out-of-memory", error: "killed at 2 GiB", logPath: "/cluster/logs/square-n1.log" });
    expect(out.plain).toContain("FAILED square[n1] (out of memory): killed at 2 GiB\n  its log: /cluster/logs/square-n1.log\n");
    expect(out.json).toContain('"reason":"out-of-memory"');
    // The other items ran (keep-going): one failed item does not poison its siblings.
    expect(out.events.filter((e) => e.type === "task-done" && e.stage === "square")).toHaveLength(2);
  });

  it("the run record keeps the reason", async () => {
    const executor = failingOn(() => new TaskFailure("job-failed", "NODE_FAIL", "/cluster/logs/x.log"));
    const dir = workspace(CHAIN);
    const pipeline = await loadPipeline(join(dir, "pipeline.yaml"));
    try {
      const result = await new Scheduler(pipeline, executor, { keepGoing: true, logger: () => undefined }).run();
      const stored = new Store(pipeline.cacheDir).listRuns().find((r) => r.id === result.record.id)!;
      expect(stored.stages["square"]!.tasks["n1"]).toMatchObject({ source: "failed", reason: "job-failed", error: "NODE_FAIL", logPath: "/cluster/logs/x.log" });
    } finally {
      await executor.close();
    }
  });

  it("a plain Error from an executor is the stage's error, its message kept", async () => {
    const out = await runWith(failingOn(() => new Error("refusing to square 1")));
    expect(out.events.find((e) => e.type === "task-failed")).toMatchObject({ reason: "stage-error", error: "refusing to square 1" });
    expect(out.events.find((e) => e.type === "task-failed")).not.toHaveProperty("logPath");
    expect(out.plain).toContain("FAILED square[n1]: refusing to square 1\n");
  });

  it("a failure that crossed a thread as plain data keeps its reason", async () => {
    const out = await runWith(failingOn(() => ({ name: "TaskFailure", reason: "worker-crashed", message: "worker exited with code 134" })));
    expect(out.events.find((e) => e.type === "task-failed")).toMatchObject({ reason: "worker-crashed", error: "worker exited with code 134" });
    expect(out.plain).toContain("FAILED square[n1] (its worker crashed): worker exited with code 134\n");
  });
});
