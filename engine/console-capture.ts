/**
 * A stage's console output as task-log events: a worker thread's stdout is not the user's log (it
 * would interleave with the progress display, and --json would stop being JSON), so while a task
 * runs, console.log/info/debug become its log lines and console.warn/error its warnings. One task
 * runs at a time per worker thread, so the thread's console is the task's.
 */
import { format } from "node:util";

export type ConsoleSink = (type: "log" | "warning", message: string) => void;

/** Sends this thread's console output to `sink` until the returned function restores it. */
export function captureConsole(sink: ConsoleSink): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error };
  const to = (type: "log" | "warning") => (...args: unknown[]): void => sink(type, format(...args));
  Object.assign(console, { log: to("log"), info: to("log"), debug: to("log"), warn: to("warning"), error: to("warning") });
  return () => void Object.assign(console, saved);
}
