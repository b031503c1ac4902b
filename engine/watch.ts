/**
 * `dag watch`: run again whenever pipeline.yaml, a file it names or an input folder changes.
 * A burst of saves (an editor writing, a copy of many files) gives one run: changes are gathered
 * until none has come for `quietMs`. A change while a run is going on does not disturb it; one
 * more run follows it, however many changes came. Stopping waits for the run in flight to end.
 */
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { Pipeline } from "./pipeline.js";
import { BUILTIN_STAGE_DIR } from "./registry.js";

/** The files and folders a pipeline depends on from outside the cache: itself, its inputs, its own kinds' code. */
export function watchedPaths(pipelineFile: string, pipeline: Pipeline | undefined): string[] {
  const paths = new Set([resolve(pipelineFile)]);
  for (const node of pipeline?.stages ?? []) {
    // A kind of the user's own (stage_paths): its code is in every key, so an edit makes work.
    if (!node.modulePath.startsWith(BUILTIN_STAGE_DIR)) paths.add(dirname(node.modulePath));
    for (const binding of Object.values(node.inputs)) {
      if (binding.source === "file") paths.add(resolve(pipeline!.dir, binding.path));
      if (binding.source === "glob") {
        // The folder the pattern starts in: a new file there may match it.
        const fixed = binding.pattern.split("/").filter((_, i, parts) => !parts.slice(0, i + 1).some((p) => /[*?[\]{}!]/.test(p)));
        const base = fixed.length ? join(...fixed) : ".";
        paths.add(isAbsolute(base) ? base : resolve(pipeline!.dir, base));
        for (const f of binding.files) paths.add(dirname(f));
      }
    }
  }
  return [...paths];
}

export interface WatchLoop {
  /** Resolves when the watcher is ready; the first run has been started. */
  ready: Promise<void>;
  /** Stop watching; resolves once the run in flight (if any) has ended. */
  stop(): Promise<void>;
}

/**
 * Call `runOnce` now and after every quiet burst of changes; it returns the paths to watch from
 * then on (those of the pipeline it loaded, or the old ones when the pipeline was invalid).
 * `ignore`: folders whose changes are the runs' own (the cache, the results).
 */
export function watchLoop(initial: string[], ignore: string[], runOnce: () => Promise<string[]>, onChange: (path: string) => void, quietMs = 300): WatchLoop {
  // The cache and the results change during every run: watching them would run forever.
  const ignored = (p: string): boolean => ignore.some((i) => p === i || p.startsWith(i + sep)) || p.split(sep).includes("node_modules");
  const watcher: FSWatcher = watch(initial, { ignoreInitial: true, ignored });
  let watched = new Set(initial);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let pending = false;
  let stopped = false;

  const start = (): void => {
    running = (async () => {
      try {
        const next = await runOnce();
        const added = next.filter((p) => !watched.has(p));
        if (added.length) watcher.add(added);
        watched = new Set([...watched, ...next]);
      } finally {
        running = undefined;
        if (pending && !stopped) {
          pending = false;
          start();
        }
      }
    })();
  };
  const changed = (path: string): void => {
    if (stopped) return;
    onChange(path);
    clearTimeout(timer);
    timer = setTimeout(() => (running ? (pending = true) : start()), quietMs);
  };
  for (const event of ["add", "change", "unlink", "addDir", "unlinkDir"] as const) watcher.on(event, changed);
  const ready = new Promise<void>((r) => watcher.once("ready", () => r()));
  void ready.then(() => !stopped && start());
  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await watcher.close();
      await running;
    },
  };
}
