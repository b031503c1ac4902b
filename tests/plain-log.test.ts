import { describe, expect, it } from "vitest";
import { plainLogger } from "../dist/engine/loggers/plain.js";

describe("the plain log is a progress log", () => {
  it("per stage done/total, rate and ETA at a bounded rate; per-task lines only with verbose", () => {
    let t = 0;
    const lines: string[] = [];
    const log = plainLogger((l) => lines.push(l.trimEnd()), { now: () => t, progressEveryMs: 10_000 });
    log({ type: "stage-total", stage: "extract", total: 100, final: true });
    for (let i = 0; i < 100; i++) {
      log({ type: "task-start", stage: "extract", item: `r${i}` });
      t += 500;
      log({ type: "task-log", stage: "extract", item: `r${i}`, message: "4 events" });
      log({ type: "task-done", stage: "extract", item: `r${i}`, source: "ran", ms: 900, key: "k" });
    }
    log({ type: "task-log", stage: "extract", message: "whole-stage line" });
    log({ type: "stage-done", stage: "extract", ran: 100, cached: 0, failed: 0, skipped: 0, ms: 99_999 });
    expect(lines.filter((l) => l.startsWith("progress:"))).toHaveLength(4); // 50 s of work, one line per 10 s
    expect(lines[0]).toBe("progress: extract 20/100 tasks (20 %), 2.0/s, about 40.0 s left");
    expect(lines.some((l) => l.includes("ran extract[") || l.includes("4 events"))).toBe(false);
    expect(lines.at(-2)).toBe("  extract: whole-stage line");
    expect(lines.at(-1)).toBe("extract: 100 tasks ran in 50.0 s from its first task to its last (1 min 30 s of task time)");
    const verbose: string[] = [];
    const v = plainLogger((l) => verbose.push(l.trimEnd()), { verbose: true });
    v({ type: "task-log", stage: "extract", item: "r1", message: "4 events" });
    v({ type: "task-done", stage: "extract", item: "r1", source: "ran", ms: 900, key: "k" });
    expect(verbose).toEqual(["  extract[r1]: 4 events", "  ran extract[r1] in 900 ms"]);
  });
});
