import type { TaskOutput } from "../cache/records.js";
import type { InputValue, JsonObject } from "./stage-api.js";

/** Everything a worker needs to run one task; plain data, so it crosses thread boundaries. */
export interface TaskSpec {
  modulePath: string;
  stage: string;
  kind: string;
  params: JsonObject;
  inputs: Record<string, InputValue>;
  seed: number;
  itemId?: string;
  storeRoot: string;
  outDir: string;
  /** The task's resumable scratch folder (`ctx.scratch`): kept across attempts, keyed by the task key. */
  scratchDir: string;
}

/** What a finished task gives back: its outputs (keyed), and how its run went (never keyed). */
export interface TaskResult {
  outputs: TaskOutputs;
  measurements: JsonObject;
}

/** Messages a running task sends back while it works. */
export type TaskMessage =
  | { type: "progress"; done: number; total: number; note?: string }
  | { type: "log"; message: string }
  | { type: "warning"; message: string };

export type TaskOutputs = Record<string, TaskOutput>;
