import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, dag, FIXTURE_STAGES, workspace, writePipeline } from "./helpers/workspace.js";

const CHAIN = `stages:
  numbers: { params: { count: 3 } }
  square:
    inputs: { values: numbers.values }
`;

/** A stack trace line: what a user must never see. */
const STACK = /^\s+at /m;

/** Whether this machine lets us mount a small tmpfs in a private namespace (to fill a disk). */
const canMount = spawnSync("unshare", ["-rm", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d"]).status === 0;

describe("faults end with a clear message, their own exit code, and nothing broken", () => {
  it.skipIf(!canMount)("a full disk: 'disk full at PATH', exit 4, lock released, no temporary files; the next run cleans up by itself", () => {
    const dir = workspace("stages:\n  filler: { params: { count: 24, kb: 64 } }\n");
    mkdirSync(join(dir, ".dag"));
    // A 512 KiB file system under .dag: 24 blocks of 64 KiB do not fit.
    const script = `mount -t tmpfs -o size=512k tmpfs .dag || exit 99
      ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run --jobs 2; echo "exit=$?"
      echo "lock=$(ls .dag/lock 2>/dev/null)"; echo "temporaries=$(find .dag -name '*.tmp' | wc -l)"; echo "outdirs=$(ls .dag/tmp | wc -l)"`;
    const r = spawnSync("unshare", ["-rm", "sh", "-c", script], { cwd: dir, encoding: "utf8" });
    expect(r.stdout).toMatch(/exit=4\n/);
    expect(r.stderr).toMatch(/^dag: disk full at \S*\.dag\S*: free some space/m);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toMatch(/lock=\n/);
    expect(r.stdout).toMatch(/temporaries=0\n/);
    expect(r.stdout).toMatch(/outdirs=0\n/);
  });

  it("the next run removes output folders a killed run left behind", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    mkdirSync(join(dir, ".dag", "tmp", "square-n1-deadbeef"), { recursive: true });
    writeFileSync(join(dir, ".dag", "tmp", "square-n1-deadbeef", "half.txt"), "1");
    expect(dag(dir, "run").code).toBe(0);
    expect(readdirSync(join(dir, ".dag", "tmp"))).toEqual([]);
  });

  it("a closed pipe (dag status | head -1, dag run --json | head -1): no stack trace, no stale lock", async () => {
    const dir = workspace(CHAIN.replace("count: 3", "count: 60"));
    for (const args of [["run", "--json"], ["status"]]) {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      // Read the first line, then go away as `head -1` does.
      await new Promise<void>((r) => child.stdout.once("data", () => r()));
      child.stdout.destroy();
      const code = await new Promise<number | null>((r) => child.on("exit", r));
      expect(stderr).not.toMatch(STACK);
      expect(stderr).not.toMatch(/EPIPE/);
      expect([0, 130]).toContain(code);
      expect(existsSync(join(dir, ".dag", "lock"))).toBe(false);
    }
  });

  it("Ctrl-C reaches a busy task: it stops at its next check, exit 130 within 2 s, its checkpoint kept for the next run", async () => {
    const dir = workspace("stages:\n  busy: { params: { batches: 300, batch_ms: 100 } }\n");
    const child = spawn(process.execPath, [CLI, "run"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    const scratch = join(dir, ".dag", "scratch");
    // Interrupt once the task has done some batches (its checkpoint exists).
    for (let i = 0; i < 200 && !(existsSync(scratch) && readdirSync(scratch).some((k) => existsSync(join(scratch, k, "batches-done")))); i++) await new Promise((r) => setTimeout(r, 50));
    const sent = Date.now();
    child.kill("SIGINT");
    const code = await exited;
    const took = Date.now() - sent;
    expect(code).toBe(130);
    expect(took).toBeLessThan(2000); // the whole task takes 30 s: the abort reached it
    expect(stderr).toMatch(/interrupted: stopping running tasks at their next check/);
    expect(stderr).not.toMatch(/FAILED/); // stopped by the user, not failed
    expect(existsSync(join(dir, ".dag", "lock"))).toBe(false);
    const [key] = readdirSync(scratch);
    const done = Number(readFileSync(join(scratch, key!, "batches-done"), "utf8"));
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(300);
  });

  it("prototype keys in --set are refused with the flag named", () => {
    const dir = workspace(CHAIN);
    for (const key of ["__proto__.foo", "constructor.foo", "square.__proto__.x", "square.constructor"]) {
      const r = dag(dir, "status", "--set", `${key}=1`);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^--set ${key.replace(/\./g, "\\.")}=1: "(__proto__|constructor)" cannot be a key`, "m"));
    }
  });

  it("a bad value given by --set is blamed on the flag; an infinite number is refused with its line", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "status", "--set", "seed=-1").stderr).toMatch(/^--set seed=-1: key "seed": expected a number >= 0/m);
    writeFileSync(join(dir, "big.yaml"), "seed: 1e309\nstages: {}\n");
    const inf = dag(dir, "status", "-p", "big.yaml");
    expect(inf.code).toBe(2);
    expect(inf.stderr).toMatch(/^big\.yaml:1:7: key "seed": Infinity is not a finite number/m);
  });

  it("a folder as the pipeline file, an alias bomb, a glob into an unreadable folder: each named, exit 2", () => {
    const dir = workspace(CHAIN);
    const folder = dag(dir, "status", "-p", ".");
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^\.: is a folder, not a pipeline file\n {2}hint: pass the file: --pipeline pipeline\.yaml/m);
    const levels = Array.from({ length: 12 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(", ")}]`);
    writeFileSync(join(dir, "bomb.yaml"), ["l0: &l0 [lol]", ...levels, "stages: {}", ""].join("\n"));
    const bomb = dag(dir, "status", "-p", "bomb.yaml");
    expect(bomb.code).toBe(2);
    expect(bomb.stderr).toMatch(/^bomb\.yaml:\d+:\d+: YAML: .*alias/im);
    expect(bomb.stderr).not.toMatch(STACK);
    // A glob into a folder that is missing or unreadable (listing errors are skipped, as find does).
    writeFileSync(join(dir, "input.yaml"), `stage_paths: [${JSON.stringify(FIXTURE_STAGES)}]\nstages:\n  readfile:\n    inputs: { files: { glob: "locked/*.txt" } }\n`);
    const unreadable = dag(dir, "run", "-p", "input.yaml");
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/^input\.yaml:4:22: stage "readfile", key "files": no file matches the glob "locked\/\*\.txt" .*readable/m);
  });

  it("cache or results that hold the pipeline file, or overlap, are refused before dag clean can delete them", () => {
    const dir = workspace(`results: .\n${CHAIN}`);
    const clean = dag(dir, "clean");
    expect(clean.code).toBe(2);
    expect(clean.stderr).toMatch(/^pipeline\.yaml:2:10: key "results": \S+ holds the pipeline file: dag clean would delete it/m);
    expect(existsSync(join(dir, "pipeline.yaml"))).toBe(true);
    writePipeline(dir, CHAIN);
    expect(dag(dir, "status", "--set", "cache=..").stderr).toMatch(/^--set cache=\.\.: key "cache": \S+ holds the pipeline file/m);
    expect(dag(dir, "status", "--set", 'cache=""').stderr).toMatch(/^--set cache="": key "cache": \S+ holds the pipeline file/m);
    const overlap = dag(dir, "run", "--set", "results=.dag");
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toMatch(/^--set results=\.dag: key "results": the cache \(\S+\) and results \(\S+\) folders overlap/m);
  });

  it("a file or a link to nowhere where .dag or results/ should be: named, exit 2, nothing run", () => {
    const dir = workspace(CHAIN);
    writeFileSync(join(dir, ".dag"), "");
    for (const command of ["run", "verify", "gc"]) {
      const r = dag(dir, command);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^dag: cannot make the cache folder \.dag: a file is in the way; move that out of the way/m);
    }
    rmSync(join(dir, ".dag"));
    symlinkSync(join(dir, "nowhere"), join(dir, "results"));
    const r = dag(dir, "run");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dag: cannot make the results folder results: it is a link to nowhere/m);
    expect(r.stderr).not.toMatch(/ran/);
  });

  it("--set into a stage or params that are not a mapping names the flag (no internal error)", () => {
    const dir = workspace("stages:\n  numbers: 5\n  square: { params: [1] }\n  total:\n");
    for (const [flag, what] of [["numbers.count=2", `stage "numbers"`], ["square.x=1", `the params of stage "square"`], ["total.x=1", `stage "total"`]] as const) {
      const r = dag(dir, "status", "--set", flag);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--set ${flag}: ${what} in pipeline.yaml is not a mapping`);
    }
    writePipeline(dir, CHAIN);
    expect(dag(dir, "status", "--set", "numbers.count.x=2").stderr).toMatch(/^--set numbers\.count\.x=2: stage "numbers", key "count": expected integer/m);
  });

  it("a named pipe as a file input is refused at once, as what it is (no hang on reading it)", () => {
    const dir = workspace("stages:\n  readfile:\n    inputs: { files: { file: pipe } }\n");
    spawnSync("mkfifo", [join(dir, "pipe")]);
    const r = spawnSync(process.execPath, [CLI, "run"], { cwd: dir, encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^pipeline\.yaml:4:\d+: stage "readfile", key "files": pipe is not a regular file \(a pipe, socket or device\)/m);
  });

  it("an internal error has its own exit code and a one-line message saying where to report it", () => {
    // A fault dag did not foresee, planted where loading a pipeline calls the runtime.
    const dir = workspace(CHAIN);
    const plant = `globalThis.structuredClone = () => { throw new TypeError("boom"); }; await import(${JSON.stringify(CLI)});`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", plant, "status"], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/^dag: internal error: boom \(DAG_DEBUG=1 shows where\)\n {2}This is a bug in dag: please report it/m);
    expect(r.stderr).not.toMatch(STACK);
  });
});
