import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** One stage in a run now in progress. */
export interface LiveStage {
  /** Ready and waiting for a slot, or handed to an executor that has not started it (a cluster's queue). */
  queued: number;
  running: number;
  /** Ran or restored from the cache. */
  done: number;
  failed: number;
  /** Tasks known so far; `final` once no more can come (the items it maps over all exist). */
  total: number;
  final: boolean;
}

/** What `dag status` shows while a run holds the workspace: `.dag/live.json`. */
export interface LiveState {
  pid: number;
  host: string;
  runId: string;
  executor: string;
  startedAt: string;
  updatedAt: string;
  /** In pipeline order. */
  stages: Record<string, LiveStage>;
}

export function liveStatePath(cacheDir: string): string {
  return join(cacheDir, "live.json");
}

/**
 * The run's state for other processes to read, rewritten at most once per `intervalMs` and only
 * when something changed, by temporary file and rename (a reader never sees it torn), removed
 * when the run ends. Best effort: a write that fails (a full disk) is skipped, the run goes on.
 */
export class LiveStatusWriter {
  private version = 0;
  private written = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly path: string, private readonly snapshot: () => LiveState, intervalMs = 500) {
    // A run that is over in less than one interval (a no-op run) never writes the file.
    this.timer = setInterval(() => this.write(), intervalMs);
    this.timer.unref();
  }

  /** Something a reader would see changed (cheap: the write waits for the next tick). */
  changed(): void {
    this.version++;
  }

  close(): void {
    clearInterval(this.timer);
    rmSync(this.path, { force: true });
  }

  private write(): void {
    if (this.written === this.version) return;
    this.written = this.version;
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ ...this.snapshot(), updatedAt: new Date().toISOString() }));
      renameSync(tmp, this.path);
    } catch {
      rmSync(tmp, { force: true });
    }
  }
}

export function liveIdentity(runId: string, executor: string, started: number): Pick<LiveState, "pid" | "host" | "runId" | "executor" | "startedAt"> {
  return { pid: process.pid, host: hostname(), runId, executor, startedAt: new Date(started).toISOString() };
}

/** The state a run in progress last wrote, if its file is there and whole. */
export function readLiveState(cacheDir: string): LiveState | undefined {
  try {
    return JSON.parse(readFileSync(liveStatePath(cacheDir), "utf8")) as LiveState;
  } catch {
    return undefined;
  }
}

/** `dag status` during a run: one line per stage. */
export function formatLiveState(live: LiveState, command: string): string {
  const stages = Object.entries(live.stages);
  const names = stages.map(([name]) => name);
  const width = Math.max(...names.map((n) => n.length), 5);
  const lines = [`a run is in progress: dag process ${live.pid} on ${live.host} ("${command}", ${live.executor} executor) since ${live.startedAt}, as of ${live.updatedAt}`];
  for (const [name, s] of stages) {
    const parts = [s.queued && `${s.queued} queued`, s.running && `${s.running} running`, `${s.done} done`, s.failed && `${s.failed} failed`].filter(Boolean);
    const of = s.total || s.final ? ` of ${s.total}${s.final ? "" : " so far"}` : "";
    lines.push(`${name.padEnd(width)}  ${s.total || s.final ? `${parts.join(", ")}${of}` : "waiting for its inputs"}`);
  }
  lines.push("(dag status after the run says what is stale and why)");
  return `${lines.join("\n")}\n`;
}
