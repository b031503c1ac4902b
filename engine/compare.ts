/**
 * `dag compare A B`: what differs between two recorded runs, stage by stage: params, how many
 * tasks had other keys, which outputs came out different, and for a stage that runs once (an
 * evaluation, a report) how its outputs' meta changed. The engine knows nothing of what the meta
 * means; a stage that puts its headline figures in its meta gets them compared.
 */
import type { Store } from "../cache/store.js";
import type { RunRecord, TaskOutput } from "../cache/records.js";
import { diffValues } from "./status.js";

export interface StageComparison {
  stage: string;
  /** Present in one run only. */
  only?: "a" | "b";
  params: string[];
  tasks: { same: number; changed: number; onlyA: number; onlyB: number };
  /** Output name -> whether the two runs produced the same content. */
  outputs: Record<string, boolean>;
  /** For a stage with one task: `<output> <meta key>: a -> b` for each changed meta value. */
  meta: string[];
}

export interface RunComparison {
  a: { id: string; name?: string };
  b: { id: string; name?: string };
  stages: StageComparison[];
}

/** The newest run with this name, or the run with this id (or a unique id prefix). */
export function findRun(store: Store, ref: string): RunRecord {
  const runs = [...store.runsNewestFirst()];
  const byName = runs.find((r) => r.name === ref);
  if (byName) return byName;
  const byId = runs.filter((r) => r.id.startsWith(ref));
  if (byId.length === 1) return byId[0]!;
  const names = [...new Set(runs.flatMap((r) => (r.name ? [r.name] : [])))];
  if (byId.length > 1) throw new Error(`run "${ref}" is ambiguous: ${byId.length} run ids begin with it; give more of the id`);
  throw new Error(
    `no run named or with id "${ref}"; ${names.length ? `named runs: ${names.join(", ")}` : "no named runs yet"} (name one with dag run --name NAME; ${runs.length} runs recorded)`,
  );
}

function artifactMeta(output: TaskOutput | undefined): Record<string, unknown> | undefined {
  return output?.type === "artifact" ? output.meta : undefined;
}

export function compareRuns(store: Store, a: RunRecord, b: RunRecord): RunComparison {
  const names = [...new Set([...Object.keys(a.stages), ...Object.keys(b.stages)])];
  const stages = names.map((stage): StageComparison => {
    const sa = a.stages[stage];
    const sb = b.stages[stage];
    const tasks = { same: 0, changed: 0, onlyA: 0, onlyB: 0 };
    const empty = { stage, params: [], tasks, outputs: {}, meta: [] };
    if (!sa || !sb) return { ...empty, only: sa ? "a" : "b" };
    for (const [item, ta] of Object.entries(sa.tasks)) {
      const tb = sb.tasks[item];
      if (!tb) tasks.onlyA++;
      else if (ta.key === tb.key) tasks.same++;
      else tasks.changed++;
    }
    tasks.onlyB = Object.keys(sb.tasks).filter((item) => !(item in sa.tasks)).length;
    const outputs: Record<string, boolean> = {};
    for (const name of new Set([...Object.keys(sa.outputs), ...Object.keys(sb.outputs)])) outputs[name] = sa.outputs[name] === sb.outputs[name];

    const meta: string[] = [];
    const [itemA, itemB] = [Object.keys(sa.tasks), Object.keys(sb.tasks)];
    if (itemA.length === 1 && itemB.length === 1 && tasks.changed === 1) {
      const [ra, rb] = [store.readTask(sa.tasks[itemA[0]!]!.key), store.readTask(sb.tasks[itemB[0]!]!.key)];
      if (ra && rb) {
        for (const name of Object.keys(ra.outputs)) meta.push(...diffValues(`${name} `, artifactMeta(ra.outputs[name]), artifactMeta(rb.outputs[name]), "", true));
      }
    }
    return { stage, params: diffValues("", sa.params, sb.params), tasks, outputs, meta };
  });
  return { a: { id: a.id, name: a.name }, b: { id: b.id, name: b.name }, stages };
}

/** The comparison as lines for people. */
export function formatComparison(c: RunComparison): string {
  const label = (r: { id: string; name?: string }) => (r.name ? `${r.name} (${r.id})` : r.id);
  const width = Math.max(...c.stages.map((s) => s.stage.length), 5);
  const lines = [`${label(c.a)} -> ${label(c.b)}`];
  for (const s of c.stages) {
    const head = `${s.stage.padEnd(width)}  `;
    if (s.only) {
      lines.push(`${head}only in ${s.only === "a" ? label(c.a) : label(c.b)}`);
      continue;
    }
    const { same, changed, onlyA, onlyB } = s.tasks;
    const total = same + changed + onlyA + onlyB;
    const differing = Object.entries(s.outputs).filter(([, equal]) => !equal).map(([name]) => name);
    if (!s.params.length && !changed && !onlyA && !onlyB && !differing.length) {
      lines.push(`${head}same (${total} ${total === 1 ? "task" : "tasks"})`);
      continue;
    }
    const parts = [
      changed ? `${changed} of ${total} tasks differ` : `same tasks (${total})`,
      ...(onlyA ? [`${onlyA} only in the first`] : []),
      ...(onlyB ? [`${onlyB} only in the second`] : []),
      differing.length ? `outputs differ: ${differing.join(", ")}` : "outputs identical",
    ];
    lines.push(`${head}${parts.join("; ")}`);
    for (const p of s.params) lines.push(`${" ".repeat(width + 2)}  param ${p}`);
    for (const m of s.meta) lines.push(`${" ".repeat(width + 2)}  ${m}`);
  }
  return `${lines.join("\n")}\n`;
}
