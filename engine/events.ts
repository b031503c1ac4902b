import type { TaskSource } from "../cache/records.js";
import type { CheckSummary } from "./check.js";
import type { FailureReason } from "./task-spec.js";

/**
 * The engine speaks only in events; each presentation (progress bars, plain lines, --json)
 * is a logger that consumes them. The engine itself never prints.
 */
export type EngineEvent =
  | { type: "run-start"; runId: string; pipeline: string; stages: string[]; jobs: number; dryRun: boolean }
  | { type: "stage-start"; stage: string }
  | { type: "stage-total"; stage: string; total: number; final: boolean }
  | { type: "task-start"; stage: string; item?: string }
  | { type: "task-progress"; stage: string; item?: string; done: number; total: number; note?: string }
  | { type: "task-log"; stage: string; item?: string; message: string }
  | { type: "task-done"; stage: string; item?: string; source: Exclude<TaskSource, "failed" | "skipped">; ms: number; key: string }
  /** `error` is the message; `reason` says what kind of failure (a cluster job's log in `logPath`). */
  | { type: "task-failed"; stage: string; item?: string; reason: FailureReason; error: string; logPath?: string }
  | { type: "task-would-run"; stage: string; item?: string; key: string }
  | { type: "stage-done"; stage: string; ran: number; cached: number; failed: number; skipped: number; ms: number }
  | { type: "stage-blocked"; stage: string; reason: string }
  | {
      type: "run-done"; ok: boolean; ran: number; cached: number; failed: number; ms: number; runId: string; cancelled: boolean;
      /** A dry run: tasks that would run, and stages whose tasks depend on results not made yet. */
      dryRun?: { wouldRun: number; unknownStages: string[] };
      /** `run --check`: cached tasks run again and compared with the cache. */
      check?: CheckSummary;
    }
  /** `run --check`: a cached task ran again; how its outputs differ from the cache's (none: the same bytes). */
  | { type: "check"; stage: string; item?: string; differences: string[] }
  | { type: "info"; message: string }
  | { type: "warning"; message: string };

export type Logger = (event: EngineEvent) => void;

/**
 * The default branch of a logger's switch over event kinds: `event` is `never` only when every
 * kind has its case, so a new kind fails to compile until each logger says what to do with it.
 */
export function unhandledEvent(event: never): never {
  throw new Error(`no logger case for event ${JSON.stringify(event)}`);
}
