import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { EngineEvent } from "../../dist/engine/events.js";
import type { Executor } from "../../dist/engine/executor.js";
import { LocalPoolExecutor } from "../../dist/engine/executors/local.js";
import { loadPipeline } from "../../dist/engine/pipeline.js";
import { publishStage } from "../../dist/engine/results.js";
import { Scheduler, type RunOptions } from "../../dist/engine/scheduler.js";
import { Store } from "../../dist/cache/store.js";

export const FIXTURE_STAGES = resolve("dist/tests/fixtures/stages");
export const CLI = resolve("dist/engine/cli.js");

/** Three fixture stages in a chain: 3 numbers, squared each, summed (0 + 1 + 4 = 5). */
export const CHAIN = `stages:
  numbers: { params: { count: 3 } }
  square:
    inputs: { values: numbers.values }
  total:
    inputs: { values: square.squares }
`;

/** The numbers in data/*.txt, one task a file, summed. */
export const GLOB_SUM = `stages:
  readfile:
    inputs: { files: { glob: "data/*.txt" } }
  total:
    inputs: { values: readfile.values }
`;

/** A fresh folder with a pipeline.yaml that can use the test stage kinds. */
export function workspace(yaml: string, withFixtures = true): string {
  const dir = mkdtempSync(join(tmpdir(), "dag-test-"));
  writePipeline(dir, yaml, withFixtures);
  return dir;
}

export function writePipeline(dir: string, yaml: string, withFixtures = true): void {
  writeFileSync(join(dir, "pipeline.yaml"), `${withFixtures ? `stage_paths: [${JSON.stringify(FIXTURE_STAGES)}]\n` : ""}${yaml}`);
}

export interface Outcome {
  ok: boolean;
  /** `stage[item]` of every task that ran, sorted. */
  ran: string[];
  cached: number;
  failed: string[];
  events: EngineEvent[];
}

/** Run the pipeline in `dir` in-process through the real worker pool (or the executor given). */
export async function run(dir: string, options: Partial<RunOptions> & { set?: string[]; jobs?: number; executor?: Executor } = {}): Promise<Outcome> {
  const pipeline = await loadPipeline(join(dir, "pipeline.yaml"), { set: options.set });
  const executor = options.executor ?? new LocalPoolExecutor(options.jobs ?? 2);
  const events: EngineEvent[] = [];
  const store = new Store(pipeline.cacheDir);
  try {
    const result = await new Scheduler(pipeline, executor, {
      ...options,
      logger: (e) => events.push(e),
      onStageComplete: options.dryRun ? undefined : (node, outputs) => publishStage(pipeline.resultsDir, node.name, outputs, (ref) => store.blobPath(ref.hash)),
    }).run();
    const name = (e: { stage: string; item?: string }): string => (e.item ? `${e.stage}[${e.item}]` : e.stage);
    return {
      ok: result.ok,
      ran: events.flatMap((e) => (e.type === "task-done" && e.source === "ran" ? [name(e)] : [])).sort(),
      cached: result.cached,
      failed: events.flatMap((e) => (e.type === "task-failed" ? [name(e)] : [])).sort(),
      events,
    };
  } finally {
    await executor.close();
  }
}

/** Run the dag command line in `dir`, as a user would. */
export function dag(dir: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The fixture stages as a chain, each shape once: a generator (numbers), per-item stages (clamp,
 * square; digits fans out into sub-items) and a whole-collection stage (total).
 */
export function chainPipeline(p: { seed: number; count: number; base: number; max: number; totalParams?: string }): string {
  return `seed: ${p.seed}
stages:
  numbers:
    params: { count: ${p.count}, base: ${p.base} }
  clamp:
    inputs: { values: numbers.values }
    params: { max: ${p.max} }
  square:
    inputs: { values: clamp.values }
  digits:
    inputs: { values: square.squares }
  total:
    inputs: { values: digits.digits }
${p.totalParams ? `    params: ${p.totalParams}\n` : ""}`;
}
