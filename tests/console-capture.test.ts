import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { run, workspace } from "./helpers/workspace.js";

describe("a stage's console output", () => {
  it("becomes the task's log lines and warnings, not the worker's stdout", async () => {
    const dir = workspace("stages:\n  chatty: {}\n");
    try {
      const outcome = await run(dir);
      expect(outcome.ok).toBe(true);
      expect(outcome.events.filter((e) => e.type === "task-log")).toEqual([{ type: "task-log", stage: "chatty", message: "fitted 3 of 4" }]);
      expect(outcome.events.filter((e) => e.type === "warning")).toEqual([{ type: "warning", message: "chatty: libfoo: deprecated" }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
