/**
 * Tail points of one event as JSON, the format that `tailfit` and `tailpoints` (DeepLabCut / SLEAP
 * CSV) write and `features` reads:
 *
 *   { "format": "tail-points/1", "source": "tailfit" | "deeplabcut" | "sleap",
 *     "frames": F, "points": N, "axis_deg": 0, "step_px": 2.5 | null,
 *     "xy": [[x0, y0, x1, y1, ...] per frame],   // px, pixel centres at integers, base first
 *     "lost": [[frame, point], ...] }             // points without contrast / below likelihood
 *
 * JSON rather than HDF5: an event's points are small (150 x ~40 x 2 numbers) and any tool reads them.
 */
import { readFileSync, writeFileSync } from "node:fs";

export const TAIL_POINTS_FORMAT = "tail-points/1";

export interface TailPoints {
  source: string;
  frames: number;
  points: number;
  /** Body axis (deg, 0 = +x): the direction angles are measured from. */
  axisDeg: number;
  /** Spacing of the fitted points (px); null for tracked points at anatomical landmarks. */
  stepPx: number | null;
  /** frames x points x (x, y). */
  xy: Float64Array;
  lost: [number, number][];
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

export function writeTailPoints(path: string, t: TailPoints): void {
  const xy: number[][] = [];
  for (let f = 0; f < t.frames; f++) xy.push(Array.from(t.xy.subarray(f * t.points * 2, (f + 1) * t.points * 2), round2));
  const body = { format: TAIL_POINTS_FORMAT, source: t.source, frames: t.frames, points: t.points, axis_deg: round2(t.axisDeg), step_px: t.stepPx, xy, lost: t.lost };
  // One frame per line: diff-able and still compact.
  const text = JSON.stringify({ ...body, xy: [] }).replace('"xy":[]', `"xy":[\n${xy.map((r) => JSON.stringify(r)).join(",\n")}\n]`);
  writeFileSync(path, `${text}\n`);
}

export function readTailPoints(path: string, what = path): TailPoints {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${what}: cannot read tail points (${(error as Error).message}); write them with the tailfit or tailpoints stage`);
  }
  const o = raw as Record<string, unknown>;
  if (o.format !== TAIL_POINTS_FORMAT) throw new Error(`${what}: not a tail points file (format ${JSON.stringify(o.format)}, expected "${TAIL_POINTS_FORMAT}")`);
  const frames = o.frames;
  const points = o.points;
  if (!Number.isInteger(frames) || !Number.isInteger(points) || (frames as number) < 1 || (points as number) < 1) {
    throw new Error(`${what}: "frames" and "points" must be positive integers, got ${JSON.stringify(frames)} and ${JSON.stringify(points)}`);
  }
  const F = frames as number;
  const N = points as number;
  const rows = o.xy;
  if (!Array.isArray(rows) || rows.length !== F) throw new Error(`${what}: "xy" must hold ${F} frames, got ${Array.isArray(rows) ? rows.length : typeof rows}`);
  const xy = new Float64Array(F * N * 2);
  rows.forEach((row: unknown, f) => {
    if (!Array.isArray(row) || row.length !== 2 * N) throw new Error(`${what}: frame ${f} of "xy" must hold ${2 * N} numbers (x, y of ${N} points)`);
    row.forEach((v: unknown, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${what}: frame ${f}, value ${i} of "xy" is ${JSON.stringify(v)}, not a number`);
      xy[f * 2 * N + i] = v;
    });
  });
  const axisDeg = typeof o.axis_deg === "number" ? o.axis_deg : 0;
  const stepPx = typeof o.step_px === "number" ? o.step_px : null;
  const lost = Array.isArray(o.lost) ? (o.lost as [number, number][]) : [];
  return { source: String(o.source ?? "unknown"), frames: F, points: N, axisDeg, stepPx, xy, lost };
}
