/**
 * `dag report`: one self-contained HTML page of one or more recorded runs. The engine knows
 * nothing of what the stages make; it shows what they left in the cache, generically:
 * - the pipeline as a graph, each stage coloured by whether it ran or came from the cache, with times;
 * - for several runs, the params that differ and every figure with its change from the first run;
 * - per stage with few tasks (the once-run stages, a small grid): its numbers, its Markdown
 *   (images inlined from the same output), its other PNG figures, runs side by side, and the
 *   charts its kind offers in `stages/<kind>/report-hints.ts` (Vega-Lite specs, rendered here to SVG).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ArtifactRecord, RunRecord, RunStageEntry } from "../../cache/records.js";
import type { Store } from "../../cache/store.js";
import type { Pipeline } from "../pipeline.js";
import { formatDuration } from "../runs.js";
import { runLabel, runTable, withDelta, type RunTable } from "../run-table.js";
import type { Json, JsonObject, ReportHints } from "../stage-api.js";
import { renderChart } from "./charts.js";
import { dataUri, esc, markdown, page, sideBySide, table } from "./html.js";

/** Stages with more tasks than this (per-recording, per-event) are summarised, not shown item by item. */
const MAX_ITEMS = 8;

type StageState = "ran" | "cached" | "mixed" | "failed" | "absent";

function stageState(entry: RunStageEntry | undefined): { state: StageState; ran: number; cached: number; failed: number; ms: number } {
  const tasks = Object.values(entry?.tasks ?? {});
  const ran = tasks.filter((t) => t.source === "ran");
  const failed = tasks.filter((t) => t.source === "failed" || t.source === "skipped").length;
  const cached = tasks.filter((t) => t.source === "cached").length;
  const ms = ran.reduce((sum, t) => sum + (t.ms ?? 0), 0);
  const state: StageState = !entry ? "absent" : failed ? "failed" : ran.length && cached ? "mixed" : ran.length ? "ran" : "cached";
  return { state, ran: ran.length, cached, failed, ms };
}

/** Stages in pipeline order, then any that only the runs know (a stage since removed). */
function stageOrder(pipeline: Pipeline | undefined, runs: RunRecord[]): string[] {
  const names = pipeline ? pipeline.stages.map((s) => s.name) : [];
  for (const r of runs) for (const s of Object.keys(r.stages)) if (!names.includes(s)) names.push(s);
  return names;
}

function graph(pipeline: Pipeline | undefined, runs: RunRecord[], order: string[]): string {
  const level = new Map<string, number>();
  for (const name of order) {
    const upstream = Object.values(pipeline?.byName.get(name)?.inputs ?? {}).flatMap((b) => (b.source === "stage" ? [b.stage] : []));
    level.set(name, Math.max(0, ...upstream.map((u) => (level.get(u) ?? 0) + 1)));
  }
  const columns: string[][] = [];
  for (const name of order) (columns[level.get(name)!] ??= []).push(name);
  const box = (name: string): string => {
    const node = pipeline?.byName.get(name);
    const from = Object.values(node?.inputs ?? {}).flatMap((b) => (b.source === "stage" ? [b.stage] : []));
    const lines = runs.map((r) => {
      const s = stageState(r.stages[name]);
      const what = s.state === "absent" ? "not in this run" : `${s.ran ? `${s.ran} ran${s.ms ? `, ${formatDuration(s.ms)}` : ""}` : ""}${s.ran && s.cached ? "; " : ""}${s.cached ? `${s.cached} cached` : ""}${s.failed ? `; ${s.failed} failed` : ""}`;
      return `<span class="chip ${s.state}">${runs.length > 1 ? `${esc(runLabel(r))}: ` : ""}${esc(what)}</span>`;
    });
    return `<div class="stage"><b>${esc(name)}</b>${node && node.kindName !== name ? `<span class="muted">${esc(node.kindName)}</span><br>` : ""}${from.length ? `<span class="muted">from ${esc([...new Set(from)].join(", "))}</span><br>` : ""}${lines.join("<br>")}</div>`;
  };
  const legend = `<p class="legend"><span class="chip ran">ran</span><span class="chip cached">from the cache</span><span class="chip mixed">some of each</span><span class="chip failed">failed</span> times are task time (summed over a stage's tasks)</p>`;
  return `${legend}<div class="graph">${columns.map((c) => `<div class="level">${c.map(box).join("")}</div>`).join("")}</div>`;
}

async function timingChart(runs: RunRecord[], order: string[]): Promise<string> {
  const rows = runs.flatMap((r) => order.flatMap((stage) => {
    const s = stageState(r.stages[stage]);
    return s.state === "absent" ? [] : [{ run: runLabel(r), stage, seconds: s.ms / 1000, state: s.state }];
  }));
  return renderChart(
    {
      width: 520,
      height: { step: runs.length > 1 ? 10 : 16 },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "stage", type: "nominal", sort: order, title: null },
        ...(runs.length > 1 ? { yOffset: { field: "run", type: "nominal", sort: runs.map(runLabel) }, color: { field: "run", type: "nominal", sort: runs.map(runLabel) } } : { color: { field: "state", type: "nominal", title: "stage", scale: { domain: ["ran", "mixed", "cached", "failed"], range: ["#e8913a", "#8e7cc3", "#57a773", "#d64545"] } } }),
        x: { field: "seconds", type: "quantitative", title: "task time of what ran (s)" },
      },
    },
    rows,
  );
}

/** A small table: one row per figure, a column per run, each with its change from the first run (bold: changed; up or down is no verdict). */
function figureTable(t: RunTable, rows: RunTable["figures"], label: (name: string) => string): string {
  const names = t.runs.map(runLabel);
  const cls = (v: unknown, first: unknown): string => (typeof v === "number" && typeof first === "number" && v !== first ? (v > first ? "num up" : "num down") : "num");
  return table(
    ["", ...names.map(esc)],
    rows.map((f) => [esc(label(f.name)), ...f.values.map((v, i) => `<span class="${cls(v, i ? f.values[0] : v)}">${esc(i ? withDelta(v, f.values[0]) : withDelta(v, undefined))}</span>`)]),
  );
}

function comparison(t: RunTable): string {
  const show = (v: unknown): string => (v === undefined ? "(unset)" : JSON.stringify(v));
  const params = t.params.length ? table(["param", ...t.runs.map((r) => esc(runLabel(r)))], t.params.map((p) => [esc(p.name), ...p.values.map((v) => `<code>${esc(show(v))}</code>`)])) : "<p>The runs had the same params.</p>";
  const changed = t.figures.filter((f) => f.values.some((v) => v !== f.values[0]));
  return `<h3>Params that differ</h3>${params}<h3>Figures that changed</h3>${changed.length ? figureTable(t, changed, (n) => n) : "<p>None.</p>"}`;
}

async function loadHints(pipeline: Pipeline | undefined, stage: string): Promise<ReportHints> {
  const node = pipeline?.byName.get(stage);
  if (!node) return {};
  const path = join(dirname(node.modulePath), "report-hints.js");
  if (!existsSync(path)) return {};
  return ((await import(pathToFileURL(path).href)) as { default?: ReportHints }).default ?? {};
}

/** The artifact each task of a stage made for one output, by item id. */
function artifacts(store: Store, entry: RunStageEntry | undefined): Map<string, Record<string, ArtifactRecord>> {
  const found = new Map<string, Record<string, ArtifactRecord>>();
  for (const [item, task] of Object.entries(entry?.tasks ?? {})) {
    const record = store.readTask(task.key);
    if (!record) continue;
    const outputs: Record<string, ArtifactRecord> = {};
    for (const [name, out] of Object.entries(record.outputs)) if (out.type === "artifact") outputs[name] = out;
    found.set(item, outputs);
  }
  return found;
}

async function stageSection(store: Store, pipeline: Pipeline | undefined, runs: RunRecord[], t: RunTable, stage: string): Promise<string> {
  const perRun = runs.map((r) => artifacts(store, r.stages[stage]));
  const items = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort();
  if (!items.length || items.length > MAX_ITEMS) return "";
  const hints = await loadHints(pipeline, stage);
  const node = pipeline?.byName.get(stage);
  const parts: string[] = [];
  const figures = t.figures.filter((f) => f.name.startsWith(`${stage} `));
  if (figures.length) parts.push(figureTable(t, figures, (n) => n.slice(stage.length + 1)));
  for (const item of items) {
    const blocks: string[] = [];
    for (const chart of hints.charts ?? []) {
      const svgs = await Promise.all(perRun.map(async (m, i) => {
        const art = m.get(item)?.[chart.output];
        if (!art) return { label: runLabel(runs[i]!), body: "<p class=\"muted\">(not in this run)</p>" };
        const ref = chart.file ? art.files[chart.file] : undefined;
        if (chart.file && (!ref || !existsSync(store.blobPath(ref.hash)))) return { label: runLabel(runs[i]!), body: `<p class="muted">(${esc(chart.file)} is not in the cache any more)</p>` };
        const data = (ref ? JSON.parse(readFileSync(store.blobPath(ref.hash), "utf8")) : art.meta) as Json;
        const rows = chart.rows ? chart.rows(data) : (data as JsonObject[]);
        return { label: runLabel(runs[i]!), body: `<div class="figure">${await renderChart(chart.spec, rows)}</div>` };
      }));
      blocks.push(`<h3>${esc(chart.title)}</h3>${sideBySide(svgs)}`);
    }
    // Markdown first (with the images it names), then the PNGs no Markdown showed.
    const outputs = [...new Set(perRun.flatMap((m) => Object.keys(m.get(item) ?? {})))];
    for (const output of outputs) {
      const docs = perRun.map((m, i) => {
        const art = m.get(item)?.[output];
        const files = Object.values(art?.files ?? {}).filter((f) => existsSync(store.blobPath(f.hash)));
        const images = new Map(files.filter((f) => extname(f.path ?? "") === ".png").map((f) => [f.path!, store.blobPath(f.hash)]));
        const used = new Set<string>();
        const md = files.filter((f) => extname(f.path ?? "") === ".md").map((f) => markdown(readFileSync(store.blobPath(f.hash), "utf8"), images, used)).join("");
        const rest = [...images].filter(([, path]) => !used.has(path)).map(([name, path]) => `<figure class="figure"><img src="${dataUri(path, "image/png")}" alt="${esc(name)}"><figcaption class="muted">${esc(name)}</figcaption></figure>`);
        return { label: runLabel(runs[i]!), body: art ? md + rest.join("") : "<p class=\"muted\">(not in this run)</p>", shows: Boolean(md || rest.length) };
      });
      // An output of numbers only (its meta is in the table above) has nothing more to show.
      if (docs.some((d) => d.shows)) blocks.push(sideBySide(docs));
    }
    if (blocks.length) parts.push(`${items.length > 1 || item ? `<h3>${esc(item)}</h3>` : ""}${blocks.join("")}`);
  }
  if (!parts.length) return "";
  const description = node?.kind.description;
  return `<section id="stage-${esc(stage)}"><h2>${esc(stage)}${node && node.kindName !== stage ? ` <span class="muted">(${esc(node.kindName)})</span>` : ""}</h2>${description ? `<p class="muted">${esc(description)}</p>` : ""}${parts.join("")}</section>`;
}

/** The whole page for these runs (the first is the baseline of every change shown). */
export async function buildReport(store: Store, pipeline: Pipeline | undefined, runs: RunRecord[]): Promise<string> {
  const t = runTable(store, runs);
  const order = stageOrder(pipeline, runs);
  const title = `dag report: ${runs.map(runLabel).join(" vs ")}`;
  const head = table(
    ["run", "id", "started", "tasks", "took", ""],
    t.runs.map((r) => [esc(runLabel(r)), `<code>${esc(r.id)}</code>`, esc(r.startedAt), `${r.ran} ran, ${r.cached} cached${r.failed ? `, ${r.failed} failed` : ""}`, esc(formatDuration(r.durationMs)), r.ok ? "ok" : "<b>FAILED</b>"]),
  );
  const sections: string[] = [];
  for (const stage of order) sections.push(await stageSection(store, pipeline, runs, t, stage));
  const shown = order.filter((_, i) => sections[i]);
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="muted">Made by <code>dag report</code> on ${esc(new Date().toISOString())}${pipeline ? ` from ${esc(pipeline.file)}` : ""}. One file: it opens without a network.</p>`,
    head,
    `<nav>${["pipeline", ...(runs.length > 1 ? ["differences"] : []), ...shown].map((s) => `<a href="#${s === "pipeline" || s === "differences" ? s : `stage-${esc(s)}`}">${esc(s)}</a>`).join("")}</nav>`,
    `<section id="pipeline"><h2>Pipeline</h2>${graph(pipeline, runs, order)}<div class="figure">${await timingChart(runs, order)}</div></section>`,
    runs.length > 1 ? `<section id="differences"><h2>What differs from ${esc(runLabel(runs[0]!))}</h2>${comparison(t)}</section>` : "",
    ...sections,
  ];
  return page(title, body.join("\n"));
}
