import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
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
const FULL_DISK = canMount
  ? "a small tmpfs under .dag in a private mount namespace"
  : "SKIPPED: cannot mount a small tmpfs here (unshare -rm needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1)";

/** Run `script` in `dir` with a tmpfs of `size` mounted on `folder` (.dag), in a mount namespace of its own; its stdout and stderr. */
function withSmallDisk(dir: string, size: string, script: string, folder = ".dag"): { stdout: string; stderr: string } {
  mkdirSync(join(dir, folder), { recursive: true });
  const r = spawnSync("unshare", ["-rm", "sh", "-c", `mount -t tmpfs -o size=${size} tmpfs ${folder} || exit 99\n${script}`], { cwd: dir, encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr };
}

const DAG_RUN = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run`;
/** After a run on a full disk: its exit code, whether the lock is left, temporary files and output folders left. */
const AFTERMATH = `echo "exit=$?"; echo "lock=$(ls .dag/lock 2>/dev/null)"; echo "temporaries=$(find .dag -name '*.tmp' | wc -l)"; echo "outdirs=$(ls .dag/tmp | wc -l)"`;

describe(`a full disk (${FULL_DISK})`, () => {
  it.skipIf(!canMount)("a full disk: 'disk full at PATH', exit 4, lock released, no temporary files; the next run cleans up by itself", () => {
    const dir = workspace("stages:\n  filler: { params: { count: 24, kb: 64 } }\n");
    // A 512 KiB file system under .dag: 24 blocks of 64 KiB do not fit.
    const r = withSmallDisk(dir, "512k", `${DAG_RUN} --jobs 2; ${AFTERMATH}`);
    expect(r.stdout).toMatch(/exit=4\n/);
    expect(r.stderr).toMatch(/^dag: disk full at \S*\.dag\S*: free some space/m);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toMatch(/lock=\n/);
    expect(r.stdout).toMatch(/temporaries=0\n/);
    expect(r.stdout).toMatch(/outdirs=0\n/);
  });

  it.skipIf(!canMount)("a full results/ names the results file being written, not the cache blob it copies; exit 4", () => {
    const dir = workspace(CHAIN);
    // 8 KiB under results/: two files fit, publishing the chain's dozen does not.
    const r = withSmallDisk(dir, "8k", `${DAG_RUN}; echo "exit=$?"`, "results");
    expect(r.stdout).toMatch(/exit=4\n/);
    expect(r.stderr).toMatch(/^dag: disk full at \S*results\/\S+: free some space/m);
    expect(r.stderr).not.toMatch(/disk full at \S*\.dag/);
  });

  it.skipIf(!canMount)("a full disk during a stage's HDF5 write (synthesize's video): 'disk full at <the .h5 file>', exit 4, nothing left behind", () => {
    // One small recording, uncompressed: its video (about 1.5 MB) does not fit in 512 KiB.
    const dir = workspace("stages:\n  synthesize: { params: { recordings: 1, gzip: 0, bouts_min: 1, bouts_max: 1, crop_px: 48, px_per_mm: 10, width: 96, height: 64 } }\n", false);
    const r = withSmallDisk(dir, "512k", `${DAG_RUN}; ${AFTERMATH}`);
    expect(r.stdout).toMatch(/exit=4\n/);
    expect(r.stderr).toMatch(/^dag: disk full at \S*\.dag\/tmp\/synthesize-rec000-\w+\/video\.h5: free some space/m);
    expect(r.stderr).not.toMatch(/file write failed|time = /);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toMatch(/lock=\n/);
    expect(r.stdout).toMatch(/temporaries=0\n/);
    expect(r.stdout).toMatch(/outdirs=0\n/);
  });

  it.skipIf(!canMount)("0 bytes free: the message names the lock it could not write, and no lock.*.tmp is left", () => {
    const dir = workspace(CHAIN);
    const r = withSmallDisk(dir, "64k", `mkdir -p .dag/blobs .dag/tasks .dag/runs .dag/tmp; cat /dev/zero > .dag/fill 2>/dev/null; ${DAG_RUN}; ${AFTERMATH}`);
    expect(r.stdout).toMatch(/exit=4\n/);
    expect(r.stderr).toMatch(/^dag: disk full at \S*\.dag\/lock: free some space/m);
    expect(r.stderr).not.toMatch(/disk full at \?/);
    expect(r.stdout).toMatch(/lock=\n/);
    expect(r.stdout).toMatch(/temporaries=0\n/);
  });
});

describe("faults end with a clear message, their own exit code, and nothing broken", () => {
  it("the next run removes output folders a killed run left behind", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    mkdirSync(join(dir, ".dag", "tmp", "square-n1-deadbeef"), { recursive: true });
    writeFileSync(join(dir, ".dag", "tmp", "square-n1-deadbeef", "half.txt"), "1");
    expect(dag(dir, "run").code).toBe(0);
    expect(readdirSync(join(dir, ".dag", "tmp"))).toEqual([]);
  });

  it("a record write killed mid-way (SIGKILL) leaves a *.json.<pid>.<hex>.tmp: the next run and dag gc remove it, never a live writer's", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    const tasks = join(dir, ".dag", "tasks");
    const sub = join(tasks, readdirSync(tasks)[0]!);
    const deadPid = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const minuteAgo = new Date(Date.now() - 60_000);
    const debris = (name: string, mtime?: Date): string => {
      const path = join(sub, name);
      writeFileSync(path, '{"key":"ab');
      if (mtime) utimesSync(path, mtime, mtime);
      return path;
    };
    // What a SIGKILL during writeFileAtomic leaves, and what a live writer has open right now.
    const killed = [debris(`${"a".repeat(64)}.json.${deadPid}.0123abcd.tmp`, minuteAgo), join(dir, ".dag", `lock.${deadPid}.89abcdef.tmp`)];
    writeFileSync(killed[1]!, "");
    utimesSync(killed[1]!, minuteAgo, minuteAgo);
    const liveWriter = debris(`${"b".repeat(64)}.json.${process.pid}.0123abcd.tmp`, minuteAgo);
    const justWritten = debris(`${"c".repeat(64)}.json.${deadPid}.0123abcd.tmp`);
    expect(dag(dir, "run").code).toBe(0);
    for (const path of killed) expect(existsSync(path), path).toBe(false);
    // A writer alive here, and a file seconds old (its writer may live on another host of a shared cache), stay.
    expect(existsSync(liveWriter)).toBe(true);
    expect(existsSync(justWritten)).toBe(true);
    const again = debris(`${"d".repeat(64)}.json.${deadPid}.0123abcd.tmp`, minuteAgo);
    const gc = dag(dir, "gc");
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/and 1 temporary file killed writers left/);
    expect(existsSync(again)).toBe(false);
    expect(existsSync(liveWriter)).toBe(true);
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
