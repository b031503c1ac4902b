import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TaskSpec } from "../task-spec.js";
import { writeSpec } from "../task-protocol.js";

/**
 * Folders for tasks that run in other processes: `<cache>/jobs/<session>/<n>-<task>/` holds the
 * spec, the result and (on a cluster) the job's log. On the cache's filesystem, which the task's
 * host must share. A task's folder goes once its result is in; a failed one stays for its log.
 */
export class TaskDirs {
  readonly root: string;
  private next = 0;

  constructor(storeRoot: string, executor: string) {
    this.root = join(storeRoot, "jobs", `${executor}-${new Date().toISOString().replace(/[-:.]/g, "")}-${randomBytes(3).toString("hex")}`);
  }

  /** A new folder under `parent` (default: the session's) with the task's spec in it; returns the folder. */
  make(spec: TaskSpec, parent = this.root): string {
    const label = `${spec.stage}-${spec.itemId ?? "all"}`.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80);
    const dir = join(parent, `${this.next++}-${label}`);
    writeSpec(dir, spec);
    return dir;
  }

  remove(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
  }

  /** At the end: the session's folder goes if no failed task's log is left in it. */
  closeSession(): void {
    try {
      if (!readdirSync(this.root).length) rmSync(this.root, { recursive: true, force: true });
    } catch { /* never made */ }
  }
}
