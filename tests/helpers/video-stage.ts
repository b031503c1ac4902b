/** Running one stage task in-process, as a worker would, for the video stages' tests. */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { StageContext } from "../../engine/stage-api.js";

export interface TestContext extends StageContext {
  logs: string[];
}

/** A context with a fresh output folder under `root`. */
export function stageContext(root: string, itemId?: string, seed = 1): TestContext {
  const logs: string[] = [];
  const outDir = mkdtempSync(join(root, "task-"));
  return {
    outDir,
    scratch: join(outDir, ".scratch"),
    measure: () => {},
    seed,
    itemId,
    log: (m) => logs.push(m),
    warn: (m) => logs.push(`warning: ${m}`),
    progress: () => {},
    signal: new AbortController().signal,
    logs,
  };
}

/** Deterministic noise (a linear congruential generator), so failures reproduce. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
