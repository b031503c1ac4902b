import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { LockBusyError, WorkspaceLock } from "../dist/cache/lock.js";

/** The pid of a process that has exited: a lock holder that is surely gone. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

const LOCK_MODULE = pathToFileURL(resolve("dist/cache/lock.js")).href;

/**
 * `takers` threads released at the same instant (a shared-memory barrier), each trying to take the
 * lock; none releases it. Returns how many got it.
 */
async function raceFor(path: string, takers: number): Promise<number> {
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from({ length: takers }, () => new Worker(`
    const { workerData, parentPort } = require("node:worker_threads");
    import(workerData.module).then(({ WorkspaceLock }) => {
      const lock = new WorkspaceLock(workerData.path);
      parentPort.postMessage("ready");
      Atomics.wait(workerData.barrier, 0, 0);
      try { lock.tryAcquire("race"); parentPort.postMessage("got"); } catch (e) { parentPort.postMessage(e.name === "Error" && /another dag process/.test(e.message) ? "busy" : "error: " + e.message); }
    });
  `, { eval: true, workerData: { module: LOCK_MODULE, path, barrier } }));
  const replies = workers.map((w) => {
    const messages: string[] = [];
    return { messages, ready: new Promise<void>((r) => w.on("message", (m: string) => (messages.push(m), m === "ready" && r()))), done: new Promise((r) => w.on("exit", r)) };
  });
  await Promise.all(replies.map((r) => r.ready));
  Atomics.store(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  await Promise.all(replies.map((r) => r.done));
  const outcomes = replies.map((r) => r.messages.at(-1));
  expect(outcomes.filter((o) => o !== "got" && o !== "busy")).toEqual([]);
  return outcomes.filter((o) => o === "got").length;
}

describe("the workspace lock", () => {
  it("many processes taking over a stale lock at once: exactly one gets it, every time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dag-lock-"));
    const winners: number[] = [];
    const gone = deadPid();
    for (let trial = 0; trial < 25; trial++) {
      const path = join(dir, `lock-${trial}`);
      writeFileSync(path, JSON.stringify({ pid: gone, host: hostname(), since: "then", command: "run" }));
      winners.push(await raceFor(path, 8));
    }
    expect(winners).toEqual(Array(25).fill(1));
  });

  it("an empty lock file (a crash mid-write) is taken over once it is old, not while it may be being written", () => {
    const dir = mkdtempSync(join(tmpdir(), "dag-lock-"));
    const path = join(dir, "lock");
    writeFileSync(path, "");
    expect(() => new WorkspaceLock(path).tryAcquire("run")).toThrow(LockBusyError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const lock = new WorkspaceLock(path);
    lock.tryAcquire("run");
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ pid: process.pid, command: "run" });
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it("a live holder is never taken over", () => {
    const dir = mkdtempSync(join(tmpdir(), "dag-lock-"));
    const first = new WorkspaceLock(join(dir, "lock"));
    first.tryAcquire("run");
    expect(() => new WorkspaceLock(join(dir, "lock")).tryAcquire("gc")).toThrow(/another dag process \(pid \d+ .*running "run"/);
    first.release();
  });
});
