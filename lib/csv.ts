/**
 * CSV text as rows of trimmed cells, with the line each row starts on (quoted cells may hold
 * commas, newlines and "" escapes): csv-parse, for every CSV the stages read (labels, tracks).
 * Blank lines are skipped; rows may differ in length. Errors name the file and the line.
 */
import { parse } from "csv-parse/sync";

export interface CsvRow {
  cells: string[];
  /** 1-based line of the file where the row starts. */
  line: number;
}

export function parseCsv(text: string, what: string): CsvRow[] {
  const bytes = Buffer.from(text.replace(/^\uFEFF/, ""), "utf8");
  let records: { record: string[]; info: { bytes: number } }[];
  try {
    records = parse(bytes, { trim: true, relax_column_count: true, info: true }) as unknown as typeof records; // its types omit `info`
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new Error(`${what}, line ${e.lines ?? "?"}: not valid CSV (${e.message.replace(/ at line \d+/, "")})`);
  }
  const rows: CsvRow[] = [];
  let start = 0;
  let line = 1;
  for (const { record, info } of records) {
    // info.bytes: where this record (with its line break) ends, so the next one starts there.
    if (!record.every((c) => c === "")) rows.push({ cells: record, line });
    for (let i = start; i < info.bytes; i++) if (bytes[i] === 0x0a) line++;
    start = info.bytes;
  }
  return rows;
}
