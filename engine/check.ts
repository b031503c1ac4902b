import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Cache } from "../cache/cache.js";
import type { FileRef, TaskOutput } from "../cache/records.js";
import { Store } from "../cache/store.js";
import type { Logger } from "./events.js";
import { describeDifference } from "./file-difference.js";
import { canonicalJson } from "./hash.js";
import type { Task } from "./plan.js";
import type { TaskOutputs, TaskResult } from "./task-spec.js";

/** Where one check runs: its own store (blobs), output and scratch folders, all under one folder in the cache's `tmp/`. */
export interface CheckFolders {
  root: string;
  storeRoot: string;
  outDir: string;
  scratchDir: string;
}

/** What `dag run --check` found, for the run's last line and its exit code. */
export interface CheckSummary {
  /** Cached tasks of the checked stages that ran again. */
  checked: number;
  /** ... whose outputs were not the cached bytes (or whose re-run failed). */
  differ: number;
  /** Tasks of the checked stages that were not cached: they ran for the first time, with nothing to compare. */
  notCached: number;
}

/**
 * `dag run --check`, as Nix's `--check`: every cached task of the checked stages runs again,
 * through the same executor as any task, but into a scratch store of its own under the cache's
 * `tmp/` (removed once compared, and by the next run if this one is killed), with a fresh scratch
 * folder (never a checkpoint to resume from). Its outputs are compared with the cached ones and
 * each difference reported; nothing it made reaches `blobs/`, a record or an index.
 */
export class Checker {
  /** Copies of cached tasks, queued to run again, with the outputs the cache holds for them. */
  private readonly expected = new Map<Task, TaskOutputs>();
  readonly summary: CheckSummary = { checked: 0, differ: 0, notCached: 0 };

  constructor(private readonly stages: ReadonlySet<string>, private readonly cache: Cache, private readonly logger: Logger) {}

  covers(stage: string): boolean {
    return this.stages.has(stage);
  }

  /** A task of a checked stage came from the cache: a copy of it to run again. */
  rerun(task: Task, cached: TaskOutputs): Task {
    const copy: Task = { ...task, status: "ready" };
    this.expected.set(copy, cached);
    return copy;
  }

  isCheck(task: Task): boolean {
    return this.expected.has(task);
  }

  /** A fresh folder for one check (a task folder of the cache, so that the next run removes what a killed one left). */
  folders(task: Task): CheckFolders {
    const root = this.cache.taskFolders(task.key, `check-${task.stage}-${task.itemId ?? "all"}`).outDir;
    const folders = { root, storeRoot: join(root, "store"), outDir: join(root, "out"), scratchDir: join(root, "scratch") };
    mkdirSync(folders.outDir, { recursive: true });
    return folders;
  }

  /** The check ran: compare what it made with the cache, report, and remove its folder. */
  async compare(task: Task, result: TaskResult, folders: CheckFolders): Promise<void> {
    try {
      const rerun = new Store(folders.storeRoot);
      const differences = await outputDifferences(this.expected.get(task)!, result.outputs, (ref) => this.cache.blobPath(ref.hash), (ref) => rerun.blobPath(ref.hash));
      this.report(task, differences);
    } finally {
      this.forget(task, folders);
    }
  }

  /** The check's re-run failed: a difference too (the cached result was made; this one could not be). */
  failed(task: Task, message: string, folders: CheckFolders): void {
    this.report(task, [`the re-run failed: ${message}`]);
    this.forget(task, folders);
  }

  /** A check that never ran (the run was cancelled or stopped). */
  forget(task: Task, folders?: CheckFolders): void {
    this.expected.delete(task);
    if (folders) rmSync(folders.root, { recursive: true, force: true });
  }

  private report(task: Task, differences: string[]): void {
    this.summary.checked++;
    if (differences.length) this.summary.differ++;
    this.logger({ type: "check", stage: task.stage, item: task.itemId, differences });
  }
}

/** Each way in which the re-run's outputs differ from the cached ones: a line per output, item, file or meta value. */
export async function outputDifferences(
  cached: TaskOutputs, rerun: TaskOutputs, cachedPath: (ref: FileRef) => string, rerunPath: (ref: FileRef) => string,
): Promise<string[]> {
  const out: string[] = [];
  const files = async (where: string, a: Record<string, FileRef>, b: Record<string, FileRef>): Promise<void> => {
    for (const name of union(a, b)) {
      const [fa, fb] = [a[name], b[name]];
      const path = fa?.path ?? fb?.path ?? name;
      const label = `${where}file ${path}`;
      if (!fa || !fb) out.push(`${label}: ${fa ? "not made by the re-run" : "made only by the re-run"}`);
      else if (fa.hash !== fb.hash) out.push(`${label}: ${await describeDifference(cachedPath(fa), rerunPath(fb), path)}`);
    }
  };
  const meta = (where: string, a: unknown, b: unknown): void => {
    if (canonicalJson(a ?? {}) !== canonicalJson(b ?? {})) out.push(`${where}meta: ${canonicalJson(a ?? {})} cached, ${canonicalJson(b ?? {})} re-run`);
  };
  for (const name of union(cached, rerun)) {
    const [a, b] = [cached[name], rerun[name]];
    if (!a || !b || a.type !== b.type) {
      out.push(`output ${name}: ${describe(a)} cached, ${describe(b)} re-run`);
      continue;
    }
    if (a.type === "artifact" && b.type === "artifact") {
      await files(`output ${name}, `, a.files, b.files);
      meta(`output ${name}, `, a.meta, b.meta);
    } else if (a.type === "collection" && b.type === "collection") {
      const ids = (o: typeof a): string[] => o.items.map((i) => i.id);
      if (ids(a).join("\n") !== ids(b).join("\n")) out.push(`output ${name}: items ${ids(a).join(", ")} cached, ${ids(b).join(", ")} re-run`);
      for (const item of a.items) {
        const other = b.items.find((i) => i.id === item.id);
        if (!other) continue;
        await files(`output ${name}, item ${item.id}, `, item.files, other.files);
        meta(`output ${name}, item ${item.id}, `, item.meta, other.meta);
      }
    }
  }
  return out;
}

const union = (a: object, b: object): string[] => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
const describe = (o: TaskOutput | undefined): string => (!o ? "none" : o.type === "artifact" ? "an artifact" : `a collection of ${o.items.length}`);
