import type { CodeManifest } from "../engine/code-fingerprint.js";
import type { TaskOutputs } from "../engine/task-spec.js";
import type { BlobHash, RunRecord, TaskKey, TaskRecord } from "./records.js";

/**
 * What the rebuilder asks of a cache: results by task key, and folders for the tasks it runs.
 * The store under `.dag/` (LocalCache over Store) is one implementation; a cache that the
 * tasks of another host see at the same paths (a shared filesystem) is the same one.
 */
export interface Cache {
  /** Where tasks find cached files and put their outputs (`TaskSpec.storeRoot`). */
  readonly root: string;
  /** Make it ready to be written: its folders, and output folders a killed run left removed (only while holding the lock). */
  open(): void;
  /** The outputs of the task with this key, if every file it made is still cached; `stage` says where to look first. */
  get(key: TaskKey, stage: string): TaskOutputs | undefined;
  /** The record kept under a key, whether or not its files are all still there. */
  record(key: TaskKey): TaskRecord | undefined;
  /** Keep a finished task's record (its outputs are already in the cache: the task put them there). */
  set(record: TaskRecord): void;
  /** Where a cached file lies. */
  blobPath(hash: BlobHash): string;
  /** Whether a cached file's bytes still hash to its name (`--rehash`). */
  intact(hash: BlobHash): boolean;
  /** A fresh, empty output folder for one task, and its resumable scratch folder (kept across attempts). */
  taskFolders(key: TaskKey, label: string): { outDir: string; scratchDir: string };
  /** A task succeeded: its scratch folder is no longer needed. */
  settled(key: TaskKey): void;
  /** The tasks a stage completed in this run, so that a no-op run finds them in one read. */
  setStage(stage: string, done: Map<TaskKey, TaskOutputs>): void;
  /** What a code fingerprint is made of (`dag status` names the files that changed). */
  describeCode(hash: string, manifest: CodeManifest): void;
  writeRun(run: RunRecord): void;
}
