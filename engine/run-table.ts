/**
 * Several recorded runs as one table: the params that differ between them and every number in
 * the meta of stages that run once, each later run's figures with their difference from the first run. `dag compare
 * --markdown` prints it; `dag report` shows it.
 */
import type { RunRecord } from "../cache/records.js";
import type { Store } from "../cache/store.js";
import { canonicalJson } from "./hash.js";
import { formatDuration, formatNumber, summarizeRun, type RunSummary } from "./runs.js";

export interface TableRow {
  /** `<stage>.<param path>` or `<stage> <output>.<meta key>`. */
  name: string;
  /** One value per run, in the runs' order; undefined where a run lacks it. */
  values: unknown[];
}

export interface RunTable {
  runs: RunSummary[];
  params: TableRow[];
  figures: TableRow[];
}

/** `path -> value` for each leaf of a JSON value (arrays are leaves: a list of regions is one param). */
function leaves(value: unknown, path: string, out: Map<string, unknown>): void {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${k}`, out);
  } else out.set(path, value);
}

export function runTable(store: Store, runs: RunRecord[]): RunTable {
  const summaries = runs.map((r) => summarizeRun(store, r, true));
  const paramsPerRun = runs.map((r) => {
    const flat = new Map<string, unknown>();
    for (const [stage, entry] of Object.entries(r.stages)) leaves(entry.params, stage, flat);
    return flat;
  });
  const paramNames = [...new Set(paramsPerRun.flatMap((m) => [...m.keys()]))];
  const params = paramNames
    .map((name) => ({ name, values: paramsPerRun.map((m) => m.get(name)) }))
    .filter((row) => new Set(row.values.map((v) => (v === undefined ? "(unset)" : canonicalJson(v)))).size > 1);
  const figureNames: string[] = [];
  const figuresPerRun = summaries.map((s) => {
    const byName = new Map<string, number>();
    for (const h of s.headlines) {
      const name = `${h.stage} ${h.output}.${h.key}`;
      if (!figureNames.includes(name)) figureNames.push(name);
      byName.set(name, h.value);
    }
    return byName;
  });
  const figures = figureNames.map((name) => ({ name, values: figuresPerRun.map((m) => m.get(name)) }));
  return { runs: summaries, params, figures };
}

export const runLabel = (r: { id: string; name?: string }): string => r.name ?? r.id;

/** A later run's figure beside the first run's: `0.9038 (-0.0481)`. */
export function withDelta(value: unknown, first: unknown): string {
  if (typeof value !== "number") return value === undefined ? "" : canonicalJson(value);
  if (typeof first !== "number" || value === first) return formatNumber(value);
  const d = Number((value - first).toPrecision(4));
  return `${formatNumber(value)} (${d > 0 ? "+" : ""}${formatNumber(d)})`;
}

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function markdownTable(head: string[], rows: string[][]): string {
  return [`| ${head.map(cell).join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

/** The table as Markdown: the runs, the params that differ, the figures with deltas from the first run. */
export function formatMarkdown(t: RunTable): string {
  const names = t.runs.map(runLabel);
  const show = (v: unknown): string => (v === undefined ? "(unset)" : canonicalJson(v));
  const parts = [
    `# ${names.join(" vs ")}`,
    markdownTable(
      ["run", "id", "started", "ran", "cached", "took"],
      t.runs.map((r) => [runLabel(r), r.id, r.startedAt, String(r.ran), String(r.cached), formatDuration(r.durationMs)]),
    ),
    "## Params that differ",
    t.params.length ? markdownTable(["param", ...names], t.params.map((p) => [p.name, ...p.values.map(show)])) : "None: the runs had the same params.",
    "## Figures",
    t.figures.length
      ? markdownTable(["figure", ...names.map((n, i) => (i ? `${n} (change from ${names[0]})` : n))], t.figures.map((f) => [f.name, ...f.values.map((v, i) => (i ? withDelta(v, f.values[0]) : withDelta(v, undefined)))]))
      : "None: no stage that runs once put numbers in its meta.",
  ];
  return `${parts.join("\n\n")}\n`;
}
