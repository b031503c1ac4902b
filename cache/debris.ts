import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "./lock.js";
import { safeReaddir } from "./store.js";

/** A temporary file as writeFileAtomic and the lock name it: `<file>.<pid>.<8 hex>.tmp`. */
const TEMPORARY = /\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * A writer's temporary file younger than this is never taken for debris: on a cache that several
 * hosts share, a pid that is dead here may be alive there, and a record, an index or a lock is
 * written in milliseconds.
 */
const WRITING_MS = 10_000;

/** Older than this, a temporary file is debris whoever wrote it (its pid may have been reused). */
const ABANDONED_MS = 60 * 60_000;

/**
 * Remove the temporary files that writers killed mid-write (SIGKILL, a power cut) left in the
 * cache's own folders: records (`tasks/ab/<key>.json.<pid>.<hex>.tmp`), indexes, runs, code
 * manifests, stat caches and lock attempts. Call only while holding the workspace lock (the one
 * writer of these folders); blobs come in by rename from `tmp/`, which is cleared on its own, and
 * `jobs/` belongs to task processes that may still run elsewhere. Returns how many were removed.
 */
export function removeDebris(root: string, now = Date.now()): number {
  const taskDirs = safeReaddir(join(root, "tasks")).map((sub) => join(root, "tasks", sub));
  let removed = 0;
  for (const dir of [root, ...["stages", "runs", "code"].map((d) => join(root, d)), ...taskDirs]) {
    for (const name of safeReaddir(dir)) {
      const pid = TEMPORARY.exec(name)?.[1];
      if (pid === undefined) continue;
      const path = join(dir, name);
      const age = now - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? now);
      if (age < WRITING_MS || (age < ABANDONED_MS && processAlive(Number(pid)))) continue;
      rmSync(path, { force: true });
      removed++;
    }
  }
  return removed;
}
