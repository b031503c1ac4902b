/**
 * Errors that end a dag command, each with its own exit code (engine/cli.ts): what a person
 * did wrong (usage), what the machine ran out of (disk), and what is a bug in dag (internal).
 */

/** A command given wrongly (a flag, a run name, a stage kind that cannot load): exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The disk (or the user's quota) is full: exit 4. Finished tasks stay cached. */
export class DiskFullError extends Error {
  override name = "DiskFullError";
  constructor(readonly path: string) {
    super(`disk full at ${path}: free some space (dag gc deletes cached results no kept run uses) and run again; finished tasks stay cached`);
  }
}

/**
 * A cached file whose bytes no longer hash to its name, found while publishing it: nothing of it
 * is left in results/, and the run stops (exit 1) saying how to repair the cache.
 */
export class DamagedCacheError extends Error {
  override name = "DamagedCacheError";
  constructor(readonly blob: string, readonly dest: string) {
    super(`cannot publish ${dest}: its cached copy ${blob} is damaged (its bytes do not hash to its name), so it was not published. ` +
      "Run dag verify --repair (it removes the damaged file and what was made from it), then dag run again to make them anew");
  }
}

/** Whether an error means the disk or the quota is full (also when it crossed a thread as text). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  return err instanceof DiskFullError || /\b(ENOSPC|EDQUOT)\b|^disk full at /.test((err as Error | undefined)?.message ?? "");
}

/** The error as a DiskFullError naming where, when it is one; else as it was. */
export function asDiskFull(err: unknown, path: string): unknown {
  if (err instanceof DiskFullError || !isDiskFull(err)) return err;
  const named = /^disk full at (.*?): free some space/.exec((err as Error).message)?.[1];
  return new DiskFullError((err as NodeJS.ErrnoException).path ?? named ?? path);
}
