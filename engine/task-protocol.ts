import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import { TaskFailure, type FailureReason, type TaskMessage, type TaskResult, type TaskSpec } from "./task-spec.js";

/**
 * A task run in a process of its own (`dag task DIR/spec.json`, here or on a cluster node): the
 * coordinator writes the spec into a folder on the shared filesystem; the task writes its outputs
 * into the store and `result.json` next to the spec; its messages are stdout lines.
 */
export const SPEC_FILE = "spec.json";
export const RESULT_FILE = "result.json";

/** `dag task`'s exit codes: a stage's own error is told apart from the process running it dying. */
export const TASK_EXIT = { done: 0, stageError: 1, badSpec: 2, outOfMemory: 3, crashed: 70, cancelled: 130 } as const;

export type ResultFile = { ok: true; result: TaskResult } | { ok: false; reason: FailureReason; message: string };

/** Lines that carry a message start with this; any other line of the task's output is a plain log line. */
const PREFIX = "@dag ";

export function writeSpec(dir: string, spec: TaskSpec): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, SPEC_FILE);
  writeFileAtomic(path, JSON.stringify(spec));
  return path;
}

export function writeResult(dir: string, result: ResultFile): void {
  writeFileAtomic(join(dir, RESULT_FILE), JSON.stringify(result));
}

/** The task's result, or undefined when it wrote none (it died, or never started). */
export function readResult(dir: string): ResultFile | undefined {
  const path = join(dir, RESULT_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ResultFile;
  } catch {
    return undefined; // written atomically, so only a damaged file gets here: as if none
  }
}

export function messageLine(m: TaskMessage): string {
  return `${PREFIX}${JSON.stringify(m)}\n`;
}

/** A line of a task's output as a message; what a stage printed itself is a log line. */
export function parseLine(line: string): TaskMessage | undefined {
  if (!line.trim()) return undefined;
  if (line.startsWith(PREFIX)) {
    try {
      return JSON.parse(line.slice(PREFIX.length)) as TaskMessage;
    } catch { /* a torn line: show it as it is */ }
  }
  return { type: "log", message: line };
}

/** Splits a stream of output into lines as it arrives. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = "";
  return {
    push(chunk) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) onLine(line);
    },
    end() {
      if (rest) onLine(rest);
      rest = "";
    },
  };
}

/** The outcome of a finished result file: the task's result, or the failure it reported. */
export function fromResultFile(result: ResultFile, logPath?: string): TaskResult {
  if (result.ok) return result.result;
  throw new TaskFailure(result.reason, result.message, logPath);
}
