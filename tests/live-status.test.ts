/** `dag status` during a run: the coordinator's live file, what it says, and that it goes away. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Executor } from "../dist/engine/executor.js";
import { LocalPoolExecutor } from "../dist/engine/executors/local.js";
import { liveStatePath, readLiveState, type LiveState } from "../dist/engine/live-status.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import { Scheduler } from "../dist/engine/scheduler.js";
import { CLI, dag, workspace } from "./helpers/workspace.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("dag status during a run", () => {
  it("shows queued, running and done per stage while the run holds the lock; the file is gone afterwards", async () => {
    const dir = workspace("stages:\n  numbers: { params: { count: 3 } }\n  square:\n    inputs: { values: numbers.values }\n  sleepy: { params: { ms: 4000 } }\n");
    const child = spawn(process.execPath, [CLI, "run", "-j", "1"], { cwd: dir, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const live = await until("a running sleepy in dag status --json", () => {
        const r = dag(dir, "status", "--json");
        const parsed = r.code === 0 ? (JSON.parse(r.stdout) as { running?: LiveState }) : undefined;
        return parsed?.running?.stages["sleepy"]?.running === 1 ? parsed.running : undefined;
      });
      expect(live.pid).toBe(child.pid);
      expect(Object.keys(live.stages)).toEqual(["numbers", "square", "sleepy"]);
      // One slot, taken by sleepy: everything else that is known is done or waits in the queue.
      const all = Object.values(live.stages);
      expect(all.reduce((n, s) => n + s.running, 0)).toBe(1);
      for (const s of all) expect(s.queued + s.running + s.done + s.failed).toBe(s.total);
      const text = dag(dir, "status");
      expect(text.stdout).toMatch(/^a run is in progress: dag process \d+ .*\n/);
      expect(text.stdout).toMatch(/sleepy\s+1 running, 0 done of 1\n/);
    } finally {
      expect(await exited).toBe(0);
    }
    expect(existsSync(liveStatePath(join(dir, ".dag")))).toBe(false);
    expect(dag(dir, "status").stdout).toMatch(/sleepy\s+up to date \(1 cached\)/);
  });

  it("a task handed to an executor that queues counts as queued until the executor says it started", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 1500 } }\n");
    const pipeline = await loadPipeline(join(dir, "pipeline.yaml"));
    const local = new LocalPoolExecutor(1);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const queueing: Executor = {
      name: "queueing", slots: 1, needsSharedFilesystem: true, queues: true,
      run: async (spec, onMessage, signal) => {
        await released;
        onMessage({ type: "started" });
        return local.run(spec, onMessage, signal);
      },
      close: () => local.close(),
    };
    const running = new Scheduler(pipeline, queueing, { logger: () => undefined }).run();
    try {
      const queued = await until("the task queued", () => readLiveState(pipeline.cacheDir)?.stages["sleepy"]);
      expect(queued).toMatchObject({ queued: 1, running: 0, done: 0, total: 1 });
      expect(readLiveState(pipeline.cacheDir)?.executor).toBe("queueing");
      release();
      await until("the task running", () => (readLiveState(pipeline.cacheDir)?.stages["sleepy"]?.running === 1 ? true : undefined));
      expect((await running).ok).toBe(true);
    } finally {
      release();
      await running.catch(() => undefined);
      await queueing.close();
    }
    expect(readLiveState(pipeline.cacheDir)).toBeUndefined();
  });
});
