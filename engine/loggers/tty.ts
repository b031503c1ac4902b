import cliProgress from "cli-progress";
import { unhandledEvent, type EngineEvent, type Logger } from "../events.js";
import { plainLogger } from "./plain.js";
import { seconds } from "./format.js";

interface StageBar {
  bar: cliProgress.SingleBar;
  done: number;
  total: number;
  started: number;
  /** Fraction done of each running task, from its own progress reports. */
  running: Map<string, number>;
  /** The latest progress note of each running task. */
  notes: Map<string, string>;
}

/**
 * A live line per stage that has work to do: items done / total, rate, and how far the
 * running tasks are. Everything else (failures, logs, summaries) prints above the bars.
 */
export function ttyLogger(stream: NodeJS.WriteStream = process.stderr): Logger {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{stage} {bar} {value}/{total} {unit} {rate} {note}",
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: true,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, StageBar>();
  const totals = new Map<string, number>();
  const lines = plainLogger((l) => multi.log(l));
  let width = 10;

  const render = (stage: string): void => {
    const s = bars.get(stage);
    if (!s) return;
    const partial = [...s.running.values()].reduce((a, b) => a + b, 0);
    const elapsed = (Date.now() - s.started) / 1000;
    const rate = s.done && elapsed > 0 ? `${(s.done / elapsed).toFixed(s.done / elapsed < 10 ? 2 : 0)}/s` : "";
    const latest = s.running.size === 1 ? s.notes.get([...s.running.keys()][0]!) : undefined;
    const note = s.running.size ? `running ${s.running.size}${s.total === 1 ? ` (${Math.round(partial * 100)} %)` : ""}${latest ? `: ${latest}` : ""}` : "";
    s.bar.setTotal(Math.max(s.total, 1));
    s.bar.update(Math.min(s.done + partial, s.total), { stage: stage.padEnd(width), unit: s.total === 1 ? "task " : "items", rate, note });
  };

  return (e: EngineEvent) => {
    switch (e.type) {
      case "run-start":
        width = Math.max(...e.stages.map((s) => s.length), 8);
        lines(e);
        return;
      case "stage-total":
        totals.set(e.stage, e.total);
        if (bars.has(e.stage)) bars.get(e.stage)!.total = e.total;
        render(e.stage);
        return;
      case "task-start": {
        let s = bars.get(e.stage);
        if (!s) {
          s = { bar: multi.create(1, 0, {}), done: 0, total: totals.get(e.stage) ?? 1, started: Date.now(), running: new Map(), notes: new Map() };
          bars.set(e.stage, s);
        }
        s.running.set(e.item ?? "", 0);
        render(e.stage);
        return;
      }
      case "task-progress": {
        const s = bars.get(e.stage);
        if (s && e.total > 0) s.running.set(e.item ?? "", Math.min(e.done / e.total, 1));
        if (s && e.note) s.notes.set(e.item ?? "", e.note);
        render(e.stage);
        return;
      }
      case "task-done": {
        const s = bars.get(e.stage);
        if (s) {
          s.running.delete(e.item ?? "");
          s.notes.delete(e.item ?? "");
          s.done++;
        }
        render(e.stage);
        return;
      }
      case "task-failed":
        bars.get(e.stage)?.running.delete(e.item ?? "");
        bars.get(e.stage)?.notes.delete(e.item ?? "");
        render(e.stage);
        lines(e);
        return;
      case "stage-done": {
        const s = bars.get(e.stage);
        if (s) {
          s.bar.update(s.total, { stage: e.stage.padEnd(width), unit: "items", rate: "", note: `done in ${seconds(e.ms)}` });
          return;
        }
        lines(e);
        return;
      }
      case "run-done":
        multi.stop();
        lines(e);
        return;
      case "stage-start":
      case "task-log":
      case "task-would-run":
      case "stage-blocked":
      case "info":
      case "warning":
      case "check":
        lines(e);
        return;
      default:
        unhandledEvent(e);
    }
  };
}
