import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

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

/**
 * One writer per cache: an exclusive lock file holding the owner's pid. A lock left behind by
 * a process on this host that no longer exists is taken over.
 */
export class WorkspaceLock {
  private held = false;

  constructor(readonly path: string) {}

  tryAcquire(command: string): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, "wx");
        const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
        writeSync(fd, JSON.stringify(holder));
        closeSync(fd);
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const holder = this.readHolder();
        if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
          try { unlinkSync(this.path); } catch { /* someone else took it over */ }
          continue;
        }
        throw new LockBusyError(this.path, holder ?? { pid: -1, host: "?", since: "?", command: "?" });
      }
    }
    throw new LockBusyError(this.path, this.readHolder() ?? { pid: -1, host: "?", since: "?", command: "?" });
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

  private readHolder(): LockHolder | undefined {
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as LockHolder;
    } catch {
      return undefined;
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
