import type { Json, JsonObject } from "../engine/stage-api.js";
import type { FailureReason } from "../engine/task-spec.js";

/**
 * The SHA-256 of a file's bytes: its name in the store. Branded so that it cannot be passed
 * where a task key is meant (both are 64 hex digits); made only by hashing bytes (cache/store.ts).
 */
export type BlobHash = string & { readonly __brand: "BlobHash" };

/** The SHA-256 of a task's key parts (engine/hash.ts `taskKey`): its name among task records. */
export type TaskKey = string & { readonly __brand: "TaskKey" };

/** A file in the content-addressed store. */
export interface FileRef {
  hash: BlobHash;
  size: number;
  /** The file's name as the stage wrote it (kept for its extension when results are published). */
  path?: string;
  /**
   * Where a user's own input file is read in place (pipeline inputs only). Inputs are known by
   * path and content: two files with equal bytes stay two files. Never part of a key or a record.
   */
  source?: string;
}

export interface ArtifactRecord {
  files: Record<string, FileRef>;
  meta: JsonObject;
}

export interface ItemRecord extends ArtifactRecord {
  id: string;
}

/** One output of one task, as the task returned it (an artifact, or a list of sub-items). */
export type TaskOutput = ({ type: "artifact" } & ArtifactRecord) | { type: "collection"; items: ItemRecord[] };

/** Everything that went into a task's key, kept so that `dag status` can say what changed. */
export interface KeyParts {
  kind: string;
  version: number;
  /** The fingerprint of the kind's code (engine/code-fingerprint.ts); its manifest is in code/. */
  code: string;
  params: unknown;
  seed: number;
  itemId?: string;
  /** Input name -> content hash of what the task received. */
  inputs: Record<string, string>;
  /** What of the planning machine decides the bits (a kind's `machineKey`: train's route), where the kind has one. */
  machine?: Json;
}

export interface TaskRecord extends KeyParts {
  key: TaskKey;
  stage: string;
  outputs: Record<string, TaskOutput>;
  /**
   * Hashes of the cached files this task read. A blob found corrupt by `dag verify` may have
   * been read corrupt: `--repair` evicts the tasks that read it along with it.
   */
  reads?: BlobHash[];
  /** How the run went (ctx.measure): wall times, rates. Not part of the key or the outputs. */
  measurements?: JsonObject;
  /** The compute route the task took (ctx.route): backend, kernels, threads. Not part of the key. */
  route?: JsonObject;
  durationMs: number;
  finishedAt: string;
}

export type TaskSource = "cached" | "ran" | "failed" | "skipped";

export interface RunTaskEntry {
  key: TaskKey;
  source: TaskSource;
  ms?: number;
  /** A failed task: its message, what kind of failure, and a log to read (a cluster job's). */
  error?: string;
  reason?: FailureReason;
  logPath?: string;
  measurements?: JsonObject;
  route?: JsonObject;
}

export interface RunStageEntry {
  kind: string;
  params: unknown;
  /** Item id ("" for a stage that runs once) -> task. */
  tasks: Record<string, RunTaskEntry>;
  /** Content hash of each assembled output, when the stage completed. */
  outputs: Record<string, string>;
}

/** A run record: data about one `dag run`, not log text. */
export interface RunRecord {
  id: string;
  name?: string;
  pipeline: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  targets: string[];
  stages: Record<string, RunStageEntry>;
}

const HASH = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A path inside a folder, as the worker records an output file's: relative, without `.` or `..` segments. */
const isInsidePath = (p: unknown): boolean =>
  typeof p === "string" && p !== "" && !p.includes("\0") && !/^([\\/]|[A-Za-z]:)/.test(p) && p.split(/[\\/]/).every((s) => s !== "" && s !== "." && s !== "..");
// A recorded file is always in the store: `source` (a user's file read in place) is never recorded, and
// its path is published under results/, so it must stay inside its folder there.
const isFileRef = (v: unknown): v is FileRef => isObject(v) && typeof v.hash === "string" && HASH.test(v.hash) && Number.isSafeInteger(v.size) && (v.size as number) >= 0 &&
  v.source === undefined && (v.path === undefined || isInsidePath(v.path));
const isArtifact = (v: unknown): v is ArtifactRecord => isObject(v) && isObject(v.files) &&
  Object.entries(v.files).every(([name, ref]) => isFileRef(ref) && (ref.path !== undefined || isInsidePath(name))) && (v.meta === undefined || isObject(v.meta));

/**
 * Every file a task's outputs name, or undefined if they are not the shape a task writes (a
 * tampered or damaged record or stage index): such a result is not trusted but made again.
 */
export function outputFiles(outputs: unknown): FileRef[] | undefined {
  if (!isObject(outputs)) return undefined;
  const files: FileRef[] = [];
  for (const output of Object.values(outputs)) {
    if (!isObject(output)) return undefined;
    if (output.type === "artifact") {
      if (!isArtifact(output)) return undefined;
      files.push(...Object.values(output.files));
    } else if (output.type === "collection" && Array.isArray(output.items)) {
      for (const item of output.items as unknown[]) {
        if (!isArtifact(item) || typeof (item as { id?: unknown }).id !== "string") return undefined;
        files.push(...Object.values(item.files));
      }
    } else {
      return undefined;
    }
  }
  return files;
}

/** `reads` as a task record keeps it: absent, or a list of hashes. */
export const isReads = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((h) => typeof h === "string"));

const SOURCES = new Set<unknown>(["cached", "ran", "failed", "skipped"]);
const isRunTask = (v: unknown): boolean =>
  isObject(v) && typeof v.key === "string" && HASH.test(v.key) && SOURCES.has(v.source) && (v.ms === undefined || typeof v.ms === "number");
const isRunStage = (v: unknown): boolean =>
  isObject(v) && typeof v.kind === "string" && isObject(v.tasks) && Object.values(v.tasks).every(isRunTask) &&
  isObject(v.outputs) && Object.values(v.outputs).every((h) => typeof h === "string");

/** Whether parsed JSON is a run record as `dag run` writes one (a tampered or foreign file is not). */
export function isRunRecord(v: unknown): v is RunRecord {
  return isObject(v) && typeof v.id === "string" && typeof v.pipeline === "string" && typeof v.startedAt === "string" &&
    typeof v.finishedAt === "string" && typeof v.ok === "boolean" && Array.isArray(v.targets) && v.targets.every((t) => typeof t === "string") &&
    (v.name === undefined || typeof v.name === "string") && isObject(v.stages) && Object.values(v.stages).every(isRunStage);
}
