#!/usr/bin/env node
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { removeDebris } from "../cache/debris.js";
import { LockBusyError, WorkspaceLock } from "../cache/lock.js";
import type { RunRecord } from "../cache/records.js";
import { Store } from "../cache/store.js";
import { formatVerifyReport, verifyStore } from "../cache/verify.js";
import { didYouMean, PipelineError } from "./diagnostics.js";
import { DamagedCacheError, DiskFullError, isDiskFull, UsageError } from "./errors.js";
import type { Logger } from "./events.js";
import { compareRuns, findRun, formatComparison } from "./compare.js";
import { formatRun, formatRunList, summarizeRun } from "./runs.js";
import { formatMarkdown, runTable } from "./run-table.js";
import { buildReport } from "./report/build.js";
import { writeFileAtomic } from "../cache/atomic.js";
import { writeSideBySideImages } from "./compare-images.js";
import { defaultJobs, type Executor } from "./executor.js";
import { createExecutor, EXECUTORS, type ExecutorName } from "./executors/choose.js";
import { toDot, toMermaid } from "./graph.js";
import { describeKind, listKinds } from "./kinds-help.js";
import { jsonLogger } from "./loggers/json.js";
import { plainLogger } from "./loggers/plain.js";
import { displayPath, loadPipeline, type Pipeline } from "./pipeline.js";
import { publishStage } from "./results.js";
import { Scheduler } from "./scheduler.js";
import { pipelineStatus } from "./status.js";
import { watchedPaths, watchLoop } from "./watch.js";
import { formatLiveState, readLiveState } from "./live-status.js";

const EXIT = { ok: 0, failed: 1, invalid: 2, busy: 3, diskFull: 4, internal: 70, cancelled: 130 } as const;

/** Where to report a bug in dag itself. */
const REPORT = "the project's issue tracker";

interface CommonOptions {
  pipeline: string;
  set: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function common(cmd: Command): Command {
  return cmd
    .option("-p, --pipeline <file>", "the pipeline file", "pipeline.yaml")
    .option("-s, --set <key=value>", "override a value: <stage>.<param>[.<sub>]=<yaml value>, or seed=N (repeatable)", collect, [] as string[]);
}

async function load(opts: CommonOptions): Promise<Pipeline> {
  return loadPipeline(opts.pipeline, { set: opts.set });
}

/** The cache or results folder, made if missing; a file, a link to nowhere or a locked folder in its place is the user's to move. */
function ensureFolder(path: string, key: "cache" | "results"): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    if (isDiskFull(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code === "ENOENT" ? "it is a link to nowhere" : (err as Error).message;
    throw new UsageError(`cannot make the ${key} folder ${displayPath(path)}: ${why}; move that out of the way, or name another folder with ${key}: in the pipeline file`);
  }
}

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("dag")
  .version(version)
  .description(
    "Run a pipeline of content-hashed stages: only what changed (inputs, params or code) runs again.\n" +
      "Reads pipeline.yaml in the current folder; results are cached in .dag/ and linked under results/.",
  )
  .showHelpAfterError("(run dag --help, or dag <command> --help, for usage)")
  // Usage errors end in our own exit code (2), not commander's process.exit(1).
  .exitOverride()
  .addHelpText(
    "after",
    `
Examples:
  dag run                              bring every stage up to date
  dag run extract                      only extract and what it needs
  dag run --set train.epochs=20        run with a param changed (the file stays as it is)
  dag status                           what is stale, and exactly why
  dag watch                            run again on every saved change of pipeline.yaml or an input
  dag run --dry-run                    what would run, without running it
  dag run --check train evaluate       run cached train and evaluate tasks again; report any byte that differs
  dag run --executor slurm             each task a SLURM job (the cache on a filesystem the nodes share)
  dag runs                             the recorded runs with their headline figures
  dag show before                      one run: params, what ran and what was cached, timings
  dag compare before after             what differs between two named runs (dag run --name)
  dag compare before a b --markdown    several runs as one Markdown table, changes from the first
  dag report before after              one HTML page of two runs, side by side (results/report.html)
  dag graph --format mermaid           the stages as a diagram
  dag kinds synthesize                 a stage kind's params, units and defaults
  dag verify --repair                  re-hash the cache; remove what is corrupt and what was made from it

Exit codes: 0 success, 1 a task failed (or verify found corruption), 2 invalid pipeline or usage,
3 another dag process holds the workspace, 4 disk full, 70 internal error, 130 interrupted.`,
  );

/** Where tasks run, and the executors' settings: the same for `run` and `watch`. */
function executorOptions(command: Command): Command {
  return command
    .addOption(new Option("--executor <name>", "where tasks run: local (worker threads), subprocess (a process per task, here), slurm (a SLURM job per task, a job array per stage's batch of items; the cache must be on a filesystem the nodes share)").choices(EXECUTORS).default("local"))
    .option("--retries <n>", "run a task again up to N times when where it ran failed (a killed or lost job, a node failure, a crashed worker, out of memory, a time limit); a stage's own error is never retried", (v) => wholeNumber(v, "--retries", 0), 0)
    .option("--slurm-max-jobs <n>", "slurm: jobs (array elements) in the queue at once", (v) => positiveInt(v, "--slurm-max-jobs"), 100)
    .option("--slurm-poll <seconds>", "slurm: seconds between looks at the queue (one squeue call for all jobs in flight)", (v) => positiveSeconds(v, "--slurm-poll"), 5)
    .option("--no-slurm-arrays", "slurm: a job per task, never a job array (for clusters that limit arrays)")
    .option("--slurm-sbatch <options>", "slurm: sbatch options for every job, e.g. \"--account=lab --qos=short\" (a stage's resources.sbatch adds its own)");
}

executorOptions(common(
  program
    .command("run")
    .description("bring stages up to date: restore cached results, run the rest in a worker pool")
    .argument("[stages...]", "target stages (with everything they need); all when none"),
))
  .option("-j, --jobs <n>", "tasks run at once (worker threads; processes with --executor subprocess)", (v) => positiveInt(v, "--jobs"), defaultJobs())
  .option("-f, --force <stage>", "ignore the cached results of this stage (repeatable)", collect, [] as string[])
  .option("-k, --keep-going", "after a failure, finish every task that does not depend on it")
  .option("-n, --dry-run", "say what would run; run and write nothing")
  .option("--rehash", "trust nothing: re-read every input file (not only those whose size or mtime changed) and re-hash every cached file it reuses")
  .option("--check", "prove the cache: run the cached tasks of the given stages (all when none) again in a scratch area and compare their bytes with the cache; each output that differs is reported (file, first differing byte, for JSON, HDF5, CSV and .bin arrays the first differing value and by how much); nothing in the cache changes; exit 1 on a difference")
  .option("--name <name>", "name this run (kept by gc; for comparing runs later)")
  .option("--wait", "if another dag process holds the workspace, wait for it instead of failing")
  .option("--json", "machine-readable events, one JSON object per line on stdout")
  .option("-v, --verbose", "a plain log with a line per task that ran and every task's log lines (not the progress display)")
  .action(async (stages: string[], opts: CommonOptions & RunFlags) => {
    process.exitCode = await runCommand(stages, opts);
  });

interface RunFlags {
  jobs: number;
  force: string[];
  keepGoing?: boolean;
  dryRun?: boolean;
  rehash?: boolean;
  check?: boolean;
  name?: string;
  wait?: boolean;
  json?: boolean;
  verbose?: boolean;
  executor?: ExecutorName;
  retries?: number;
  slurmMaxJobs?: number;
  slurmPoll?: number;
  slurmSbatch?: string;
  slurmArrays?: boolean;
}

function executorOf(opts: RunFlags): Promise<Executor> {
  return createExecutor({
    executor: opts.executor ?? "local",
    jobs: opts.jobs,
    retries: opts.retries ?? 0,
    slurm: { maxJobs: opts.slurmMaxJobs ?? 100, pollMs: (opts.slurmPoll ?? 5) * 1000, arrays: opts.slurmArrays !== false, sbatch: opts.slurmSbatch?.split(/\s+/).filter(Boolean) },
  });
}

async function runCommand(stages: string[], opts: CommonOptions & RunFlags, loaded?: Pipeline): Promise<number> {
  const pipeline = loaded ?? (await load(opts));
  for (const s of [...stages, ...opts.force]) {
    if (!pipeline.byName.has(s)) throw new PipelineError([{ file: displayPath(pipeline.file), stage: s, message: `no stage "${s}"`, hint: `${didYouMean(s, pipeline.byName.keys())}stages: ${[...pipeline.byName.keys()].join(", ")}` }]);
  }
  if (opts.check && (opts.force.length || opts.dryRun)) throw new UsageError(`--check runs cached tasks again to compare them with the cache; it cannot be combined with ${opts.dryRun ? "--dry-run" : "--force"}`);
  // Progress bars (and their library) only for a person at a terminal.
  const logger: Logger = opts.json ? jsonLogger() : process.stderr.isTTY && !opts.verbose ? (await import("./loggers/tty.js")).ttyLogger() : plainLogger(undefined, { verbose: opts.verbose });
  // Before the lock: an executor that cannot work here (no sbatch) is a usage error, said at once.
  const executor = await executorOf(opts);
  const lock = new WorkspaceLock(join(pipeline.cacheDir, "lock"));
  if (!opts.dryRun) {
    ensureFolder(pipeline.cacheDir, "cache");
    ensureFolder(pipeline.resultsDir, "results");
    new Store(pipeline.cacheDir).init();
    await lock.acquire(process.argv.slice(2).join(" "), Boolean(opts.wait), (holder) =>
      logger({ type: "info", message: `waiting for dag process ${holder.pid} (${holder.command}) to release ${displayPath(lock.path)}...` }));
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      logger({ type: "warning", message: "interrupted: stopping running tasks at their next check; finished tasks and checkpoints stay cached (Ctrl-C again to quit at once)" });
      controller.abort();
    } else {
      void executor.close().finally(() => {
        lock.release();
        process.exit(EXIT.cancelled);
      });
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A reader that went away (dag run --json | head): stop as for Ctrl-C, with the lock released.
  onOutputClosed = () => controller.abort();
  const store = new Store(pipeline.cacheDir);
  try {
    const result = await new Scheduler(pipeline, executor, {
      targets: stages,
      force: opts.force,
      keepGoing: opts.keepGoing,
      dryRun: opts.dryRun,
      rehash: opts.rehash,
      ...(opts.check ? { check: stages.length ? stages : pipeline.stages.map((s) => s.name) } : {}),
      name: opts.name,
      logger,
      signal: controller.signal,
      onStageComplete: (node, outputs) => publishStage(pipeline.resultsDir, node.name, outputs, (ref) => store.blobPath(ref.hash)),
    }).run();
    return result.cancelled ? EXIT.cancelled : (result.ok || opts.dryRun) && !result.check?.differ ? EXIT.ok : EXIT.failed;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await executor.close();
    lock.release();
  }
}

executorOptions(common(
  program
    .command("watch")
    .description("run, then run again whenever pipeline.yaml, a file it names or an input folder changes (Ctrl-C stops)")
    .argument("[stages...]", "target stages (with everything they need); all when none"),
))
  .option("-j, --jobs <n>", "tasks run at once (worker threads; processes with --executor subprocess)", (v) => positiveInt(v, "--jobs"), defaultJobs())
  .option("-k, --keep-going", "after a failure, finish every task that does not depend on it")
  .option("-v, --verbose", "a plain log with a line per task that ran and every task's log lines (not the progress display)")
  .action(async (stages: string[], opts: CommonOptions & RunFlags) => {
    let pipeline: Pipeline | undefined;
    let paths = watchedPaths(opts.pipeline, undefined);
    const say = (line: string): void => void process.stderr.write(`${line}\n`);
    const runOnce = async (): Promise<string[]> => {
      try {
        pipeline = await load(opts);
        paths = watchedPaths(opts.pipeline, pipeline);
        await runCommand(stages, { ...opts, force: [] }, pipeline);
      } catch (err) {
        // An invalid pipeline (or a busy workspace) is said, and the next save tries again.
        report(err);
      }
      say(`watching ${paths.length} ${paths.length === 1 ? "path" : "paths"} for changes (Ctrl-C stops)`);
      return paths;
    };
    try {
      pipeline = await load(opts);
      paths = watchedPaths(opts.pipeline, pipeline);
    } catch {
      /* the first run says what is wrong */
    }
    const ignore = pipeline ? [pipeline.cacheDir, pipeline.resultsDir] : [join(dirname(resolve(opts.pipeline)), ".dag"), join(dirname(resolve(opts.pipeline)), "results")];
    const loop = watchLoop(paths, ignore, runOnce, (path) => say(`changed: ${relative(process.cwd(), path) || path}`));
    await new Promise<void>((resolveStop) => {
      const stop = (): void => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        say("stopping: the run in flight (if any) stops at its next check");
        void loop.stop().then(resolveStop);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  });

common(program.command("status").description("say for each stage whether it is up to date, and if not exactly why; during a run, what is queued, running and done"))
  .argument("[stages...]", "only these stages and what they need")
  .option("--json", "print the status as JSON")
  .action(async (stages: string[], opts: CommonOptions & { json?: boolean }) => {
    const pipeline = await load(opts);
    // A run in progress: what it is doing (its cache is being written, so what is stale would be a guess).
    const holder = new WorkspaceLock(join(pipeline.cacheDir, "lock")).holder();
    const live = holder && readLiveState(pipeline.cacheDir);
    if (holder && live && live.pid === holder.pid && live.host === holder.host) {
      process.stdout.write(opts.json ? `${JSON.stringify({ running: live }, null, 2)}\n` : formatLiveState(live, holder.command));
      return;
    }
    const status = await pipelineStatus(pipeline, stages);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return;
    }
    const width = Math.max(...status.map((s) => s.stage.length));
    for (const s of status) {
      const head = `${s.stage.padEnd(width)}  `;
      if (s.state === "up-to-date") process.stdout.write(`${head}up to date (${s.cached} cached)\n`);
      else if (s.state === "waits") process.stdout.write(`${head}waits on ${s.waitsOn.join(", ")} (reruns only if their outputs change)\n`);
      else {
        process.stdout.write(`${head}stale: ${s.stale} of ${s.stale + s.cached} tasks would run${s.waitsOn.length ? `; also waits on ${s.waitsOn.join(", ")}` : ""}\n`);
        for (const r of s.reasons) process.stdout.write(`${" ".repeat(width + 4)}- ${r.reason}${s.stale > 1 ? ` (${r.count})` : ""}\n`);
      }
    }
  });

common(program.command("compare").description("say what differs between recorded runs: params, tasks, outputs, and the headline figures of stages that run once, with their changes"))
  .argument("<a>", "a run name (dag run --name NAME; the newest run of that name) or run id: the baseline")
  .argument("<b...>", "the runs to compare with it (each against the first)")
  .option("--json", "print the comparison as JSON (two runs: one comparison; more: { comparisons, table })")
  .option("--markdown", "print one Markdown table of all the runs: params that differ, figures with their change from the first run")
  .option("--images <dir>", "where to write the figures (PNG) that differ, A left and B right (default: results/compare/A-vs-B)")
  .option("--no-images", "write no side-by-side figures")
  .action(async (a: string, others: string[], opts: CommonOptions & { json?: boolean; markdown?: boolean; images?: string | false }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    const base = findRunOrUsage(store, a);
    const later = others.map((ref) => ({ ref, run: findRunOrUsage(store, ref) }));
    const table = runTable(store, [base, ...later.map((l) => l.run)]);
    if (opts.markdown) {
      process.stdout.write(formatMarkdown(table));
      return;
    }
    const safe = (ref: string) => ref.replace(/[^A-Za-z0-9._-]/g, "_");
    const pairs = later.map(({ ref, run }) => {
      const dir = opts.images === false ? undefined : opts.images ? resolve(opts.images, later.length > 1 ? `${safe(a)}-vs-${safe(ref)}` : "") : join(pipeline.resultsDir, "compare", `${safe(a)}-vs-${safe(ref)}`);
      return { ref, comparison: compareRuns(store, base, run), images: dir ? writeSideBySideImages(store, base, run, dir) : [] };
    });
    if (opts.json) {
      const each = pairs.map((p) => ({ ...p.comparison, images: p.images }));
      process.stdout.write(`${JSON.stringify(each.length === 1 ? { ...each[0], table } : { comparisons: each, table }, null, 2)}\n`);
      return;
    }
    for (const { ref, comparison, images } of pairs) {
      process.stdout.write(`${formatComparison(comparison)}${images.length ? `figures that differ, ${a} left and ${ref} right:\n${images.map((p) => `  ${relative(process.cwd(), p)}\n`).join("")}` : ""}`);
    }
  });

/** A run by name or id; not finding it is the user's mistake (exit 2), said with the names there are. */
function findRunOrUsage(store: Store, ref: string): RunRecord {
  try {
    return findRun(store, ref);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

common(program.command("runs").description("list the recorded runs, newest first: name, time, what ran and what was cached, duration, headline figures"))
  .option("--delete <name>", "forget every run of this name (or the run with this id); the next dag gc may then remove its results")
  .option("--json", "print the runs as JSON")
  .action(async (opts: CommonOptions & { delete?: string; json?: boolean }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    if (opts.delete !== undefined) {
      const ref = opts.delete;
      const named = store.listRuns().filter((r) => r.name === ref);
      const doomed = named.length ? named : [findRunOrUsage(store, ref)];
      const lock = new WorkspaceLock(join(pipeline.cacheDir, "lock"));
      lock.tryAcquire(`runs --delete ${ref}`);
      try {
        for (const r of doomed) store.removeRun(r.id);
      } finally {
        lock.release();
      }
      process.stdout.write(`deleted ${doomed.length} run ${doomed.length === 1 ? "record" : "records"} (${doomed.map((r) => r.id).join(", ")}); dag gc removes the results no other run needs\n`);
      return;
    }
    const summaries = [...store.runsNewestFirst()].map((r) => summarizeRun(store, r));
    process.stdout.write(opts.json ? `${JSON.stringify(summaries, null, 2)}\n` : formatRunList(summaries));
  });

common(program.command("show").description("print one recorded run: params, and per stage its key, what ran and what was cached, time, backend, figures"))
  .argument("<run>", "a run name (the newest run of that name) or run id (or a unique prefix of one)")
  .option("--json", "print the run record as JSON")
  .action(async (ref: string, opts: CommonOptions & { json?: boolean }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    const run = findRunOrUsage(store, ref);
    process.stdout.write(opts.json ? `${JSON.stringify(run, null, 2)}\n` : formatRun(store, run));
  });

common(program.command("report").description("write one self-contained HTML page of recorded runs: the pipeline coloured by what ran, figures, charts, and for several runs what differs"))
  .argument("[runs...]", "run names or ids (default: the newest run); the first is the baseline of every change shown")
  .option("-o, --out <file>", "the HTML file to write (default: results/report.html)")
  .action(async (refs: string[], opts: CommonOptions & { out?: string }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    const newest = store.runsNewestFirst().next().value;
    if (!refs.length && !newest) throw new UsageError("no runs recorded yet: dag run records one (dag run --name NAME names it)");
    const runs = refs.length ? refs.map((ref) => findRunOrUsage(store, ref)) : [newest!];
    const started = performance.now();
    const html = await buildReport(store, pipeline, runs);
    const out = opts.out ? resolve(opts.out) : join(pipeline.resultsDir, "report.html");
    if (!opts.out) ensureFolder(pipeline.resultsDir, "results");
    mkdirSync(dirname(out), { recursive: true });
    writeFileAtomic(out, html);
    const shown = relative(process.cwd(), out);
    process.stdout.write(`wrote ${shown.startsWith("..") ? out : shown} (${(html.length / 2 ** 20).toFixed(1)} MiB, ${Math.round(performance.now() - started)} ms); open it in a browser, or send it: it needs no network\n`);
  });

common(program.command("graph").description("print the stages and what feeds what, as Graphviz DOT or a Mermaid diagram"))
  .addOption(new Option("--format <format>", "output format").choices(["dot", "mermaid"]).default("dot"))
  .action(async (opts: CommonOptions & { format: "dot" | "mermaid" }) => {
    const pipeline = await load(opts);
    process.stdout.write(opts.format === "dot" ? toDot(pipeline) : toMermaid(pipeline));
  });

common(program.command("gc").description("delete cached results that no kept run refers to, and the folders (logs) failed cluster jobs left"))
  .option("--keep-last <n>", "keep the results of this many most recent runs (named runs are always kept)", (v) => positiveInt(v, "--keep-last"), 1)
  .action(async (opts: CommonOptions & { keepLast: number }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    const lock = new WorkspaceLock(join(pipeline.cacheDir, "lock"));
    ensureFolder(pipeline.cacheDir, "cache");
    store.init();
    lock.tryAcquire("gc");
    try {
      const runs = store.listRuns();
      const keep = runs.filter((r, i) => r.name || i >= runs.length - opts.keepLast);
      for (const r of runs) if (!keep.includes(r)) store.removeRun(r.id);
      const removed = store.gc(keep);
      const debris = removeDebris(store.root);
      process.stdout.write(`kept ${keep.length} of ${runs.length} runs; removed ${removed.tasks} task records and ${removed.blobs} files (${(removed.bytes / 2 ** 20).toFixed(1)} MiB)${debris ? ` and ${debris} temporary ${debris === 1 ? "file" : "files"} killed writers left` : ""}\n`);
    } finally {
      lock.release();
    }
  });

common(program.command("verify").description("re-hash every cached file and check every task record; report what is corrupt"))
  .option("--repair", "remove corrupt entries and the results made from them (the next run makes them again)")
  .option("--json", "print the report as JSON")
  .action(async (opts: CommonOptions & { repair?: boolean; json?: boolean }) => {
    const pipeline = await load(opts);
    const store = new Store(pipeline.cacheDir);
    const lock = new WorkspaceLock(join(pipeline.cacheDir, "lock"));
    ensureFolder(pipeline.cacheDir, "cache");
    store.init();
    lock.tryAcquire(opts.repair ? "verify --repair" : "verify");
    try {
      const report = await verifyStore(store, Boolean(opts.repair));
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(formatVerifyReport(report, displayPath));
      process.exitCode = report.corrupt.length && !opts.repair ? EXIT.failed : EXIT.ok;
    } finally {
      lock.release();
    }
  });

common(program.command("clean").description("delete the whole cache and the results folder"))
  .option("--cache-only", "keep the results folder")
  .action(async (opts: CommonOptions & { cacheOnly?: boolean }) => {
    const pipeline = await load(opts);
    const lock = new WorkspaceLock(join(pipeline.cacheDir, "lock"));
    if (existsSync(pipeline.cacheDir)) lock.tryAcquire("clean");
    rmSync(pipeline.cacheDir, { recursive: true, force: true });
    if (!opts.cacheOnly) rmSync(pipeline.resultsDir, { recursive: true, force: true });
    process.stdout.write(`removed ${displayPath(pipeline.cacheDir)}${opts.cacheOnly ? "" : ` and ${displayPath(pipeline.resultsDir)}`}\n`);
  });

program
  .command("task")
  .description("run one task from the spec file that dag run wrote for it (what --executor subprocess and slurm start, here or on a cluster node)")
  .argument("<spec>", "the task's spec.json; its result goes to result.json beside it")
  .addHelpText("after", "\nExit codes: 0 done, 1 the stage failed, 2 the spec cannot be read, 3 out of memory, 70 the thread running the stage died, 130 cancelled (SIGTERM, SIGINT).")
  .action(async (spec: string) => {
    process.exitCode = await (await import("./task-entry.js")).runTaskFile(spec);
  });

program
  .command("kinds")
  .description("list the stage kinds, or show one kind's inputs, outputs and params (units, defaults)")
  .argument("[kind]", "a stage kind")
  .option("-p, --pipeline <file>", "the pipeline file (for its stage_paths)", "pipeline.yaml")
  .action(async (kind: string | undefined, opts: { pipeline: string }) => {
    process.stdout.write(kind ? await describeKind(kind, opts.pipeline) : await listKinds(opts.pipeline));
  });

function wholeNumber(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} takes a whole number of at least ${min} (got "${value}")`);
  return n;
}

function positiveSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1) throw new UsageError(`${flag} takes a number of seconds of at least 0.1 (got "${value}")`);
  return n;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a whole number of at least 1 (got "${value}")`);
  return n;
}

/** Set by a running `dag run`: what to do when stdout's reader goes away. */
let onOutputClosed: (() => void) | undefined;
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  // `dag status | head -1`: the reader has what it wanted. Say nothing more on stdout.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  onOutputClosed?.();
});

/** The exit code and the one message for an error that ended the command. */
function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help or version asked for).
    return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  }
  if (err instanceof PipelineError) {
    process.stderr.write(`${err.message}\n`);
    return EXIT.invalid;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`dag: ${err.message}\n`);
    return EXIT.invalid;
  }
  if (err instanceof DamagedCacheError) {
    process.stderr.write(`dag: ${err.message}\n`);
    return EXIT.failed;
  }
  if (err instanceof LockBusyError) {
    process.stderr.write(`dag: ${err.message}\n`);
    return EXIT.busy;
  }
  if (isDiskFull(err)) {
    const full = err instanceof DiskFullError ? err : new DiskFullError((err as NodeJS.ErrnoException).path ?? "?");
    process.stderr.write(`dag: ${full.message}\n`);
    return EXIT.diskFull;
  }
  const where = process.env["DAG_DEBUG"] ? `\n${(err as Error).stack}` : " (DAG_DEBUG=1 shows where)";
  process.stderr.write(`dag: internal error: ${(err as Error).message ?? String(err)}${where}\n  This is a bug in dag: please report it to ${REPORT} with the command you ran.\n`);
  return EXIT.internal;
}

try {
  await program.parseAsync();
} catch (err) {
  process.exitCode = report(err);
}
