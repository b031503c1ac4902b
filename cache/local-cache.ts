import type { CodeManifest } from "../engine/code-fingerprint.js";
import type { TaskOutputs } from "../engine/task-spec.js";
import type { Cache } from "./cache.js";
import type { BlobHash, RunRecord, TaskKey, TaskRecord } from "./records.js";
import type { Store } from "./store.js";

/** The rebuilder's cache as the store under `.dag/`: task records, blobs, and one index file per stage. */
export class LocalCache implements Cache {
  /** Each stage's index as this run found it (read on first use: one file per stage, not one per task). */
  private readonly indexes = new Map<string, Map<TaskKey, TaskOutputs>>();

  constructor(readonly store: Store) {}

  get root(): string {
    return this.store.root;
  }

  open(): void {
    this.store.init();
    this.store.clearTmp();
  }

  get(key: TaskKey, stage: string): TaskOutputs | undefined {
    return this.store.completeTask(key, this.index(stage));
  }

  record(key: TaskKey): TaskRecord | undefined {
    return this.store.readTask(key);
  }

  set(record: TaskRecord): void {
    this.store.writeTask(record);
  }

  blobPath(hash: BlobHash): string {
    return this.store.blobPath(hash);
  }

  intact(hash: BlobHash): boolean {
    return this.store.blobIntactSync(hash);
  }

  taskFolders(key: TaskKey, label: string): { outDir: string; scratchDir: string } {
    return { outDir: this.store.makeTmpDir(label), scratchDir: this.store.scratchDir(key) };
  }

  settled(key: TaskKey): void {
    this.store.removeScratch(key);
  }

  /** Written only where it changes what the index says (a no-op run writes none). */
  setStage(stage: string, done: Map<TaskKey, TaskOutputs>): void {
    const index = this.index(stage);
    if (!done.size || (done.size === index.size && [...done.keys()].every((k) => index.has(k)))) return;
    this.store.writeStageIndex(stage, done);
  }

  describeCode(hash: string, manifest: CodeManifest): void {
    this.store.writeCode(hash, manifest);
  }

  writeRun(run: RunRecord): void {
    this.store.writeRun(run);
  }

  private index(stage: string): Map<TaskKey, TaskOutputs> {
    let index = this.indexes.get(stage);
    if (!index) this.indexes.set(stage, (index = this.store.readStageIndex(stage)));
    return index;
  }
}
