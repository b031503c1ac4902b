/**
 * Tracked points (DeepLabCut / SLEAP) as tail points: points below the likelihood threshold or
 * missing are filled by linear interpolation over time from the same body part's nearest good
 * frames (held at the ends); an event with too many of them fails, as a tail fit would.
 */
import type { TailPoints } from "./points-file.js";
import type { Tracks } from "./tracks-csv.js";
import { tipCount } from "./angles.js";

export interface TrackPointOptions {
  /** Points with a likelihood / score below this are missing. */
  minScore: number;
  /** Most missing points, as a fraction of all points of the event. */
  maxMissingFraction: number;
  /** Body axis (deg); null: the resting tail's direction in the first frame (base to the mean of its last 20 %). */
  axisDeg: number | null;
}

export type TrackPointsResult = { ok: true; tail: TailPoints; missing: number } | { ok: false; reason: string; missing: number };

export function tracksToTailPoints(t: Tracks, o: TrackPointOptions): TrackPointsResult {
  const n = t.parts.length;
  const xy = Float64Array.from(t.xy);
  const good = new Uint8Array(t.frames * n);
  let missing = 0;
  for (let i = 0; i < t.frames * n; i++) {
    const ok = Number.isFinite(xy[2 * i]!) && Number.isFinite(xy[2 * i + 1]!) && !(t.score[i]! < o.minScore) && !Number.isNaN(t.score[i]!);
    good[i] = ok ? 1 : 0;
    if (!ok) missing++;
  }
  const total = t.frames * n;
  if (missing > o.maxMissingFraction * total) {
    return { ok: false, missing, reason: `tail lost: ${missing} of ${total} tracked points (${((100 * missing) / total).toFixed(1)} %) are missing or below likelihood ${o.minScore} (max_missing_fraction ${o.maxMissingFraction})` };
  }
  const lost: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const frames: number[] = [];
    for (let f = 0; f < t.frames; f++) if (good[f * n + k]) frames.push(f);
    if (frames.length === 0) return { ok: false, missing, reason: `body part ${t.parts[k]} is never tracked with likelihood >= ${o.minScore}` };
    let j = 0;
    for (let f = 0; f < t.frames; f++) {
      if (good[f * n + k]) continue;
      lost.push([f, k]);
      while (j < frames.length && frames[j]! < f) j++;
      const after = frames[Math.min(j, frames.length - 1)]!;
      const before = frames[Math.max(0, j - 1)]!;
      const a = before < f ? before : after;
      const b = after > f ? after : before;
      const w = b === a ? 0 : (f - a) / (b - a);
      for (const c of [0, 1]) xy[2 * (f * n + k) + c] = (1 - w) * xy[2 * (a * n + k) + c]! + w * xy[2 * (b * n + k) + c]!;
    }
  }
  lost.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let axisDeg = o.axisDeg;
  if (axisDeg === null) {
    const m = tipCount(n);
    let mx = 0;
    let my = 0;
    for (let k = n - m; k < n; k++) {
      mx += xy[2 * k]!;
      my += xy[2 * k + 1]!;
    }
    axisDeg = (Math.atan2(my / m - xy[1]!, mx / m - xy[0]!) * 180) / Math.PI;
  }
  return { ok: true, missing, tail: { source: t.format, frames: t.frames, points: n, axisDeg, stepPx: null, xy, lost } };
}
