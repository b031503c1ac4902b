import type { CheckSummary } from "../check.js";
import { unhandledEvent, type EngineEvent, type Logger } from "../events.js";
import { failureHead, plural, seconds, taskName } from "./format.js";

export interface PlainOptions {
  /** A line per task that ran and every task's log lines (default: only once-run stages' lines). */
  verbose?: boolean;
  /** The least time between two progress lines. */
  progressEveryMs?: number;
  now?: () => number;
}

interface StageProgress {
  done: number;
  total: number;
  final: boolean;
  /** When its first task started, and how long its tasks that ran took in all. */
  firstStart?: number;
  taskMs: number;
}

/**
 * Plain log lines, for logs and pipes: a progress log. Per stage at work, at most one line every
 * `progressEveryMs`: tasks done of its total, its rate and an ETA; then a summary per stage, what
 * failed, and the log lines of stages that run once. `verbose` adds a line per task that ran and
 * every task's log lines. Cached tasks are counted, not listed.
 */
export function plainLogger(write: (line: string) => void = (l) => process.stderr.write(l), options: PlainOptions = {}): Logger {
  const out = (s: string): void => write(`${s}\n`);
  const now = options.now ?? Date.now;
  const every = options.progressEveryMs ?? 10_000;
  const stages = new Map<string, StageProgress>();
  const stage = (name: string): StageProgress => {
    let p = stages.get(name);
    if (!p) stages.set(name, (p = { done: 0, total: 0, final: false, taskMs: 0 }));
    return p;
  };
  let lastProgress = now();
  const progress = (): void => {
    const t = now();
    if (t - lastProgress < every) return;
    lastProgress = t;
    const busy = [...stages].filter(([, p]) => p.firstStart !== undefined && (!p.final || p.done < p.total));
    if (busy.length) out(`progress: ${busy.map(([name, p]) => progressOf(name, p, t)).join("; ")}`);
  };
  return (e: EngineEvent) => {
    switch (e.type) {
      case "run-start":
        if (e.dryRun) out(`dry run of ${e.pipeline}: nothing will be run or written`);
        break;
      case "task-done": {
        const p = stage(e.stage);
        p.done++;
        p.taskMs += e.ms;
        if (e.source === "ran" && options.verbose) out(`  ran ${taskName(e.stage, e.item)} in ${seconds(e.ms)}`);
        progress();
        break;
      }
      case "task-would-run":
        out(`  would run ${taskName(e.stage, e.item)}`);
        break;
      case "task-failed":
        out(`FAILED ${failureHead(e)}: ${e.error}`);
        if (e.logPath) out(`  its log: ${e.logPath}`);
        break;
      case "task-log":
        // A per-item task's lines (one per recording, say) only when asked for.
        if (options.verbose || e.item === undefined) out(`  ${taskName(e.stage, e.item)}: ${e.message}`);
        break;
      case "stage-done": {
        // A stage with nothing to run is summed up by the run's last line.
        const p = stage(e.stage);
        const span = p.firstStart === undefined ? e.ms : now() - p.firstStart;
        if (e.ran) out(`${e.stage}: ${summary(e.ran, e.cached)} in ${seconds(span)} from its first task to its last${e.ran > 1 ? ` (${seconds(p.taskMs)} of task time)` : ""}`);
        stages.delete(e.stage);
        break;
      }
      case "stage-blocked":
        out(`${e.stage}: not completed: ${e.reason}`);
        break;
      case "info":
        out(e.message);
        break;
      case "warning":
        out(`warning: ${e.message}`);
        break;
      case "check":
        // A difference always; the same bytes only where a line per task is wanted.
        if (e.differences.length) out(`check ${taskName(e.stage, e.item)}: DIFFERS from the cache\n${e.differences.map((d) => `  ${d}`).join("\n")}`);
        else if (options.verbose || e.item === undefined) out(`check ${taskName(e.stage, e.item)}: the same bytes as the cache`);
        break;
      case "run-done":
        out(runSummary(e));
        break;
      case "stage-total": {
        const p = stage(e.stage);
        p.total = e.total;
        p.final = e.final;
        break;
      }
      case "task-start":
        stage(e.stage).firstStart ??= now();
        break;
      case "stage-start":
      case "task-progress":
        break; // progress is counted by tasks done
      default:
        unhandledEvent(e);
    }
  };
}

/** `extract 12/24 tasks, 0.8/s, about 15 s left`; `/24+` while more tasks may come. */
function progressOf(name: string, p: StageProgress, t: number): string {
  const elapsed = (t - (p.firstStart ?? t)) / 1000;
  const rate = elapsed > 0 ? p.done / elapsed : 0;
  const total = `${p.total}${p.final ? "" : "+"}`;
  const pct = p.final && p.total ? ` (${Math.round((100 * p.done) / p.total)} %)` : "";
  const eta = p.final && rate > 0 ? `, about ${seconds(Math.round((1000 * (p.total - p.done)) / rate))} left` : "";
  return `${name} ${p.done}/${total} tasks${pct}, ${rate >= 1 ? rate.toFixed(1) : rate.toFixed(2)}/s${eta}`;
}

function summary(ran: number, cached: number): string {
  return `${plural(ran, "task")} ran${cached ? `, ${cached} cached` : ""}`;
}

export function runSummary(e: Extract<EngineEvent, { type: "run-done" }>): string {
  if (e.dryRun) {
    const { wouldRun, unknownStages } = e.dryRun;
    const later = unknownStages.length ? `; ${unknownStages.join(", ")} may run too: their tasks depend on results not made yet` : "";
    return `dry run: ${plural(wouldRun, "task")} would run, ${e.cached} cached${later} (${seconds(e.ms)}).`;
  }
  if (e.cancelled) return `cancelled after ${seconds(e.ms)}: ${e.ran} ran, ${e.failed} failed; finished results are cached`;
  if (!e.ok) return `run failed: ${e.failed} failed, ${e.ran} ran, ${e.cached} cached (${seconds(e.ms)}). See the errors above; fixed tasks rerun, the rest stays cached.`;
  if (e.check) return `${checkSummary(e.check)} (${seconds(e.ms)}).`;
  if (!e.ran) return `Nothing to do: all ${plural(e.cached, "task")} up to date (${seconds(e.ms)}).`;
  return `done: ${e.ran} ran, ${e.cached} cached in ${seconds(e.ms)} (run ${e.runId})`;
}

/** `run --check`'s last line: how many cached tasks ran again, how many differ; that nothing in the cache changed. */
function checkSummary(c: CheckSummary): string {
  const fresh = c.notCached ? `; ${plural(c.notCached, "task")} of the checked stages ran for the first time (nothing to compare)` : "";
  if (!c.checked) return `check: no cached task to run again${fresh}`;
  const found = c.differ ? `${c.differ} of ${plural(c.checked, "cached task")} made other bytes than the cache (above)` : `all ${plural(c.checked, "cached task")} made the same bytes again`;
  return `check: ${found}; nothing in the cache changed${fresh}`;
}
