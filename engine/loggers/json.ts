import type { Logger } from "../events.js";

/** One JSON object per line on stdout, for programs that drive dag. */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return (event) => {
    if (event.type === "task-progress") return; // too chatty for a log; stage totals carry the progress
    write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  };
}
