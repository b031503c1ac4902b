import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync, closeSync, createReadStream, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync,
  readdirSync, readSync, renameSync, rmSync, unlinkSync, type Stats,
} from "node:fs";
import { join } from "node:path";
import { ownDir, writeOwnFile } from "./atomic.js";
import { sealJson, unsealJson } from "./sealed.js";
import { UsageError } from "../engine/errors.js";
import type { CodeManifest } from "../engine/code-fingerprint.js";
import { isReads, isRunRecord, outputFiles, type BlobHash, type FileRef, type RunRecord, type TaskKey, type TaskRecord } from "./records.js";

/**
 * The content-addressed store under `.dag/`:
 *   blobs/ab/<sha256>      file contents, read-only, named by their hash
 *   tasks/ab/<key>.json    what a task with that key produced (its outputs' hashes)
 *   runs/<id>.json         one record per `dag run`
 *   code/<hash>.json       what a code fingerprint was made of (files and package versions)
 *   tmp/                   scratch directories of running tasks (same file system: renames are atomic)
 * Every write goes to a temporary file first and is renamed into place, so a crash leaves
 * either nothing or a whole entry.
 */
export class Store {
  readonly blobDir: string;
  readonly taskDir: string;
  readonly runDir: string;
  readonly tmpRoot: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, "blobs");
    this.taskDir = join(root, "tasks");
    this.runDir = join(root, "runs");
    this.tmpRoot = join(root, "tmp");
    this.scratchRoot = join(root, "scratch");
  }

  /** Resumable scratch folders of tasks (ctx.scratch), by task key. */
  readonly scratchRoot: string;

  scratchDir(key: TaskKey): string {
    return join(this.scratchRoot, key);
  }

  removeScratch(key: TaskKey): void {
    rmSync(this.scratchDir(key), { recursive: true, force: true });
  }

  /** Its folders; one of them found a file (put there by hand) is made a folder again. */
  init(): void {
    const root = lstatSync(this.root, { throwIfNoEntry: false });
    if (root && !root.isDirectory()) {
      throw new UsageError(`${this.root} is not a folder: dag keeps its cache there; move it away (or set cache: in the pipeline file to another folder) and run again`);
    }
    for (const dir of [this.blobDir, this.taskDir, this.runDir, this.tmpRoot]) ownDir(dir);
  }

  blobPath(hash: BlobHash): string {
    return join(this.blobDir, hash.slice(0, 2), hash);
  }

  /**
   * Whether the store holds a file of the size its record says. A blob of another size (truncated
   * by a full disk, cut by a tool) is a miss, and the task that made it runs again. Content is
   * not re-read here (that is `dag verify`): one stat per file keeps a no-op run fast. Only a
   * plain file counts: the store never holds a link or a folder, so one put there is a miss too.
   */
  hasBlob(ref: FileRef): boolean {
    const st = this.blobStat(ref.hash);
    return st?.isFile() === true && st.size === ref.size;
  }

  /** What lies at a blob's path (not followed if a link), or undefined if nothing can be found there. */
  blobStat(hash: BlobHash): Stats | undefined {
    try {
      return lstatSync(this.blobPath(hash), { throwIfNoEntry: false });
    } catch {
      return undefined; // its folder is a file, or cannot be read
    }
  }

  /**
   * Move a finished file into the store under its content hash (the source is consumed). A blob
   * already there is kept only if its bytes still match its name: a damaged one is replaced.
   */
  async ingestFile(path: string): Promise<FileRef> {
    const { hash, size } = await hashFile(path);
    const dest = this.blobPath(hash);
    if (this.blobStat(hash) && (await this.blobIntact(hash))) {
      unlinkSync(path);
      return { hash, size };
    }
    // Whatever is in the way (a folder or link put where a blob or its folder belongs) goes.
    ownDir(join(this.blobDir, hash.slice(0, 2)));
    if (this.blobStat(hash)?.isDirectory()) rmSync(dest, { recursive: true, force: true });
    const fd = openSync(path, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
    chmodSync(path, 0o444);
    renameSync(path, dest);
    return { hash, size };
  }

  /**
   * The record kept under a key, or undefined if there is none that can be its record: one whose
   * checksum does not match its content (a flipped bit, an edit: its outputs or meta could be
   * anything), or one stored under another key (swapped or copied files: another task's outputs).
   */
  readTask(key: TaskKey): TaskRecord | undefined {
    const record = unsealJson(readText(this.taskPath(key)) ?? "") as TaskRecord | undefined;
    return record?.key === key && isReads(record.reads) ? record : undefined;
  }

  /** Sealed: the checksum covers every field of the record, whatever fields it has. */
  writeTask(record: TaskRecord): void {
    writeOwnFile(this.taskPath(record.key), sealJson(record));
  }

  /** A task's outputs, if every file it produced is still in the store (else it must run again). */
  completeTask(key: TaskKey, index?: Map<TaskKey, TaskRecord["outputs"]>): TaskRecord["outputs"] | undefined {
    const outputs = index?.get(key) ?? this.readTask(key)?.outputs;
    const files = outputFiles(outputs);
    return files?.every((file) => this.hasBlob(file)) ? outputs : undefined;
  }

  /**
   * The outputs of a stage's tasks in its latest run, read as one file: a no-op run over
   * thousands of items then reads one file per stage instead of one per task. Any entry is as
   * valid as the task record it copies (a key always means the same outputs). The index is
   * sealed as a whole (one hash over its text, no per-record read): `damaged` when it is there
   * but its checksum does not match (a flipped bit, an edit), and then it lists nothing.
   */
  readStageIndex(stage: string): { entries: Map<TaskKey, TaskRecord["outputs"]>; damaged: boolean } {
    const text = readText(this.stageIndexPath(stage));
    if (text === undefined) return { entries: new Map(), damaged: false };
    const index = unsealJson(text);
    if (typeof index !== "object" || index === null || Array.isArray(index)) return { entries: new Map(), damaged: true };
    return { entries: new Map(Object.entries(index as Record<TaskKey, TaskRecord["outputs"]>) as [TaskKey, TaskRecord["outputs"]][]), damaged: false };
  }

  writeStageIndex(stage: string, entries: Map<TaskKey, TaskRecord["outputs"]>): void {
    writeOwnFile(this.stageIndexPath(stage), sealJson(Object.fromEntries(entries)));
  }

  stageIndexPath(stage: string): string {
    return join(this.root, "stages", `${stage}.json`);
  }

  /** Keep what a code fingerprint is made of, so that `dag status` can name the files that changed. */
  writeCode(hash: string, manifest: CodeManifest): void {
    const path = join(this.root, "code", `${hash}.json`);
    if (existsSync(path)) return;
    writeOwnFile(path, JSON.stringify(manifest));
  }

  readCode(hash: string): CodeManifest | undefined {
    try {
      const manifest = JSON.parse(readFileSync(join(this.root, "code", `${hash}.json`), "utf8")) as CodeManifest;
      const table = (v: unknown): boolean => typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "string");
      // Another shape (tampered): as if none was kept (status then names no files).
      return table(manifest?.files) && table(manifest?.packages) && (manifest.runtime === undefined || table(manifest.runtime)) ? manifest : undefined;
    } catch {
      return undefined;
    }
  }

  writeRun(run: RunRecord): void {
    writeOwnFile(join(this.runDir, `${run.id}.json`), JSON.stringify(run));
  }

  /** Run records, oldest first (ids begin with their start time to the millisecond). */
  listRuns(): RunRecord[] {
    return this.runFiles().flatMap((f) => this.readRunFile(f) ?? []);
  }

  /**
   * A run record, or undefined for one that is not whole or not a run record (a crashed
   * process's, a tampered or foreign file: `dag verify` names it); the runs listed skip it.
   */
  readRunFile(file: string): RunRecord | undefined {
    try {
      const run: unknown = JSON.parse(readFileSync(join(this.runDir, file), "utf8"));
      return isRunRecord(run) ? run : undefined;
    } catch {
      return undefined;
    }
  }

  runFiles(): string[] {
    return safeReaddir(this.runDir).filter((f) => f.endsWith(".json")).sort();
  }

  /** Run records one at a time, newest first, so a caller can stop reading early. */
  *runsNewestFirst(): Generator<RunRecord> {
    for (const f of this.runFiles().reverse()) {
      const run = this.readRunFile(f);
      if (run) yield run;
    }
  }

  removeRun(id: string): void {
    rmSync(join(this.runDir, `${id}.json`), { force: true });
  }

  /** Remove the output folders of tasks that never finished (only while holding the lock). */
  clearTmp(): void {
    for (const entry of safeReaddir(this.tmpRoot)) rmSync(join(this.tmpRoot, entry), { recursive: true, force: true });
  }

  /** A fresh, empty output folder for one task. */
  makeTmpDir(label: string): string {
    const dir = join(this.tmpRoot, `${label.replace(/[^A-Za-z0-9_.-]/g, "_")}-${randomBytes(6).toString("hex")}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Remove every task record and blob that no kept run references, leftover temporary
   * directories and every task's resumable scratch folder. Returns what was removed.
   */
  gc(keep: RunRecord[]): { tasks: number; blobs: number; bytes: number } {
    const liveTasks = new Set<TaskKey>();
    for (const run of keep) {
      for (const stage of Object.values(run.stages)) for (const t of Object.values(stage.tasks)) liveTasks.add(t.key);
    }
    const liveBlobs = new Set<BlobHash>();
    let tasks = 0;
    for (const key of this.allTaskKeys()) {
      if (liveTasks.has(key)) {
        const record = this.readTask(key);
        if (!record) continue;
        for (const f of outputFiles(record.outputs) ?? []) liveBlobs.add(f.hash);
      } else {
        rmSync(this.taskPath(key), { force: true });
        tasks++;
      }
    }
    let blobs = 0;
    let bytes = 0;
    for (const hash of this.allBlobHashes()) {
      if (liveBlobs.has(hash)) continue;
      bytes += this.blobStat(hash)?.size ?? 0;
      this.removeBlob(hash);
      blobs++;
    }
    rmSync(this.tmpRoot, { recursive: true, force: true });
    mkdirSync(this.tmpRoot, { recursive: true });
    rmSync(this.scratchRoot, { recursive: true, force: true });
    // Folders of tasks run out of process that failed (kept for their logs): no run is using them (gc holds the lock).
    rmSync(join(this.root, "jobs"), { recursive: true, force: true });
    return { tasks, blobs, bytes };
  }

  /** Whether a blob is a plain file whose bytes hash to its name. */
  async blobIntact(hash: BlobHash): Promise<boolean> {
    if (!this.blobStat(hash)?.isFile()) return false;
    try {
      return (await hashFile(this.blobPath(hash))).hash === hash;
    } catch {
      return false;
    }
  }

  /** Whether a blob's bytes hash to its name, read synchronously (while planning, `--rehash`). */
  blobIntactSync(hash: BlobHash): boolean {
    if (!this.blobStat(hash)?.isFile()) return false;
    try {
      return hashFileSync(this.blobPath(hash)) === hash;
    } catch {
      return false;
    }
  }

  /** Remove one task record (`dag verify --repair`). */
  removeTask(key: TaskKey): void {
    rmSync(this.taskPath(key), { force: true });
  }

  /** Remove one blob (`dag verify --repair`). */
  removeBlob(hash: BlobHash): void {
    rmSync(this.blobPath(hash), { recursive: true, force: true });
  }

  /** Stage names that have an index (stages/<name>.json). */
  stageIndexNames(): string[] {
    return safeReaddir(join(this.root, "stages")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  }

  removeStageIndex(stage: string): void {
    rmSync(this.stageIndexPath(stage), { force: true });
  }

  taskPath(key: TaskKey): string {
    return join(this.taskDir, key.slice(0, 2), `${key}.json`);
  }

  *allTaskKeys(): Generator<TaskKey> {
    for (const sub of safeReaddir(this.taskDir)) {
      for (const f of safeReaddir(join(this.taskDir, sub))) if (f.endsWith(".json")) yield f.slice(0, -5) as TaskKey;
    }
  }

  *allBlobHashes(): Generator<BlobHash> {
    for (const sub of safeReaddir(this.blobDir)) {
      for (const f of safeReaddir(join(this.blobDir, sub))) if (/^[0-9a-f]{64}$/.test(f)) yield f as BlobHash;
    }
  }
}

/** A file's text, or undefined if it cannot be read as one (missing, a folder, unreadable). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The SHA-256 of a file's bytes, read synchronously in 1 MiB pieces. */
export function hashFileSync(path: string): string {
  const fd = openSync(path, "r");
  try {
    const digest = createHash("sha256");
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) digest.update(chunk.subarray(0, n));
    return digest.digest("hex");
  } finally {
    closeSync(fd);
  }
}

export async function hashFile(path: string): Promise<FileRef> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: hash.digest("hex") as BlobHash, size };
}
