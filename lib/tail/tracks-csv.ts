/**
 * Tail points tracked by DeepLabCut or SLEAP, read from their CSV exports.
 *
 * DeepLabCut (single animal): three header rows, then one row per frame:
 *   scorer,    DLC_resnet50_..., DLC_resnet50_..., DLC_resnet50_..., ...
 *   bodyparts, tail0,            tail0,            tail0,            tail1, ...
 *   coords,    x,                y,                likelihood,       x, ...
 *   0,         12.1,             64.0,             0.99,             ...
 * Multi-animal projects add an `individuals` row after `scorer`.
 *
 * SLEAP (File > Export Analysis CSV, or `sleap-convert --format analysis.csv`): one header row,
 * then one row per instance and frame:
 *   track, frame_idx, instance.score, tail0.x, tail0.y, tail0.score, tail1.x, ...
 * Missing points are empty cells or NaN.
 */
import { parseCsv } from "../csv.js";

export type TrackFormat = "deeplabcut" | "sleap";

export interface Tracks {
  format: TrackFormat;
  frames: number;
  /** Body parts (nodes) in the order the points are stored. */
  parts: string[];
  /** frames x parts x (x, y); NaN where missing. */
  xy: Float64Array;
  /** frames x parts: likelihood (DeepLabCut) or score (SLEAP); NaN where missing. */
  score: Float64Array;
}

export interface TrackOptions {
  /** Body parts from the tail's base to its tip; null: every part, in the file's order. */
  bodyparts: string[] | null;
  /** DeepLabCut multi-animal: the individual; SLEAP: the track. null: the only one. */
  individual: string | null;
}

export function detectFormat(rows: string[][], what: string): TrackFormat {
  const first = rows[0]?.[0]?.toLowerCase();
  if (first === "scorer") return "deeplabcut";
  if (rows[0]?.includes("frame_idx")) return "sleap";
  throw new Error(`${what}: neither a DeepLabCut CSV (first cell "scorer") nor a SLEAP analysis CSV (a "frame_idx" column); its first row: ${JSON.stringify(rows[0]?.slice(0, 6))}`);
}

function number(cell: string | undefined): number {
  if (cell === undefined || cell === "") return NaN;
  const v = Number(cell);
  return Number.isFinite(v) ? v : NaN;
}

function chooseParts(available: string[], wanted: string[] | null, what: string): string[] {
  if (wanted === null) return available;
  const missing = wanted.filter((p) => !available.includes(p));
  if (missing.length) throw new Error(`${what}: no body part ${missing.map((m) => JSON.stringify(m)).join(", ")}; the file has: ${available.join(", ")}`);
  return wanted;
}

function chooseOne(kind: string, available: string[], wanted: string | null, what: string): string {
  if (wanted !== null) {
    if (!available.includes(wanted)) throw new Error(`${what}: no ${kind} ${JSON.stringify(wanted)}; the file has: ${available.join(", ")}`);
    return wanted;
  }
  if (available.length !== 1) throw new Error(`${what}: the file holds ${available.length} ${kind}s (${available.join(", ")}): name one with the \`individual\` param`);
  return available[0]!;
}

export function readDeepLabCut(rows: string[][], o: TrackOptions, what: string): Tracks {
  const multi = rows[1]?.[0]?.toLowerCase() === "individuals";
  const header = multi ? 4 : 3;
  const partsRow = rows[header - 2];
  const coordsRow = rows[header - 1];
  const individualsRow = multi ? rows[1]! : undefined;
  if (!partsRow || partsRow[0]?.toLowerCase() !== "bodyparts" || !coordsRow || coordsRow[0]?.toLowerCase() !== "coords") {
    throw new Error(`${what}: a DeepLabCut CSV needs header rows scorer, [individuals,] bodyparts, coords`);
  }
  const individual = individualsRow ? chooseOne("individual", [...new Set(individualsRow.slice(1))], o.individual, what) : null;
  // Column of (part, coord) for the chosen individual.
  const column = new Map<string, number>();
  for (let c = 1; c < coordsRow.length; c++) {
    if (individualsRow && individualsRow[c] !== individual) continue;
    column.set(`${partsRow[c]}\u0000${coordsRow[c]}`, c);
  }
  const available = [...new Set(partsRow.slice(1).filter((_, i) => !individualsRow || individualsRow[i + 1] === individual))];
  const parts = chooseParts(available, o.bodyparts, what);
  const body = rows.slice(header);
  const frames = body.length;
  const xy = new Float64Array(frames * parts.length * 2);
  const score = new Float64Array(frames * parts.length);
  parts.forEach((part, k) => {
    const cx = column.get(`${part}\u0000x`);
    const cy = column.get(`${part}\u0000y`);
    const cl = column.get(`${part}\u0000likelihood`);
    if (cx === undefined || cy === undefined) throw new Error(`${what}: body part ${part} has no x and y columns`);
    body.forEach((row, f) => {
      xy[2 * (f * parts.length + k)] = number(row[cx]);
      xy[2 * (f * parts.length + k) + 1] = number(row[cy]);
      score[f * parts.length + k] = cl === undefined ? 1 : number(row[cl]);
    });
  });
  return { format: "deeplabcut", frames, parts, xy, score };
}

export function readSleap(rows: string[][], o: TrackOptions, what: string): Tracks {
  const head = rows[0]!;
  const col = (name: string): number => head.indexOf(name);
  const frameCol = col("frame_idx");
  const trackCol = col("track");
  const instanceCol = col("instance.score");
  const available = head.filter((h) => h.endsWith(".x")).map((h) => h.slice(0, -2));
  const parts = chooseParts(available, o.bodyparts, what);
  const body = rows.slice(1);
  const tracks = trackCol < 0 ? [""] : [...new Set(body.map((r) => r[trackCol] ?? ""))];
  const track = chooseOne("track", tracks, o.individual, what);
  const mine = body.filter((r) => trackCol < 0 || (r[trackCol] ?? "") === track);
  if (mine.length === 0) throw new Error(`${what}: no rows for track ${JSON.stringify(track)}`);
  const frameOf = mine.map((r) => number(r[frameCol]));
  if (frameOf.some((f) => !Number.isInteger(f) || f < 0)) throw new Error(`${what}: frame_idx must hold whole numbers >= 0`);
  const first = Math.min(...frameOf);
  const frames = Math.max(...frameOf) - first + 1;
  const xy = new Float64Array(frames * parts.length * 2).fill(NaN);
  const score = new Float64Array(frames * parts.length).fill(NaN);
  const bestInstance = new Float64Array(frames).fill(-Infinity);
  mine.forEach((row, i) => {
    const f = frameOf[i]! - first;
    // Several instances of one track in a frame: keep the most confident.
    const s = instanceCol < 0 ? 0 : number(row[instanceCol]);
    if (!(s > bestInstance[f]!) && bestInstance[f] !== -Infinity) return;
    bestInstance[f] = Number.isNaN(s) ? 0 : s;
    parts.forEach((part, k) => {
      xy[2 * (f * parts.length + k)] = number(row[col(`${part}.x`)]);
      xy[2 * (f * parts.length + k) + 1] = number(row[col(`${part}.y`)]);
      const sc = col(`${part}.score`);
      score[f * parts.length + k] = sc < 0 ? 1 : number(row[sc]);
    });
  });
  return { format: "sleap", frames, parts, xy, score };
}

export function readTracks(text: string, o: TrackOptions, format: TrackFormat | "auto", what: string): Tracks {
  const rows = parseCsv(text, what).map((r) => r.cells);
  if (rows.length < 2) throw new Error(`${what}: the CSV holds ${rows.length} row(s), no tracked frames`);
  const f = format === "auto" ? detectFormat(rows, what) : format;
  const tracks = f === "deeplabcut" ? readDeepLabCut(rows, o, what) : readSleap(rows, o, what);
  if (tracks.parts.length < 3) throw new Error(`${what}: ${tracks.parts.length} body part(s) (${tracks.parts.join(", ")}); the tail features need at least 3 points from base to tip`);
  return tracks;
}
