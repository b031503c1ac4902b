import type { EngineEvent } from "../events.js";
import type { FailureReason } from "../task-spec.js";

export function seconds(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function taskName(stage: string, item?: string): string {
  return item ? `${stage}[${item}]` : stage;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Said after the task's name when a failure is not the stage's own error. */
const FAILURE_LABELS: Record<FailureReason, string> = {
  "stage-error": "",
  "worker-crashed": "its worker crashed",
  "out-of-memory": "out of memory",
  timeout: "ran past its time limit",
  cancelled: "cancelled",
  "job-failed": "its cluster job failed",
};

/** `square[9]`, or `square[9] (out of memory)` when the stage itself did not throw. */
export function failureHead(e: Extract<EngineEvent, { type: "task-failed" }>): string {
  const label = FAILURE_LABELS[e.reason];
  return `${taskName(e.stage, e.item)}${label ? ` (${label})` : ""}`;
}
