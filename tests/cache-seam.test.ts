/**
 * The rebuilder knows the cache only as a `Cache`: a second implementation (records in memory,
 * files in the store) runs the same pipeline with the same minimality, and a run reads and
 * writes records only through it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Cache } from "../dist/cache/cache.js";
import { LocalCache } from "../dist/cache/local-cache.js";
import type { BlobHash, RunRecord, TaskKey, TaskRecord } from "../dist/cache/records.js";
import { Store } from "../dist/cache/store.js";
import { CHAIN, run, workspace } from "./helpers/workspace.js";

/** Task records, stage indexes and runs in memory; blobs and task folders in the store as usual. */
class MemoryRecordsCache implements Cache {
  readonly records = new Map<TaskKey, TaskRecord>();
  readonly runs: RunRecord[] = [];
  private readonly files: LocalCache;

  constructor(cacheDir: string) {
    this.files = new LocalCache(new Store(cacheDir));
  }

  get root(): string {
    return this.files.root;
  }

  open(): void {
    this.files.open();
  }

  get(key: TaskKey): TaskRecord["outputs"] | undefined {
    const record = this.records.get(key);
    if (!record) return undefined;
    const files = Object.values(record.outputs).flatMap((o): { files: Record<string, { hash: BlobHash }> }[] => (o.type === "artifact" ? [o] : o.items));
    return files.every((a) => Object.values(a.files).every((f) => this.files.intact(f.hash))) ? record.outputs : undefined;
  }

  record(key: TaskKey): TaskRecord | undefined {
    return this.records.get(key);
  }

  set(record: TaskRecord): void {
    this.records.set(record.key, record);
  }

  blobPath(hash: BlobHash): string {
    return this.files.blobPath(hash);
  }

  intact(hash: BlobHash): boolean {
    return this.files.intact(hash);
  }

  taskFolders(key: TaskKey, label: string): { outDir: string; scratchDir: string } {
    return this.files.taskFolders(key, label);
  }

  settled(key: TaskKey): void {
    this.files.settled(key);
  }

  setStage(): void {}

  describeCode(): void {}

  writeRun(record: RunRecord): void {
    this.runs.push(record);
  }
}

describe("the Cache seam", () => {
  it("a second Cache implementation: the same results, a no-op second run, nothing written to the store's records", async () => {
    const dir = workspace(CHAIN);
    const cache = new MemoryRecordsCache(join(dir, ".dag"));
    const first = await run(dir, { cache });
    expect(first.ok).toBe(true);
    expect(first.ran.length).toBeGreaterThan(5);
    expect(cache.records.size).toBe(first.ran.length);

    const second = await run(dir, { cache });
    expect(second.ran).toEqual([]);
    expect(second.cached).toBe(first.ran.length);
    expect(cache.runs.map((r) => r.ok)).toEqual([true, true]);
    // The store's own records were never touched: a run with the local cache starts from nothing.
    expect(readdirSync(join(dir, ".dag")).filter((f) => ["tasks", "runs", "stages"].includes(f)).flatMap((f) => readdirSync(join(dir, ".dag", f)))).toEqual([]);
    const local = await run(dir);
    expect(local.ran).toEqual(first.ran);
  });
});
