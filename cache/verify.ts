import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, taskKey } from "../engine/hash.js";
import { isReads, outputFiles, type BlobHash, type TaskKey, type TaskRecord } from "./records.js";
import { sealedBody } from "./sealed.js";
import type { Store } from "./store.js";

export interface Corruption {
  /** `blob`: bytes that do not hash to the blob's name; `record`: a task record that cannot be trusted. */
  type: "blob" | "record" | "stage-index" | "run";
  /** The blob's hash, the task's key, the stage's name, or the run record's file. */
  id: string;
  path: string;
  reason: string;
}

export interface VerifyReport {
  blobs: number;
  records: number;
  corrupt: Corruption[];
  /** What `--repair` removed: corrupt entries, and the task records that read a corrupt blob. */
  evicted?: { blobs: number; records: number; stageIndexes: number; runs: number };
}

/**
 * Re-hash every blob and check every task record: its key must be the hash of its key parts, and
 * each file it lists must exist with the size it recorded and bytes that match its name.
 * With `repair`, remove corrupt blobs and records, the records of tasks that read a corrupt
 * blob (their results were made from bad bytes), and stage indexes that point at any of them;
 * the next `dag run` makes them again.
 */
export async function verifyStore(store: Store, repair = false): Promise<VerifyReport> {
  const corrupt: Corruption[] = [];
  const badBlobs = new Set<BlobHash>();
  let blobs = 0;
  for (const hash of store.allBlobHashes()) {
    blobs++;
    if (!(await store.blobIntact(hash))) {
      badBlobs.add(hash);
      const reason = store.blobStat(hash)?.isFile() ? "its bytes do not hash to its name" : "not a plain file (a link or a folder put in the store)";
      corrupt.push({ type: "blob", id: hash, path: store.blobPath(hash), reason });
    }
  }

  const badRecords = new Set<TaskKey>();
  const readers = new Set<TaskKey>();
  const trusted = new Map<TaskKey, TaskRecord>();
  let records = 0;
  for (const key of store.allTaskKeys()) {
    records++;
    const path = store.taskPath(key);
    const checked = checkRecord(store, key, path, badBlobs);
    if ("reason" in checked) {
      badRecords.add(key);
      corrupt.push({ type: "record", id: key, path, reason: checked.reason });
    } else if (checked.record.reads?.some((h) => badBlobs.has(h))) {
      readers.add(key);
    } else {
      trusted.set(key, checked.record);
    }
  }

  const badIndexes: string[] = [];
  for (const stage of store.stageIndexNames()) {
    const reason = checkStageIndex(store, stage, trusted);
    if (reason) {
      badIndexes.push(stage);
      corrupt.push({ type: "stage-index", id: stage, path: store.stageIndexPath(stage), reason });
    }
  }

  const badRuns = store.runFiles().filter((f) => !store.readRunFile(f));
  for (const f of badRuns) corrupt.push({ type: "run", id: f, path: join(store.runDir, f), reason: "not a run record dag wrote (unreadable, cut short or edited): dag runs, status and gc skip it" });

  const report: VerifyReport = { blobs, records, corrupt };
  if (repair) {
    // What was made from a corrupt blob goes before the blob: a repair killed in between must not
    // leave a reader's result whose evidence is gone (its input made again, it would be trusted).
    for (const stage of badIndexes) store.removeStageIndex(stage);
    for (const key of [...badRecords, ...readers]) store.removeTask(key);
    for (const f of badRuns) rmSync(join(store.runDir, f), { force: true });
    for (const hash of badBlobs) store.removeBlob(hash);
    report.evicted = { blobs: badBlobs.size, records: badRecords.size + readers.size, stageIndexes: badIndexes.length, runs: badRuns.length };
  }
  return report;
}

/** A task record that can be trusted, or why it cannot (the most telling reason first). */
function checkRecord(store: Store, key: TaskKey, path: string, badBlobs: Set<BlobHash>): { reason: string } | { record: TaskRecord } {
  let text: string;
  let record: TaskRecord;
  try {
    text = readFileSync(path, "utf8");
    record = JSON.parse(text) as TaskRecord;
  } catch (err) {
    return { reason: `unreadable: ${(err as Error).message}` };
  }
  try {
    if (record.key !== key || taskKey(record) !== key) return { reason: "its key is not the hash of what it records" };
  } catch (err) {
    return { reason: `malformed: ${(err as Error).message}` };
  }
  if (!outputFiles(record.outputs)) return { reason: "malformed: its outputs are not the shape a task writes" };
  if (!isReads(record.reads)) return { reason: "malformed: its list of the files it read is not a list of hashes" };
  if (sealedBody(text) === undefined) return { reason: "its checksum does not match its content (damaged or edited since dag wrote it)" };
  for (const output of Object.values(record.outputs)) {
    const artifacts = output.type === "artifact" ? [output] : output.items;
    for (const artifact of artifacts) {
      for (const [name, ref] of Object.entries(artifact.files)) {
        if (badBlobs.has(ref.hash)) return { reason: `its file "${name}" (${ref.hash.slice(0, 12)}) is corrupt` };
        if (!store.hasBlob(ref)) return { reason: `its file "${name}" (${ref.hash.slice(0, 12)}) is missing or not ${ref.size} bytes` };
      }
    }
  }
  return { record };
}

/**
 * Why a stage index cannot be trusted, if it cannot: its checksum does not match, or an entry
 * is not what the task's record says (a record that is corrupt, gone, read a corrupt blob, or
 * lists other outputs). Without the index a run reads the records, and writes it anew from them.
 */
function checkStageIndex(store: Store, stage: string, trusted: Map<TaskKey, TaskRecord>): string | undefined {
  const { entries, damaged } = store.readStageIndex(stage);
  if (damaged) return "its checksum does not match its content (damaged or edited since dag wrote it)";
  let first: string | undefined;
  let count = 0;
  for (const [key, outputs] of entries) {
    const record = trusted.get(key);
    const reason = !record ? "is corrupt, gone or read a corrupt blob" : canonicalJson(outputs) !== canonicalJson(record.outputs) ? "has other outputs in its record" : undefined;
    if (!reason) continue;
    first ??= `task ${key.slice(0, 12)} ${reason}`;
    count++;
  }
  return first && `${count === 1 ? "1 entry disagrees" : `${count} entries disagree`} with the task records: ${first}`;
}

/** The report for a person: one line per corrupt entry, then what was checked and done. */
export function formatVerifyReport(report: VerifyReport, show: (path: string) => string): string {
  const lines = report.corrupt.map((c) => `corrupt ${c.type} ${c.type === "stage-index" || c.type === "run" ? c.id : c.id.slice(0, 12)} (${show(c.path)}): ${c.reason}`);
  lines.push(`checked ${report.blobs} files and ${report.records} task records: ${report.corrupt.length ? `${report.corrupt.length} corrupt` : "0 corrupt"}`);
  if (report.evicted) {
    const e = report.evicted;
    lines.push(`repaired: removed ${e.blobs} files, ${e.records} task records (with those that read a corrupt file), ${e.stageIndexes} stage indexes and ${e.runs} run records; the next dag run makes them again`);
  } else if (report.corrupt.length) {
    lines.push("run dag verify --repair to remove them and what was made from them; the next dag run makes them again");
  }
  return `${lines.join("\n")}\n`;
}
