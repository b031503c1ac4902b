import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { captureConsole } from "./console-capture.js";
import { pathToFileURL } from "node:url";
import type { MessagePort } from "node:worker_threads";
import type { ItemRecord, TaskOutput } from "../cache/records.js";
import { Store } from "../cache/store.js";
import { asDiskFull } from "./errors.js";
import type { ArtifactOut, CollectionOut, JsonObject, OutputValue, StageKind } from "./stage-api.js";
import type { TaskMessage, TaskOutputs, TaskResult, TaskSpec } from "./task-spec.js";

const kinds = new Map<string, Promise<StageKind>>();

function loadKind(modulePath: string): Promise<StageKind> {
  let kind = kinds.get(modulePath);
  if (!kind) {
    kind = import(pathToFileURL(modulePath).href).then((m: { default: StageKind }) => m.default);
    kinds.set(modulePath, kind);
  }
  return kind;
}

/**
 * How a running task talks to whoever runs it, whatever the transport: a thread's MessagePort
 * (below), a process's stdout lines and signals (task-entry.ts, which runs the task in a thread of
 * its own so that a busy stage still sees the abort).
 */
export interface TaskChannel {
  send(message: TaskMessage): void;
  signal: AbortSignal;
}

/** What a thread sends back for a task: a stage's own failure is a value, so that a rejection means the thread died. */
export type ThreadAnswer = { result: TaskResult } | { stageError: string };

/**
 * The task's abort signal in a thread. A busy stage (a training loop) may not return to the event
 * loop for minutes, so a message would wait: the executor also raises a flag in shared memory, and
 * reading `signal.aborted` (or `throwIfAborted()`) checks it, so the stage stops at its next check.
 */
function threadAbortSignal(port: MessagePort | undefined, flag: Int32Array | undefined): AbortSignal {
  const controller = new AbortController();
  port?.on("message", (m: { type: string }) => m.type === "abort" && controller.abort());
  const signal = controller.signal;
  if (!flag) return signal;
  const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;
  const aborted = (): boolean => {
    if (!nativeAborted.call(signal) && Atomics.load(flag, 0) === 1) controller.abort();
    return nativeAborted.call(signal) as boolean;
  };
  Object.defineProperty(signal, "aborted", { get: aborted });
  signal.throwIfAborted = () => {
    if (aborted()) throw signal.reason;
  };
  return signal;
}

/** Run one task: call the stage, then move its files into the store (never a task record: that is the coordinator's). */
export async function runTask(spec: TaskSpec, channel: TaskChannel): Promise<TaskResult> {
  const kind = await loadKind(spec.modulePath);
  // Empty, also for an attempt after one that was killed mid-way (a retried cluster job).
  rmSync(spec.outDir, { recursive: true, force: true });
  mkdirSync(spec.outDir, { recursive: true });
  const send = (m: TaskMessage): void => channel.send(m);
  const measurements: JsonObject = {};
  let route: JsonObject | undefined;
  let lastProgress = 0;
  const restoreConsole = captureConsole((type, message) => send({ type, message }));
  try {
    const outputs = await kind.run(
      {
        outDir: spec.outDir,
        // Made on first use: most tasks never need one.
        get scratch() {
          mkdirSync(spec.scratchDir, { recursive: true });
          return spec.scratchDir;
        },
        measure: (values) => Object.assign(measurements, values),
        ...(spec.machine !== undefined ? { machine: spec.machine } : {}),
        route: (value) => {
          route = value;
        },
        seed: spec.seed,
        itemId: spec.itemId,
        signal: channel.signal,
        log: (message) => send({ type: "log", message }),
        warn: (message) => send({ type: "warning", message }),
        progress: (done, total, note) => {
          const now = Date.now();
          if (now - lastProgress < 100 && done < total) return;
          lastProgress = now;
          send({ type: "progress", done, total, ...(note ? { note } : {}) });
        },
      },
      spec.params,
      spec.inputs,
    );
    return { outputs: await ingestOutputs(kind, outputs, spec), measurements, ...(route ? { route } : {}) };
  } catch (err) {
    // Only the message crosses the thread or process: make it name where the disk filled up.
    throw asDiskFull(err, spec.outDir);
  } finally {
    restoreConsole();
    rmSync(spec.outDir, { recursive: true, force: true });
  }
}

async function ingestOutputs(kind: StageKind, outputs: Record<string, OutputValue>, spec: TaskSpec): Promise<TaskOutputs> {
  if (!outputs || typeof outputs !== "object") throw new Error(`stage kind "${kind.name}" returned no outputs object`);
  for (const name of Object.keys(outputs)) {
    if (!kind.outputs[name]) throw new Error(`stage kind "${kind.name}" returned an undeclared output "${name}" (declared: ${Object.keys(kind.outputs).join(", ")})`);
  }
  const missing = Object.keys(kind.outputs).filter((n) => !(n in outputs));
  if (missing.length) throw new Error(`stage kind "${kind.name}" did not return its output(s) ${missing.join(", ")}`);
  const store = new Store(spec.storeRoot);
  const ingestFiles = async (files: Record<string, string> | undefined): Promise<ItemRecord["files"]> => {
    const refs: ItemRecord["files"] = {};
    for (const [name, path] of Object.entries(files ?? {})) {
      const abs = isAbsolute(path) ? path : resolve(spec.outDir, path);
      const rel = relative(spec.outDir, abs);
      if (rel.startsWith("..") || isAbsolute(rel)) throw new Error(`output file "${name}" (${path}) is outside the task's output folder; write it under ctx.outDir`);
      if (!existsSync(abs) || !statSync(abs).isFile()) throw new Error(`output file "${name}" (${rel}) was not written`);
      refs[name] = { ...(await store.ingestFile(abs)), path: rel };
    }
    return refs;
  };
  const result: TaskOutputs = {};
  for (const [name, value] of Object.entries(outputs)) {
    if ("items" in value) {
      const items: ItemRecord[] = [];
      const seen = new Set<string>();
      for (const item of (value as CollectionOut).items) {
        if (typeof item.id !== "string" || !item.id) throw new Error(`output "${name}": every item needs a non-empty string id`);
        if (seen.has(item.id)) throw new Error(`output "${name}": item id "${item.id}" appears twice`);
        seen.add(item.id);
        items.push({ id: item.id, files: await ingestFiles(item.files), meta: item.meta ?? {} });
      }
      result[name] = { type: "collection", items } satisfies TaskOutput;
    } else {
      const artifact = value as ArtifactOut;
      result[name] = { type: "artifact", files: await ingestFiles(artifact.files), meta: artifact.meta ?? {} };
    }
  }
  return result;
}

/** Piscina's entry point: one task in this thread, over the port it was given. */
export default async function (message: { spec: TaskSpec; port?: MessagePort; abortFlag?: Int32Array }): Promise<ThreadAnswer> {
  const { spec, port, abortFlag } = message;
  try {
    return { result: await runTask(spec, { send: (m) => port?.postMessage(m), signal: threadAbortSignal(port, abortFlag) }) };
  } catch (err) {
    return { stageError: err instanceof Error ? err.message || String(err) : String(err) };
  } finally {
    port?.close();
  }
}
