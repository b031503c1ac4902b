/**
 * Scheduling overhead of the executors: the same cold run of N trivial tasks (the fixture
 * generator `numbers`, a few milliseconds of work each) in the local pool, in a process per task,
 * as N SLURM jobs and as one SLURM job array, interleaved round by round, on the cluster this
 * machine submits to (`.ci/slurm up` starts a single-node one).
 *
 *   node dist/bench/executors.js [tasks=16] [rounds=3] [poll seconds=0.5]
 *
 * Overhead per task = (median wall time - the local pool's) / tasks; a job array's figure is
 * per array and per task in it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const tasks = Number(process.argv[2] ?? 16);
const rounds = Number(process.argv[3] ?? 3);
const poll = process.argv[4] ?? "0.5";
const cli = resolve("dist/engine/cli.js");
const fixtures = resolve("dist/tests/fixtures/stages");

const variants: Record<string, string[]> = {
  local: ["--executor", "local", "--jobs", "2"],
  subprocess: ["--executor", "subprocess", "--jobs", "2"],
  "slurm, a job per task": ["--executor", "slurm", "--slurm-poll", poll, "--no-slurm-arrays"],
  "slurm, one job array": ["--executor", "slurm", "--slurm-poll", poll],
};

const load = (): string => spawnSync("uptime", { encoding: "utf8" }).stdout.trim().replace(/.*load average: /, "");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), "bench-executors-"));
writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [${JSON.stringify(fixtures)}]\nstages:\n  numbers: { params: { count: ${tasks} } }\n`);

const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
const loadBefore = load();
for (let r = 0; r < rounds; r++) {
  for (const [name, args] of Object.entries(variants)) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [cli, "run", "--force", "numbers", ...args], { cwd: dir, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${name} failed:\n${run.stderr}`);
    times[name].push(Number(process.hrtime.bigint() - start) / 1e9);
  }
}
const loadAfter = load();

const local = median(times.local);
console.log(`${tasks} tasks, ${rounds} rounds interleaved, squeue every ${poll} s; load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}`);
console.log("| executor | wall time (median) | runs | overhead per task against local |");
console.log("|---|---|---|---|");
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(2)} s | ${xs.map((x) => x.toFixed(2)).join(", ")} | ${name === "local" ? "" : `${(((m - local) / tasks) * 1000).toFixed(0)} ms`} |`);
}
const array = median(times["slurm, one job array"]);
console.log(`one job array of ${tasks}: ${(array - local).toFixed(2)} s over the local pool for the whole array`);
