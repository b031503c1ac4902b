import { unhandledEvent, type EngineEvent, type Logger } from "../events.js";
import { failureHead, plural, seconds, taskName } from "./format.js";

/**
 * Plain log lines, for logs and pipes: what ran, what failed, a summary per stage.
 * Cached tasks are counted, not listed (a no-op run over 10,000 items prints a few lines).
 */
export function plainLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const out = (s: string): void => write(`${s}\n`);
  return (e: EngineEvent) => {
    switch (e.type) {
      case "run-start":
        if (e.dryRun) out(`dry run of ${e.pipeline}: nothing will be run or written`);
        break;
      case "task-done":
        if (e.source === "ran") out(`  ran ${taskName(e.stage, e.item)} in ${seconds(e.ms)}`);
        break;
      case "task-would-run":
        out(`  would run ${taskName(e.stage, e.item)}`);
        break;
      case "task-failed":
        out(`FAILED ${failureHead(e)}: ${e.error}`);
        if (e.logPath) out(`  its log: ${e.logPath}`);
        break;
      case "task-log":
        out(`  ${taskName(e.stage, e.item)}: ${e.message}`);
        break;
      case "stage-done":
        // A stage with nothing to run is summed up by the run's last line.
        if (e.ran) out(`${e.stage}: ${summary(e.ran, e.cached)} (${seconds(e.ms)})`);
        break;
      case "stage-blocked":
        out(`${e.stage}: not completed: ${e.reason}`);
        break;
      case "info":
        out(e.message);
        break;
      case "warning":
        out(`warning: ${e.message}`);
        break;
      case "run-done":
        out(runSummary(e));
        break;
      case "stage-start":
      case "stage-total":
      case "task-start":
      case "task-progress":
        break; // a log line per task started would drown what ran and what failed
      default:
        unhandledEvent(e);
    }
  };
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
  if (!e.ran) return `Nothing to do: all ${plural(e.cached, "task")} up to date (${seconds(e.ms)}).`;
  return `done: ${e.ran} ran, ${e.cached} cached in ${seconds(e.ms)} (run ${e.runId})`;
}
