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
 *
 * The reference, where Debian's `snakemake` is installed: the same N trivial jobs (a rule that
 * writes one number) run by Snakemake with 2 local cores and on the same cluster through its
 * generic `--cluster sbatch` (its `--slurm` executor needs `sacct`, which needs an accounting
 * database this one-node cluster does not run), interleaved with ours.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "./stats.js";

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

const dir = mkdtempSync(join(tmpdir(), "bench-executors-"));
writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [${JSON.stringify(fixtures)}]\nstages:\n  numbers: { params: { count: ${tasks} } }\n`);

/** Each variant as a command: ours, then Snakemake's where it is installed. */
const commands: Record<string, { cmd: string; args: string[]; cwd: string }> = Object.fromEntries(
  Object.entries(variants).map(([name, args]) => [name, { cmd: process.execPath, args: [cli, "run", "--force", "numbers", ...args], cwd: dir }]),
);
const snakemake = spawnSync("snakemake", ["--version"], { encoding: "utf8" });
if (snakemake.status === 0) {
  const smk = mkdtempSync(join(tmpdir(), "bench-executors-smk-"));
  writeFileSync(join(smk, "Snakefile"), `rule all:\n    input: expand("n{i}.txt", i=range(${tasks}))\nrule numbers:\n    output: "n{i}.txt"\n    shell: "echo {wildcards.i} > {output}"\n`);
  const quiet = ["--forceall", "--quiet", "--nolock"];
  commands[`Snakemake ${snakemake.stdout.trim()}, 2 local cores`] = { cmd: "snakemake", args: ["--cores", "2", ...quiet], cwd: smk };
  commands[`Snakemake ${snakemake.stdout.trim()}, --cluster sbatch`] = {
    cmd: "snakemake", args: ["--jobs", String(tasks), "--cluster", "sbatch --parsable --cpus-per-task=1 --mem=200M --output=/dev/null", "--latency-wait", "5", "--max-status-checks-per-second", "2", ...quiet], cwd: smk,
  };
} else {
  console.log("snakemake: not installed (apt-get install snakemake); no reference rows");
}

const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((v) => [v, []]));
const loadBefore = load();
for (let r = 0; r < rounds; r++) {
  for (const [name, { cmd, args, cwd }] of Object.entries(commands)) {
    const start = process.hrtime.bigint();
    const run = spawnSync(cmd, args, { cwd, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${name} failed:\n${run.stderr}`);
    times[name]!.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
}
const loadAfter = load();

const local = median(times.local!);
const smkLocal = Object.entries(times).find(([name]) => name.endsWith("2 local cores"));
console.log(`${tasks} tasks, ${rounds} rounds interleaved, squeue every ${poll} s; load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter}`);
console.log("| executor | wall time (median) | runs | overhead per task against the same tool's local run |");
console.log("|---|---|---|---|");
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  const base = name.startsWith("Snakemake") ? median(smkLocal![1]) : local;
  const isBase = name === "local" || name === smkLocal?.[0];
  console.log(`| ${name} | ${m.toFixed(2)} s | ${xs.map((x) => x.toFixed(2)).join(", ")} | ${isBase ? "" : `${(((m - base) / tasks) * 1000).toFixed(0)} ms`} |`);
}
const array = median(times["slurm, one job array"]!);
console.log(`one job array of ${tasks}: ${(array - local).toFixed(2)} s over the local pool for the whole array`);
