/** Piscina worker of bench/flow.ts: the Farneback flow of every consecutive pair of a subsample. */
import { loadOpenCV } from "../lib/cv/opencv.js";
import { FarnebackFlow, PAPER_FARNEBACK } from "../lib/flow/farneback.js";

export interface FlowTask {
  frames: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  /** Flow only the first `pairs` pairs (a warm-up task uses 1). */
  pairs: number;
}

/** Returns the milliseconds spent on flow (OpenCV's loading excluded). */
export default async function flowTask(task: FlowTask): Promise<number> {
  const cv = await loadOpenCV();
  const plane = task.rows * task.cols;
  const runner = new FarnebackFlow(cv, task.rows, task.cols, PAPER_FARNEBACK);
  const start = performance.now();
  try {
    for (let k = 0; k < Math.min(task.pairs, task.count - 1); k++) {
      runner.pair(task.frames.subarray(k * plane, (k + 1) * plane), task.frames.subarray((k + 1) * plane, (k + 2) * plane));
    }
  } finally {
    runner.delete();
  }
  return performance.now() - start;
}
