import { unhandledEvent, type Logger } from "../events.js";

/** One JSON object per line on stdout, for programs that drive dag. */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return (event) => {
    switch (event.type) {
      case "task-progress":
        return; // too chatty for a log; stage totals carry the progress
      case "run-start":
      case "stage-start":
      case "stage-total":
      case "task-start":
      case "task-log":
      case "task-done":
      case "task-failed":
      case "task-would-run":
      case "stage-done":
      case "stage-blocked":
      case "run-done":
      case "info":
      case "warning":
      case "check":
        write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
        return;
      default:
        unhandledEvent(event);
    }
  };
}
