/**
 * Planning overhead: a no-op `dag run` over a pipeline whose items are all cached, beside the same
 * pipeline in Snakemake (Debian's package), measured in one run on one machine.
 *
 *   node dist/bench/planning.js [items=10000] [repeats=5] [--before CHECKOUT]
 *
 * With --before, the same no-op run and status of another checkout's build (its dist/, e.g. the
 * main branch before an engine change) are timed too, interleaved with this one's, each in a
 * workspace of its own: the before/after figures of one machine at one moment.
 * The pipeline: a generator of N numbers (one item each), a per-item stage, a stage over the
 * whole collection: 2N + 1 cached tasks. Snakemake gets the same three rules over N files.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "./stats.js";

const args = process.argv.slice(2);
const beforeAt = args.indexOf("--before");
const before = beforeAt >= 0 ? resolve(args.splice(beforeAt, 2)[1] ?? "") : undefined;
const items = Number(args[0] ?? 10_000);
const repeats = Number(args[1] ?? 5);

function time(cmd: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function dagWorkspace(fixtures: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-dag-"));
  writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [${JSON.stringify(fixtures)}]
stages:
  numbers: { params: { count: ${items} } }
  square:
    inputs: { values: numbers.values }
  total:
    inputs: { values: square.squares }
`);
  return dir;
}

function snakemakeWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-smk-"));
  writeFileSync(join(dir, "Snakefile"), `N = ${items}
rule all:
    input: "total.txt"
rule numbers:
    output: "numbers/n{i}.txt"
    run:
        open(output[0], "w").write(wildcards.i)
rule square:
    input: "numbers/n{i}.txt"
    output: "squares/n{i}.txt"
    run:
        v = int(open(input[0]).read())
        open(output[0], "w").write(str(v * v))
rule total:
    input: expand("squares/n{i}.txt", i=range(N))
    output: "total.txt"
    run:
        open(output[0], "w").write(str(sum(int(open(f).read()) for f in input)))
`);
  return dir;
}

/** Fill Snakemake's outputs as a finished run would leave them (running 2N jobs through it takes long). */
function fillSnakemake(dir: string): void {
  mkdirSync(join(dir, "numbers"));
  mkdirSync(join(dir, "squares"));
  for (let i = 0; i < items; i++) writeFileSync(join(dir, "numbers", `n${i}.txt`), String(i));
  for (let i = 0; i < items; i++) writeFileSync(join(dir, "squares", `n${i}.txt`), String(i * i));
  writeFileSync(join(dir, "total.txt"), "0");
  // Snakemake records metadata only for jobs it ran; tell it the files are complete.
  execFileSync("snakemake", ["--cores", "1", "--touch", "--quiet"], { cwd: dir, stdio: "ignore" });
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}`;
console.log(`planning overhead, ${items} items (${2 * items + 1} tasks), median of ${repeats}; ${machine}`);

/** A build of dag to time: its CLI and the fixture stages the benchmark's pipeline uses. */
const builds = [{ name: before ? "after" : "dag", root: resolve(".") }, ...(before ? [{ name: "before", root: before }] : [])].map((b) => {
  const cli = join(b.root, "dist/engine/cli.js");
  const dir = dagWorkspace(join(b.root, "dist/tests/fixtures/stages"));
  const cold = time(process.execPath, [cli, "run"], dir);
  return { ...b, cli, dir, cold, noop: [] as number[], status: [] as number[] };
});
for (let i = 0; i < repeats; i++) {
  for (const b of builds) b.noop.push(time(process.execPath, [b.cli, "run"], b.dir));
  for (const b of builds) b.status.push(time(process.execPath, [b.cli, "status"], b.dir));
}
for (const b of builds) {
  console.log(`${b.name} (${b.root}): cold run ${b.cold.toFixed(1)} s; no-op run ${median(b.noop).toFixed(2)} s; status ${median(b.status).toFixed(2)} s`);
}
if (before) {
  const [after, was] = builds as [(typeof builds)[0], (typeof builds)[0]];
  console.log(`after / before: no-op run ${(median(after.noop) / median(was.noop)).toFixed(2)}x; status ${(median(after.status) / median(was.status)).toFixed(2)}x`);
}
const dagNoop = median(builds[0]!.noop);

const hasSnakemake = spawnSync("snakemake", ["--version"], { encoding: "utf8" });
if (hasSnakemake.status !== 0) {
  console.log("snakemake: not installed (apt-get install snakemake); no ratio");
} else {
  const smk = snakemakeWorkspace();
  fillSnakemake(smk);
  const smkNoop = median(Array.from({ length: repeats }, () => time("snakemake", ["--cores", "2", "--quiet"], smk)));
  const smkDry = median(Array.from({ length: repeats }, () => time("snakemake", ["-n", "--quiet"], smk)));
  console.log(`snakemake ${hasSnakemake.stdout.trim()}: no-op run ${smkNoop.toFixed(2)} s; dry run ${smkDry.toFixed(2)} s`);
  console.log(`ratio (snakemake / dag), no-op run: ${(smkNoop / dagNoop).toFixed(1)}x`);
}
