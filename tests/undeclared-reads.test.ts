/**
 * Every file of the project that a kind's task opens is in that kind's code fingerprint: its
 * code, what its code names by `new URL("literal", import.meta.url)` (the native addon, worker
 * modules) and what it declares in `reads`. Checked where it cannot be fooled: the first task
 * of each stage runs as a `dag task` process under strace, which sees every open(2) of every
 * thread, dlopen and worker threads included; the rest run in the pool. A tiny default pipeline
 * runs every kind it uses, and two kinds of the test's own show that the check catches a read
 * that is not declared and passes it once it is.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { CodeFingerprints, projectRoot } from "../dist/engine/code-fingerprint.js";
import type { Executor } from "../dist/engine/executor.js";
import { LocalPoolExecutor } from "../dist/engine/executors/local.js";
import { SubprocessExecutor } from "../dist/engine/executors/subprocess.js";
import type { StageKind } from "../dist/engine/stage-api.js";
import type { TaskMessage, TaskResult, TaskSpec } from "../dist/engine/task-spec.js";
import { CLI, run, workspace } from "./helpers/workspace.js";

const ROOT = resolve(".");
const README = join(ROOT, "README.md");
const straceWorks = spawnSync("strace", ["-f", "-qq", "-o", "/dev/null", "true"]).status === 0;

/** The default pipeline's kinds (and classify) at the smallest size that still trains, evaluates, explains, fits an SVM and classifies. */
const PIPELINE = `seed: 0
stage_paths: [kinds]
stages:
  synthesize:
    params: { recordings: 8, prey_fraction: 0.5, bouts_min: 1, bouts_max: 1, gzip: 0 }
  extract:
    inputs: { recordings: synthesize.recordings }
    params: { crop_size: 128, bladder: { offset: 5 }, gzip: 0 }
  extract_summary:
    inputs: { reports: extract.reports }
  mask:
    inputs: { events: extract.events }
  subsample:
    inputs: { events: mask.events }
    params: { count: 1 }
  flow:
    inputs: { subsamples: subsample.subsamples }
    params: { pair_stride: 17, levels: 2, iterations: 2, winsize: 5, gzip: 0 }
  split:
    inputs: { events: extract.events }
    params: { fractions: { train: 0.5, validation: 0.25, test: 0.25 } }
  train:
    inputs: { samples: flow.samples, splits: split.splits }
    params:
      architecture: { preset: default, input_size: 28, flow_stride: 17, conv: [{ filters: 4, kernel: 3, stride: 2, pad: 0, lrn: both, pool: true }], fc: [8], dropout: 0.25 }
      epochs: 1
      batch: 4
      threads: 1
  evaluate:
    inputs: { models: train.models, samples: flow.samples, splits: split.splits }
  explain:
    inputs: { model: evaluate.model, samples: flow.samples, splits: split.splits }
    params: { methods: [saliency], batch: 4, threads: 1 }
  tailfit:
    inputs: { events: extract.events }
  features:
    inputs: { tails: tailfit.tails }
  svm:
    inputs: { features: features.features, splits: split.splits }
    params: { folds: 2, C: [1], gamma: [0.1], kernels: [linear] }
  classify:
    inputs: { model: evaluate.model, samples: flow.samples, reports: extract.reports }
  peek: {}
  peekdeclared: {}
`;

/** A kind of the test's own that reads the project's README, declaring it or not. */
const peekKind = (name: string, declared: boolean): string => `
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const readme = new URL(${JSON.stringify(pathToFileURL(README).href)});
export default {
  name: "${name}", version: 1, description: "test kind: the length of the project's README",
  ${declared ? "reads: [readme]," : ""}
  params: { type: "object", additionalProperties: false, properties: {} },
  inputs: {}, outputs: { length: { type: "artifact", description: "characters" } },
  async run(ctx) {
    writeFileSync(join(ctx.outDir, "length.txt"), String(readFileSync(readme, "utf8").length));
    return { length: { files: { length: "length.txt" } } };
  },
};
`;

interface Audited {
  modulePath: string;
  trace: string;
}

/**
 * The first task of each kind in a `dag task` process under strace (the subprocess executor
 * starts `process.execPath`: for that one spawn, a script that runs node under strace); every
 * other task in the pool.
 */
class ReadAuditExecutor implements Executor {
  readonly name = "read-audit";
  readonly slots = 2;
  readonly needsSharedFilesystem = true;
  readonly audited = new Map<string, Audited>();
  private readonly pool = new LocalPoolExecutor(2);
  private readonly processes = new SubprocessExecutor(2);

  constructor(private readonly dir: string, private readonly wrapper: string) {}

  run(spec: TaskSpec, onMessage: (m: TaskMessage) => void, signal: AbortSignal): Promise<TaskResult> {
    if (this.audited.has(spec.kind)) return this.pool.run(spec, onMessage, signal);
    const trace = join(this.dir, `${spec.kind}.trace`);
    this.audited.set(spec.kind, { modulePath: spec.modulePath, trace });
    const node = process.execPath;
    process.execPath = this.wrapper;
    process.env["READ_AUDIT_TRACE"] = trace;
    try {
      return this.processes.run(spec, onMessage, signal); // spawns before it returns
    } finally {
      process.execPath = node;
      delete process.env["READ_AUDIT_TRACE"];
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.processes.close()]);
  }
}

/** Regular files of the project opened for reading in a strace log (directories and writes left out). */
function projectFilesOpened(trace: string, cwd: string): string[] {
  const opened = new Set<string>();
  for (const m of readFileSync(trace, "utf8").matchAll(/\bopen(?:at2?)?\((?:[^,]+, )?"((?:[^"\\]|\\.)*)", ([A-Z_|]+)/g)) {
    const [, path, flags] = m as unknown as [string, string, string];
    if (/O_WRONLY|O_DIRECTORY/.test(flags)) continue;
    const abs = resolve(cwd, path);
    if (abs.startsWith(ROOT + sep) && statSync(abs, { throwIfNoEntry: false })?.isFile()) opened.add(abs);
  }
  return [...opened].sort();
}

/** What a kind may open: its fingerprint's files, what `dag task` itself is made of, installed packages. */
async function undeclared(audited: Audited, opened: string[]): Promise<string[]> {
  const kind = ((await import(pathToFileURL(audited.modulePath).href)) as { default: StageKind }).default;
  const code = new CodeFingerprints();
  const allowed = new Set<string>();
  for (const [modulePath, reads] of [[audited.modulePath, kind.reads], [CLI, []]] as const) {
    for (const file of Object.keys(code.of(modulePath, reads).manifest.files)) allowed.add(resolve(projectRoot(modulePath), file));
  }
  const installed = (f: string): boolean => relative(ROOT, f).split(sep).includes("node_modules") || f.endsWith(`${sep}package.json`);
  return opened.filter((f) => !allowed.has(f) && !installed(f)).map((f) => relative(ROOT, f));
}

describe.skipIf(!straceWorks)(`every project file a kind reads is in its key (${straceWorks ? "under strace" : "SKIPPED: no working strace here; apt-get install strace"})`, () => {
  const dir = workspace("", false);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a task of each kind of the default pipeline and classify opens no file of the project that its fingerprint leaves out; an undeclared read is caught", async () => {
    for (const [name, declared] of [["peek", false], ["peekdeclared", true]] as const) {
      mkdirSync(join(dir, "kinds", name), { recursive: true });
      writeFileSync(join(dir, "kinds", name, "index.js"), peekKind(name, declared));
    }
    writeFileSync(join(dir, "pipeline.yaml"), PIPELINE);
    const wrapper = join(dir, "node-under-strace");
    writeFileSync(wrapper, `#!/bin/sh\nexec strace -f -qq --seccomp-bpf -e trace=open,openat,openat2 -o "$READ_AUDIT_TRACE" ${JSON.stringify(process.execPath)} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const traces = join(dir, "traces");
    mkdirSync(traces);
    const executor = new ReadAuditExecutor(traces, wrapper);
    const outcome = await run(dir, { executor });
    expect(outcome.failed).toEqual([]);
    const kinds = ["synthesize", "extract", "extract_summary", "mask", "subsample", "flow", "split", "train", "evaluate", "explain", "tailfit", "features", "svm", "classify"];
    expect([...executor.audited.keys()].sort()).toEqual([...kinds, "peek", "peekdeclared"].sort());
    const found: Record<string, string[]> = {};
    for (const [kind, audited] of executor.audited) found[kind] = await undeclared(audited, projectFilesOpened(audited.trace, dir));
    // The check sees a read: the test's own kind opened the README, declared or not.
    expect(projectFilesOpened(executor.audited.get("peekdeclared")!.trace, dir)).toContain(README);
    expect(found).toEqual({ ...Object.fromEntries(kinds.map((k) => [k, []])), peek: ["README.md"], peekdeclared: [] });
    expect(readdirSync(traces).length).toBe(kinds.length + 2);
  }, 600_000);
});
