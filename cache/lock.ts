import { randomBytes } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { asDiskFull, UsageError } from "../engine/errors.js";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command: string;
}

export class LockBusyError extends Error {
  constructor(readonly path: string, readonly holder: LockHolder) {
    super(
      `another dag process (pid ${holder.pid} on ${holder.host}, running "${holder.command}" since ${holder.since}) ` +
        `is writing to this workspace's cache (${path}).\n` +
        `Wait for it to finish, or run again with --wait to queue behind it. ` +
        `If that process is gone, delete ${path}.`,
    );
  }
}

/** A lock file that cannot be read as a holder is taken as torn (a crash mid-write) after this long. */
const TORN_AFTER_MS = 10_000;

/**
 * One writer per cache: a lock file holding the owner's pid, host and command. It is written
 * whole under a temporary name and linked into place (link fails if the lock exists), so it is
 * never seen empty. A lock left by a dead process on this host (or one unreadable for
 * TORN_AFTER_MS) is taken over: only while holding `<lock>.break`, and only if it is still the
 * very file (same inode) found stale, so two processes taking over at once cannot both win.
 */
export class WorkspaceLock {
  private held = false;

  constructor(readonly path: string) {}

  tryAcquire(command: string): void {
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
    for (let attempt = 0; attempt < 20; attempt++) {
      if (this.create(holder)) {
        this.held = true;
        return;
      }
      const found = this.inspect();
      if (!found) continue; // released just now: try again
      if (!found.stale) throw new LockBusyError(this.path, found.holder ?? UNKNOWN);
      this.breakStale(found.ino);
    }
    throw new LockBusyError(this.path, this.inspect()?.holder ?? UNKNOWN);
  }

  async acquire(command: string, wait: boolean, onWait?: (holder: LockHolder) => void): Promise<void> {
    let told = false;
    for (;;) {
      try {
        this.tryAcquire(command);
        return;
      } catch (err) {
        if (!(err instanceof LockBusyError) || !wait) throw err;
        if (!told) onWait?.(err.holder);
        told = true;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try { unlinkSync(this.path); } catch { /* already removed */ }
  }

  /** The process holding the lock now, if a live one does (`dag status` during a run). */
  holder(): LockHolder | undefined {
    const found = this.inspect();
    return found && !found.stale ? found.holder : undefined;
  }

  /** Create the lock, whole, if there is none; false if there is one. */
  private create(holder: LockHolder): boolean {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(holder));
      linkSync(tmp, this.path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      // A write error carries no path: name the lock (a full disk is "disk full at .dag/lock").
      throw asDiskFull(err, this.path);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** The lock as it is now: its holder, its inode, and whether it may be taken over. */
  private inspect(): { holder?: LockHolder; ino: number; stale: boolean } | undefined {
    let ino: number;
    let text: string;
    let age: number;
    try {
      const st = statSync(this.path);
      if (!st.isFile()) throw new UsageError(`${this.path} is not a file: it is where dag locks the workspace; remove it (rm -r) and run again`);
      ino = st.ino;
      age = Date.now() - st.mtimeMs;
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if (err instanceof UsageError) throw err;
      return undefined;
    }
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(text) as LockHolder;
    } catch { /* torn: below */ }
    // Torn, or not what dag writes (edited): stale once it is old enough to be no one's half-written lock.
    if (typeof holder !== "object" || holder === null || typeof holder.pid !== "number" || typeof holder.host !== "string") return { ino, stale: age > TORN_AFTER_MS };
    return { holder, ino, stale: holder.host === hostname() && !processAlive(holder.pid) };
  }

  /** Remove a stale lock, if it is still the one found stale (inode `ino`), under `<lock>.break`. */
  private breakStale(ino: number): void {
    const breaker = `${this.path}.break`;
    try {
      closeSync(openSync(breaker, "wx"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process is taking over; its mutex is held for microseconds unless it crashed.
      const st = statSync(breaker, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > TORN_AFTER_MS) rmSync(breaker, { force: true });
      return;
    }
    try {
      const now = this.inspect();
      if (now && now.ino === ino && now.stale) unlinkSync(this.path);
    } finally {
      rmSync(breaker, { force: true });
    }
  }
}

const UNKNOWN: LockHolder = { pid: -1, host: "?", since: "?", command: "?" };

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
