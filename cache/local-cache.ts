import type { CodeManifest } from "../engine/code-fingerprint.js";
import type { TaskOutputs } from "../engine/task-spec.js";
import type { Cache } from "./cache.js";
import { removeDebris } from "./debris.js";
import type { BlobHash, RunRecord, TaskKey, TaskRecord } from "./records.js";
import type { Store } from "./store.js";

/** The rebuilder's cache as the store under `.dag/`: task records, blobs, and one index file per stage. */
export class LocalCache implements Cache {
  /** Each stage's index as this run found it (read on first use: one file per stage, not one per task). */
  private readonly indexes = new Map<string, Map<TaskKey, TaskOutputs>>();
  /** Stages whose index holds an entry that is not to be kept as it is. */
  private readonly stale = new Set<string>();

  constructor(readonly store: Store) {}

  get root(): string {
    return this.store.root;
  }

  open(): void {
    this.store.init();
    this.store.clearTmp();
    removeDebris(this.store.root);
  }

  get(key: TaskKey, stage: string): TaskOutputs | undefined {
    const index = this.index(stage);
    if (index.has(key)) {
      const outputs = this.store.completeTask(key, index);
      if (outputs) return outputs;
      // The index lists it, but not whole (a file gone, a damaged entry): the record decides.
      this.stale.add(stage);
    }
    return this.store.completeTask(key);
  }

  record(key: TaskKey): TaskRecord | undefined {
    return this.store.readTask(key);
  }

  set(record: TaskRecord): void {
    this.store.writeTask(record);
    // A key the index has ran again (--force, or its entry was not trusted): the index is rewritten.
    if (this.index(record.stage).has(record.key)) this.stale.add(record.stage);
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
    if (!done.size || (!this.stale.has(stage) && done.size === index.size && [...done.keys()].every((k) => index.has(k)))) return;
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
    if (!index) {
      const read = this.store.readStageIndex(stage);
      this.indexes.set(stage, (index = read.entries));
      // A damaged index is not used: the records decide, and the index is written anew from them.
      if (read.damaged) this.stale.add(stage);
    }
    return index;
  }
}
