import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Executor } from "../../dist/engine/executor.js";
import type { TaskFailure, TaskMessage, TaskSpec } from "../../dist/engine/task-spec.js";

/** Every file under `dir/results` as path -> sha256 of its bytes (manifests included). */
export function resultBytes(dir: string): Record<string, string> {
  return fileBytes(join(dir, "results"));
}

/** Every file under `root` as its path relative to `root` -> sha256 of its bytes. */
export function fileBytes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(root, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(root);
  return out;
}

/** An executor that passes everything on and keeps each failure it saw, with the task's name. */
export function recording(inner: Executor): Executor & { failures: { task: string; failure: TaskFailure }[]; messages: { task: string; m: TaskMessage }[] } {
  const failures: { task: string; failure: TaskFailure }[] = [];
  const messages: { task: string; m: TaskMessage }[] = [];
  const name = (spec: TaskSpec): string => (spec.itemId ? `${spec.stage}[${spec.itemId}]` : spec.stage);
  return {
    name: inner.name, slots: inner.slots, needsSharedFilesystem: inner.needsSharedFilesystem, failures, messages,
    async run(spec, onMessage, signal) {
      try {
        return await inner.run(spec, (m) => { messages.push({ task: name(spec), m }); onMessage(m); }, signal);
      } catch (err) {
        failures.push({ task: name(spec), failure: err as TaskFailure });
        throw err;
      }
    },
    close: () => inner.close(),
  };
}

/** The `dag task` process of a task (or cluster job) of this workspace, once it runs (its spec path names the workspace). */
export async function taskProcess(dir: string, waitSeconds = 10): Promise<number> {
  for (const until = Date.now() + waitSeconds * 1000; Date.now() < until; ) {
    const found = spawnSync("pgrep", ["-f", `task ${dir}/`], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
    if (found.length) return Number(found[0]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no task process of ${dir} appeared in ${waitSeconds} s`);
}
