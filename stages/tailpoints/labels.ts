/**
 * The labels file of tracked events: a CSV with a header `file,label[,recording]`, one row per
 * tracks file. `file` may be the file's name, its name without extension, or its path as the
 * pipeline's glob matched it; `label` 0 = spontaneous, 1 = prey.
 */
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { parseCsv } from "../../lib/csv.js";

export interface EventLabel {
  label: 0 | 1;
  recording: string | null;
}

export function readLabels(path: string): Map<string, EventLabel> {
  const rows = parseCsv(readFileSync(path, "utf8"), `tailpoints: labels file ${path}`);
  const head = rows[0]?.cells.map((h) => h.toLowerCase()) ?? [];
  const fileCol = head.indexOf("file");
  const labelCol = head.indexOf("label");
  const recCol = head.indexOf("recording");
  if (fileCol < 0 || labelCol < 0) throw new Error(`tailpoints: labels file ${path} needs a header with columns file,label[,recording]; it has: ${rows[0]?.cells.join(",") ?? "nothing"}`);
  const out = new Map<string, EventLabel>();
  rows.slice(1).forEach(({ cells: row, line }) => {
    const label = Number(row[labelCol]);
    if (label !== 0 && label !== 1) throw new Error(`tailpoints: labels file ${path}, line ${line}: label must be 0 (spontaneous) or 1 (prey), got ${JSON.stringify(row[labelCol])}`);
    out.set(row[fileCol]!, { label, recording: recCol >= 0 && row[recCol] ? row[recCol]! : null });
  });
  return out;
}

/** The label of a tracks file whose item id is `id` (its path relative to the pipeline). */
export function labelFor(labels: Map<string, EventLabel>, id: string): EventLabel | undefined {
  const name = basename(id);
  return labels.get(id) ?? labels.get(name) ?? labels.get(name.slice(0, name.length - extname(name).length));
}
