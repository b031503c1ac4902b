/**
 * `dag runs` and `dag show`: the recorded runs, for people. Headline figures are the top-level
 * numbers in the meta of stages that run once (an evaluation, a summary): the engine does not
 * know what they mean, only that a stage chose to put them there.
 */
import type { RunRecord, RunStageEntry, RunTaskEntry, TaskKey } from "../cache/records.js";
import type { JsonObject } from "./stage-api.js";
import type { Store } from "../cache/store.js";
import { canonicalJson } from "./hash.js";

export interface Headline {
  stage: string;
  output: string;
  key: string;
  value: number;
}

export interface RunSummary {
  id: string;
  name?: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  ran: number;
  cached: number;
  failed: number;
  headlines: Headline[];
}

/** The key of a stage's one task, when the stage ran once in this run. */
export function onceTaskKey(stage: RunStageEntry): TaskKey | undefined {
  const items = Object.keys(stage.tasks);
  return items.length === 1 && items[0] === "" ? stage.tasks[""]!.key : undefined;
}

/**
 * The top-level numbers of each once-run stage's outputs' meta, in stage order; `nested`: also
 * the numbers deeper down (`a.b.c`), such as shares per method and class.
 */
export function headlines(store: Store, run: RunRecord, nested = false): Headline[] {
  const found: Headline[] = [];
  for (const [stage, entry] of Object.entries(run.stages)) {
    const key = onceTaskKey(entry);
    const record = key ? store.readTask(key) : undefined;
    if (!record) continue;
    for (const [output, value] of Object.entries(record.outputs)) {
      if (value.type !== "artifact") continue;
      const walk = (v: unknown, key: string): void => {
        if (typeof v === "number") found.push({ stage, output, key, value: v });
        else if (nested && v && typeof v === "object" && !Array.isArray(v)) for (const [k, sub] of Object.entries(v)) walk(sub, `${key}.${k}`);
      };
      for (const [k, v] of Object.entries(value.meta)) walk(v, k);
    }
  }
  return found;
}

export function summarizeRun(store: Store, run: RunRecord, nested = false): RunSummary {
  const count = { ran: 0, cached: 0, failed: 0 };
  for (const stage of Object.values(run.stages)) {
    for (const t of Object.values(stage.tasks)) if (t.source in count) count[t.source as keyof typeof count]++;
  }
  return {
    id: run.id,
    ...(run.name ? { name: run.name } : {}),
    startedAt: run.startedAt,
    durationMs: Date.parse(run.finishedAt) - Date.parse(run.startedAt),
    ok: run.ok,
    ...count,
    headlines: headlines(store, run, nested),
  };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A number as short as it can be said without losing what matters (4 significant digits). */
export function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** One block per run, newest first: name, time, what ran, how long, its headline figures. */
export function formatRunList(runs: RunSummary[]): string {
  if (!runs.length) return "no runs recorded yet (dag run records one; dag run --name NAME names it)\n";
  const lines: string[] = [];
  for (const r of runs) {
    const state = r.ok ? "" : "  FAILED";
    lines.push(`${r.name ?? "(unnamed)"}  ${r.id}  ${r.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")}  ${r.ran} ran, ${r.cached} cached${r.failed ? `, ${r.failed} failed` : ""}  ${formatDuration(r.durationMs)}${state}`);
    const byStage = new Map<string, string[]>();
    for (const h of r.headlines) {
      const figures = byStage.get(h.stage) ?? [];
      const said = `${h.key} ${formatNumber(h.value)}`;
      // Two outputs of one stage may repeat a figure (a sample count): say it once.
      if (!figures.includes(said)) byStage.set(h.stage, [...figures, said]);
    }
    for (const [stage, figures] of byStage) lines.push(`    ${stage}: ${figures.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** One run in full: targets, then per stage its params, what ran and what came from the cache, time, measurements. */
export function formatRun(store: Store, run: RunRecord): string {
  const s = summarizeRun(store, run);
  const lines = [
    `run ${run.id}${run.name ? ` "${run.name}"` : ""}: ${run.ok ? "ok" : "FAILED"}`,
    `  pipeline  ${run.pipeline}`,
    `  started   ${run.startedAt}, took ${formatDuration(s.durationMs)}`,
    `  targets   ${run.targets.length ? run.targets.join(", ") : "all stages"}`,
    `  tasks     ${s.ran} ran, ${s.cached} cached${s.failed ? `, ${s.failed} failed` : ""}`,
  ];
  for (const [name, stage] of Object.entries(run.stages)) {
    const tasks = Object.entries(stage.tasks);
    const ran = tasks.filter(([, t]) => t.source === "ran");
    const ms = ran.reduce((sum, [, t]) => sum + (t.ms ?? 0), 0);
    const other = tasks.filter(([, t]) => t.source === "failed" || t.source === "skipped");
    const once = onceTaskKey(stage);
    lines.push(
      `${name} (${stage.kind}): ${once ? `key ${once.slice(0, 12)}, ` : ""}${ran.length} ran, ${tasks.length - ran.length - other.length} cached${other.length ? `, ${other.length} failed or skipped` : ""}${ran.length ? `, ${formatDuration(ms)} of task time` : ""}`,
    );
    if (stage.params && typeof stage.params === "object" && Object.keys(stage.params).length) lines.push(`    params ${canonicalJson(stage.params)}`);
    for (const [item, t] of other) lines.push(`    ${t.source} ${name}${item ? `[${item}]` : ""}${t.error ? `: ${t.error}` : ""}`);
    // Measurements that say how it ran (a backend, a rate), from the first task that has them.
    const measured = tasks.find(([, t]) => t.measurements && Object.keys(t.measurements).length)?.[1].measurements;
    const said = measured ? shortLeaves(measured) : [];
    if (said.length) lines.push(`    measured ${said.join(", ")}`);
    lines.push(...routeLines(store, tasks));
    const figures = s.headlines.filter((h) => h.stage === name).map((h) => `${h.output}.${h.key} ${formatNumber(h.value)}`);
    if (figures.length) lines.push(`    figures ${figures.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The compute routes a stage's tasks took (ctx.route), each once with how many tasks took it; a
 * cached task's from its record (read only while the stage's records have one).
 */
function routeLines(store: Store, tasks: [string, RunTaskEntry][]): string[] {
  const routes = new Map<string, { route: JsonObject; ran: number; cached: number }>();
  let recordsHaveRoutes = true;
  for (const [, t] of tasks) {
    let route = t.route;
    if (!route && t.source === "cached" && recordsHaveRoutes) {
      route = store.readTask(t.key)?.route;
      recordsHaveRoutes = route !== undefined;
    }
    if (!route) continue;
    const id = canonicalJson(route);
    const entry = routes.get(id) ?? { route, ran: 0, cached: 0 };
    if (t.source === "cached") entry.cached++;
    else entry.ran++;
    routes.set(id, entry);
  }
  return [...routes.values()].map(({ route, ran, cached }) => {
    const counts = [ran ? `${ran} ran` : "", cached ? `${cached} cached` : ""].filter(Boolean).join(", ");
    return `    route ${shortLeaves(route).join(", ")}${routes.size > 1 || cached ? ` (${counts})` : ""}`;
  });
}

/** `a.b value` for each number, boolean or short string in a measurement (long reasons stay in --json). */
function shortLeaves(value: unknown, path = ""): string[] {
  if (typeof value === "number") return [`${path} ${formatNumber(value)}`];
  if (typeof value === "boolean" || (typeof value === "string" && value.length <= 40)) return [`${path} ${value}`];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => shortLeaves(v, path ? `${path}.${k}` : k));
  }
  return [];
}
