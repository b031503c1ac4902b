import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resultBytes } from "./helpers/executors.js";
import { CLI, FIXTURE_STAGES, workspace, writePipeline } from "./helpers/workspace.js";

/** `dag watch` in `dir`, a real process on the real file system; its stderr gathered as it comes. */
function watchIn(dir: string, ...args: string[]): { child: ChildProcess; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "watch", "-j", "2", ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  running.push(child);
  return { child, err: () => err, exited };
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

async function until(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runs = (err: string): number => (err.match(/^done: /gm) ?? []).length;
const watching = (err: string): number => (err.match(/^watching \d+ paths? for changes/gm) ?? []).length;

const numbers = (count: number) => `stages:\n  numbers: { params: { count: ${count} } }\n  square:\n    inputs: { values: numbers.values }\n`;

describe("dag watch", () => {
  it("runs at once, then once for a burst of saves, and stops cleanly on Ctrl-C with the workspace unlocked", async () => {
    const dir = workspace(numbers(2));
    const w = watchIn(dir);
    await until("the first run", () => watching(w.err()) === 1);
    expect(w.err()).toMatch(/done: 4 ran, 0 cached/);
    // Five saves within a quarter of a second: one run, with the last content.
    for (let count = 3; count <= 7; count++) {
      writePipeline(dir, numbers(count));
      await sleep(50);
    }
    await until("the run after the burst", () => watching(w.err()) === 2);
    await sleep(800); // long enough for a second, wrong run to start
    expect(runs(w.err())).toBe(2);
    expect(w.err()).toMatch(/done: 10 ran, 4 cached/);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
    expect(existsSync(join(dir, ".dag", "lock"))).toBe(false);
  });

  it("--executor subprocess: each run's tasks go to dag task processes, with the bytes of the thread pool", async () => {
    const yaml = (count: number): string => `${numbers(count)}  sleepy: { params: { ms: 1500 } }\n`;
    const dir = workspace(yaml(2));
    const w = watchIn(dir, "--executor", "subprocess");
    const taskProcess = (): boolean => spawnSync("pgrep", ["-f", `task ${dir}/.dag/jobs/subprocess-`]).status === 0;
    await until("a dag task process of the first run", taskProcess);
    await until("the first run", () => watching(w.err()) === 1);
    expect(w.err()).toMatch(/done: 5 ran, 0 cached/);
    writePipeline(dir, yaml(3));
    await until("the run after the save", () => watching(w.err()) === 2);
    expect(w.err()).toMatch(/done: 2 ran, 5 cached/);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
    const local = workspace(yaml(3));
    expect(spawnSync(process.execPath, [CLI, "run"], { cwd: local }).status).toBe(0);
    expect(resultBytes(dir)).toEqual(resultBytes(local));
  });

  it("a change during a run does not disturb it: one more run follows, however many changes came", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 1500 } }\n");
    const w = watchIn(dir);
    await until("the first run", () => watching(w.err()) === 1);
    writePipeline(dir, "stages:\n  sleepy: { params: { ms: 1501 } }\n");
    // The second run starts 300 ms after the save and sleeps 1.5 s: two saves, apart, inside it.
    await sleep(700);
    expect(runs(w.err())).toBe(1);
    writePipeline(dir, "stages:\n  sleepy: { params: { ms: 1502 } }\n");
    await sleep(400);
    writePipeline(dir, "stages:\n  sleepy: { params: { ms: 1503 } }\n");
    await until("the queued run", () => watching(w.err()) === 3, 20_000);
    await sleep(2200); // a fourth run would have finished by now
    const err = w.err();
    expect(runs(err)).toBe(3);
    // None was interrupted, and the last run saw the last save.
    expect(err).not.toMatch(/interrupted|FAILED/);
    const lastRun = JSON.parse(readFileSync(join(dir, ".dag", "runs", readLastRun(dir)), "utf8")) as { stages: { sleepy: { params: { ms: number } } } };
    expect(lastRun.stages.sleepy.params.ms).toBe(1503);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
  });

  it("Ctrl-C during a run stops the run at its next check, then the watch, with the workspace unlocked", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 20000 } }\n");
    const w = watchIn(dir);
    await until("the run to hold the workspace", () => existsSync(join(dir, ".dag", "lock")));
    await sleep(300);
    const asked = Date.now();
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(w.err()).toMatch(/interrupted: stopping running tasks/);
    expect(existsSync(join(dir, ".dag", "lock"))).toBe(false);
  });

  it("invalid YAML prints its error with the line and keeps watching; the fix runs", async () => {
    const dir = workspace(numbers(2));
    const w = watchIn(dir);
    await until("the first run", () => watching(w.err()) === 1);
    writeFileSync(join(dir, "pipeline.yaml"), "stages: [\n");
    await until("the error", () => watching(w.err()) === 2);
    expect(w.err()).toMatch(/pipeline\.yaml:\d+:\d+: YAML: /);
    expect(w.child.exitCode).toBe(null);
    writePipeline(dir, numbers(3));
    await until("the run after the fix", () => runs(w.err()) === 2);
    expect(w.err()).toMatch(/done: 2 ran, 4 cached/);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
  });

  it("an edit to a kind of the pipeline's own (stage_paths) runs its stage again", async () => {
    const dir = workspace("");
    cpSync(join(FIXTURE_STAGES, "numbers"), join(dir, "kinds", "numbers"), { recursive: true });
    writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [kinds]\nstages:\n  numbers: { params: { count: 2 } }\n`);
    const w = watchIn(dir);
    await until("the first run", () => watching(w.err()) === 1);
    const src = join(dir, "kinds", "numbers", "index.js");
    writeFileSync(src, readFileSync(src, "utf8").replace("version: 1", "version: 2"));
    await until("the run after the edit", () => runs(w.err()) === 2);
    expect(w.err()).toMatch(/changed: kinds\/numbers\/index\.js/);
    expect(w.err()).toMatch(/done: 2 ran, 0 cached/);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
  });

  it("a new file in an input folder runs what reads it", async () => {
    const dir = workspace("stages:\n  readfile:\n    inputs: { files: { glob: 'data/*.txt' } }\n");
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "data", "a.txt"), "abc");
    const w = watchIn(dir);
    await until("the first run", () => watching(w.err()) === 1);
    writeFileSync(join(dir, "data", "b.txt"), "hello");
    await until("the run for the new file", () => runs(w.err()) === 2);
    expect(w.err()).toMatch(/done: 1 ran, 1 cached/);
    w.child.kill("SIGINT");
    expect(await w.exited).toBe(0);
  });
});

function readLastRun(dir: string): string {
  return readdirSync(join(dir, ".dag", "runs")).filter((f) => f.endsWith(".json")).sort().at(-1)!;
}
