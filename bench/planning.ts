/**
 * Planning overhead: a no-op `dag run` over a pipeline whose items are all cached, beside the same
 * pipeline in Snakemake (Debian's package), measured in one run on one machine.
 *
 *   node dist/bench/planning.js [items=10000] [repeats=5]
 *
 * The pipeline: a generator of N numbers (one item each), a per-item stage, a stage over the
 * whole collection: 2N + 1 cached tasks. Snakemake gets the same three rules over N files.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const items = Number(process.argv[2] ?? 10_000);
const repeats = Number(process.argv[3] ?? 5);
const cli = resolve("dist/engine/cli.js");
const fixtures = resolve("dist/tests/fixtures/stages");

function time(cmd: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function dagWorkspace(): string {
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

const dag = dagWorkspace();
const cold = time(process.execPath, [cli, "run"], dag);
const dagNoop = median(Array.from({ length: repeats }, () => time(process.execPath, [cli, "run"], dag)));
const dagStatus = median(Array.from({ length: repeats }, () => time(process.execPath, [cli, "status"], dag)));
console.log(`dag: cold run ${cold.toFixed(1)} s; no-op run ${dagNoop.toFixed(2)} s; status ${dagStatus.toFixed(2)} s`);

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
