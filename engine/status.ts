import { join } from "node:path";
import { LocalCache } from "../cache/local-cache.js";
import type { KeyParts, TaskKey } from "../cache/records.js";
import { Store } from "../cache/store.js";
import { codeChanges, CodeFingerprints, projectRoot } from "./code-fingerprint.js";
import type { Logger } from "./events.js";
import { canonicalJson } from "./hash.js";
import type { Pipeline, StageNode } from "./pipeline.js";
import { Plan, planInputs, selectStages, type PlannedTask } from "./plan.js";
import { Rebuilder } from "./rebuilder.js";

export interface StageStatus {
  stage: string;
  /** `up-to-date`: every task cached; `stale`: some tasks would run; `waits`: depends on a stale stage. */
  state: "up-to-date" | "stale" | "waits";
  cached: number;
  stale: number;
  /** Why the stale tasks would run, each reason with how many tasks it applies to. */
  reasons: { reason: string; count: number }[];
  waitsOn: string[];
}

export interface QueryOptions {
  targets: string[];
  force?: string[];
  rehash?: boolean;
  /** Hears the plan's events (a dry run prints them); silent when absent. */
  logger?: Logger;
  onWouldRun?: (task: PlannedTask) => void;
}

/**
 * The plan as far as it can be known without running anything: every task whose inputs exist,
 * cached (`done`) or stale (`would-run`); stages below a stale one stay unknown. Writes nothing.
 */
export async function queryPlan(pipeline: Pipeline, options: QueryOptions): Promise<Plan> {
  const stages = selectStages(pipeline, options.targets);
  const logger: Logger = options.logger ?? (() => undefined);
  const rebuilder = new Rebuilder(new LocalCache(new Store(pipeline.cacheDir)), { force: options.force, rehash: options.rehash, logger });
  const inputs = await planInputs(pipeline, stages, { rehash: options.rehash });
  const plan = new Plan(pipeline, stages, inputs, {
    restore: (task) => rebuilder.restore(task),
    stale: (task) => {
      logger({ type: "task-would-run", stage: task.stage, item: task.itemId, key: task.key });
      options.onWouldRun?.(task);
    },
    stageFailed: () => undefined,
    logger,
  }, true);
  plan.start();
  return plan;
}

/** Per stage: up to date, or stale and exactly why (what changed since each stale task last ran). */
export async function pipelineStatus(pipeline: Pipeline, targets: string[] = []): Promise<StageStatus[]> {
  const store = new Store(pipeline.cacheDir);
  const plan = await queryPlan(pipeline, { targets });
  // Read past runs only when something is stale: an up-to-date pipeline needs no explanation.
  let previous: Map<string, Map<string, TaskKey>> | undefined;
  let code: CodeFingerprints | undefined;
  const codeDiff = (node: StageNode) => (before: string): string[] => {
    const old = store.readCode(before);
    code ??= new CodeFingerprints(join(pipeline.cacheDir, "code-stat.json"));
    return old ? codeChanges(old, code.of(node.modulePath, node.kind.reads).manifest, projectRoot(node.modulePath)) : [];
  };
  const statuses = new Map<string, StageStatus>();
  for (const [name, state] of plan.stages) {
    const s: StageStatus = { stage: name, state: "up-to-date", cached: 0, stale: 0, reasons: [], waitsOn: [] };
    const reasons = new Map<string, number>();
    for (const task of state.tasks) {
      if (task.status === "done") s.cached++;
      if (task.status !== "would-run") continue;
      s.stale++;
      s.state = "stale";
      previous ??= previousKeys(store, pipeline.stages.map((n) => n.name));
      for (const r of explain(task, previous, store, codeDiff(state.node))) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    s.reasons = [...reasons].map(([reason, count]) => ({ reason, count }));
    statuses.set(name, s);
  }
  return pipeline.stages.filter((node) => statuses.has(node.name)).map((node) => {
    const s = statuses.get(node.name)!;
    const upstream = Object.values(node.inputs).flatMap((b) => (b.source === "stage" ? [b.stage] : []));
    const blockers = upstream.filter((u) => statuses.get(u)?.state !== "up-to-date");
    if (blockers.length) {
      s.waitsOn = blockers;
      if (s.state === "up-to-date") s.state = "waits";
    }
    return s;
  });
}

/** Stage -> item -> the key that item had in the most recent run that ran it. */
function previousKeys(store: Store, stages: string[]): Map<string, Map<string, TaskKey>> {
  const out = new Map<string, Map<string, TaskKey>>();
  for (const run of store.runsNewestFirst()) {
    // The newest run with a stage knows its latest keys: stop reading once every stage was seen.
    if (stages.every((s) => out.has(s))) break;
    for (const [stage, entry] of Object.entries(run.stages)) {
      const items = out.get(stage) ?? new Map<string, TaskKey>();
      out.set(stage, items);
      for (const [item, task] of Object.entries(entry.tasks)) if (!items.has(item) && task.source !== "skipped") items.set(item, task.key);
    }
  }
  return out;
}

/** What changed in a kind's code since the fingerprint given (its files, its packages). */
type CodeDiff = (before: string) => string[];

function explain(task: PlannedTask, previous: Map<string, Map<string, TaskKey>>, store: Store, codeDiff: CodeDiff): string[] {
  if (task.lostFiles) return ["cached result has files missing from the cache: rebuilt"];
  const items = previous.get(task.stage);
  if (!items) return ["never run"];
  const prevKey = items.get(task.itemId ?? "");
  if (!prevKey) return [task.itemId ? "new item (not run before)" : "never run"];
  const before = store.readTask(prevKey);
  if (!before) return ["last run's result is gone from the cache (gc or clean)"];
  if (prevKey === task.key) return ["its last run failed or was interrupted"];
  return diffParts(before, task.parts, codeDiff);
}

export function diffParts(before: KeyParts, after: KeyParts, codeDiff: CodeDiff): string[] {
  const out: string[] = [];
  if (before.kind !== after.kind) out.push(`kind ${before.kind} -> ${after.kind}`);
  if (before.version !== after.version) out.push(`code version ${before.version} -> ${after.version}`);
  if (before.code !== after.code) {
    const changes = before.code === undefined ? [] : codeDiff(before.code);
    out.push(...(changes.length ? changes : ["code changed (this cache does not say which files)"]));
  }
  out.push(...diffValues("param ", before.params, after.params));
  out.push(...diffValues("machine ", before.machine ?? {}, after.machine ?? {}));
  if (before.seed !== after.seed) out.push("seed changed");
  const names = new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)]);
  for (const name of [...names].sort()) {
    if (before.inputs[name] !== after.inputs[name]) out.push(`input ${name} changed`);
  }
  return out.length ? out : ["key changed"];
}

/** "prefix path: a -> b" for every leaf where two JSON values differ. */
export function diffValues(prefix: string, a: unknown, b: unknown, path = "", deltas = false): string[] {
  // A key that one side lacks (a param added since, a meta value one run did not write) differs.
  if (a === undefined || b === undefined ? a === b : canonicalJson(a) === canonicalJson(b)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffValues(prefix, a[k], b[k], path ? `${path}.${k}` : k, deltas));
  }
  const show = (v: unknown): string => (v === undefined ? "(unset)" : canonicalJson(v));
  // A figure that moved: by how much, so that nobody subtracts in their head.
  const delta = deltas && typeof a === "number" && typeof b === "number" ? ` (${b > a ? "+" : ""}${Number((b - a).toPrecision(4))})` : "";
  return [`${prefix}${path || "(all)"}: ${show(a)} -> ${show(b)}${delta}`];
}
