/**
 * A recording's class, from a CSV (`recording,label`) or from the folders on its path
 * (`spon/`, `prey/`, as the paper's data was sorted). 0 = spontaneous, 1 = prey.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { CLASS_NAMES } from "../../lib/classes.js";
import { parseCsv } from "../../lib/csv.js";

export type Label = 0 | 1;

export interface LabelRow {
  recording: string;
  label: Label;
  /** 1-based line of the CSV, header included. */
  line: number;
}

export interface FoundLabel {
  label: Label;
  /** Where it came from, for the meta and for messages: "labels.csv line 4", "folder prey". */
  from: string;
}

const WORDS: Record<string, Label> = { "0": 0, spontaneous: 0, spon: 0, "1": 1, prey: 1 };

function slashes(path: string): string {
  return path.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
}

/** Parses the labels CSV: a header with `recording` and `label` columns (any order, any case). */
export function readLabelCsv(path: string): LabelRow[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the labels file ${path}: ${(error as Error).message}`);
  }
  const rows = parseCsv(text, `the labels file ${path}`);
  const head = rows[0]?.cells.map((h) => h.toLowerCase()) ?? [];
  const recCol = head.indexOf("recording");
  const labelCol = head.indexOf("label");
  if (recCol < 0 || labelCol < 0) {
    const first = rows[0]?.cells.join(",") ?? "(empty file)";
    const other = rows[0]?.cells.length === 1 ? /[;\t|]/.exec(first)?.[0] : undefined;
    const hint = other ? `; its columns are separated by ${JSON.stringify(other)}: save it with commas (recording,label)` : "";
    throw new Error(`the labels file ${path} needs a header line with the columns recording,label; its first line is: ${first}${hint}`);
  }
  return rows.slice(1).map(({ cells: row, line }) => {
    const word = (row[labelCol] ?? "").toLowerCase();
    const label = WORDS[word];
    if (label === undefined) {
      throw new Error(`the labels file ${path}, line ${line}: label ${JSON.stringify(row[labelCol] ?? "")} is none of spontaneous, spon, 0, prey, 1`);
    }
    const recording = slashes(row[recCol] ?? "");
    if (!recording) throw new Error(`the labels file ${path}, line ${line}: the recording column is empty`);
    return { recording, label, line };
  });
}

/**
 * The names a CSV row may use for a recording whose path (as the glob matched it) is `path`:
 * the path, its name, the name without extension, and for frames (frames.txt, a first frame)
 * the folder; any of them with some of its leading folders (`spon/fish1.avi`).
 */
function matches(entry: string, path: string, isFolder: boolean): boolean {
  const p = slashes(path);
  const stem = p.slice(0, p.length - extname(p).length);
  const folder = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
  const candidates = [p, stem, ...(isFolder && folder ? [folder] : [])];
  return candidates.some((c) => c === entry || c.endsWith(`/${entry}`));
}

export function labelFromCsv(rows: LabelRow[], csvName: string, path: string, isFolder: boolean): FoundLabel | undefined {
  const hits = rows.filter((r) => matches(r.recording, path, isFolder));
  if (hits.length === 0) return undefined;
  if (hits.some((h) => h.label !== hits[0]!.label)) {
    const list = hits.map((h) => `line ${h.line} "${h.recording}" = ${CLASS_NAMES[h.label]}`).join("; ");
    throw new Error(`the labels file ${csvName} gives ${path} both classes (${list}): keep one row for it, or write its path in full`);
  }
  return { label: hits[0]!.label, from: `${csvName} line ${hits.map((h) => h.line).join(", ")}` };
}

/** The nearest folder on the path whose name is a class (case-insensitive). */
export function labelFromFolder(path: string, folders: Record<string, number>): FoundLabel | undefined {
  const names = new Map(Object.entries(folders).map(([k, v]) => [k.toLowerCase(), v]));
  const parts = slashes(path).split("/").slice(0, -1).reverse();
  for (const part of parts) {
    const label = names.get(part.toLowerCase());
    if (label === 0 || label === 1) return { label, from: `folder ${part}` };
  }
  return undefined;
}
