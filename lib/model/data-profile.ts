/**
 * Simple statistics of samples (brightness, the fish's size in the crop, flow magnitude per
 * region), kept with a model as the training data's distribution, so that new data unlike it
 * can be named: a network shown a brighter rig or a larger fish still answers, confidently.
 */
import type { StreamSample } from "./input.js";

/**
 * What each statistic measures, for the warning that names it, and the least difference that
 * matters (its unit's resolution here): a corner where the training data had no flow at all has a
 * range near 0, and 0.04 px of noise flow beside it is no new kind of data.
 */
export const STATISTICS: Record<string, { what: string; floor: number }> = {
  brightness: { what: "mean grey level of the spatial frame, 0-255", floor: 4 },
  fish_size: { what: "share of the spatial frame darker than mid-grey, % of the crop", floor: 0.5 },
};

/** The flow regions: a 3 x 3 grid of the crop. */
const GRID = [
  ["top-left", "top", "top-right"],
  ["left", "centre", "right"],
  ["bottom-left", "bottom", "bottom-right"],
] as const;
for (const name of GRID.flat()) STATISTICS[`flow_${name}`] = { what: `mean flow magnitude in the ${name} ninth of the crop, px per frame pair`, floor: 0.1 };

/** The statistics of one sample (as the network reads it: its selected flow channels). */
export function sampleStatistics(s: StreamSample): Record<string, number> {
  const plane = s.rows * s.cols;
  let sum = 0;
  let dark = 0;
  for (let p = 0; p < plane; p++) {
    const v = s.spatial[p]!;
    sum += v;
    if (v < 128) dark++;
  }
  const out: Record<string, number> = { brightness: sum / plane, fish_size: (100 * dark) / plane };
  const cell = (i: number, n: number) => Math.min(2, Math.floor((3 * i) / n));
  const magnitude = new Float64Array(9);
  const count = new Float64Array(9);
  for (let c = 0; c + 1 < s.channels; c += 2) {
    const [xMin, xMax, yMin, yMax] = [s.range[2 * c]!, s.range[2 * c + 1]!, s.range[2 * c + 2]!, s.range[2 * c + 3]!];
    const [xs, ys] = [(xMax - xMin) / 255, (yMax - yMin) / 255];
    for (let r = 0; r < s.rows; r++) {
      const row = 3 * cell(r, s.rows);
      for (let col = 0; col < s.cols; col++) {
        const p = r * s.cols + col;
        const x = xMin + s.flow[c * plane + p]! * xs;
        const y = yMin + s.flow[(c + 1) * plane + p]! * ys;
        const k = row + cell(col, s.cols);
        magnitude[k]! += Math.sqrt(x * x + y * y);
        count[k]!++;
      }
    }
  }
  GRID.flat().forEach((name, k) => (out[`flow_${name}`] = count[k] ? magnitude[k]! / count[k]! : 0));
  return out;
}

/** One statistic over the training samples. */
export interface StatisticRange {
  p01: number;
  p50: number;
  p99: number;
  mean: number;
  sd: number;
}

/** The training data's distribution, as a model file keeps it. */
export interface DataProfile {
  samples: number;
  statistics: Record<string, StatisticRange>;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

const round = (v: number): number => Number(v.toPrecision(6));

export function dataProfile(rows: Record<string, number>[]): DataProfile {
  const statistics: Record<string, StatisticRange> = {};
  for (const name of Object.keys(rows[0] ?? {})) {
    const values = rows.map((r) => r[name]!).sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    statistics[name] = { p01: round(quantile(values, 0.01)), p50: round(quantile(values, 0.5)), p99: round(quantile(values, 0.99)), mean: round(mean), sd: round(sd) };
  }
  return { samples: rows.length, statistics };
}

/** A statistic of a group of new samples outside the training data's range. */
export interface Outlier {
  statistic: string;
  /** The group's median. */
  value: number;
  low: number;
  high: number;
}

/**
 * The statistics whose median over `rows` (one group of new samples: a recording) lies outside
 * the training samples' 1st-99th percentile range, widened on each side by `margin` times its
 * width or the statistic's floor, whichever is more: a recording's median is steadier than a
 * sample, so a held-out recording made like the training ones stays inside, and a shifted one
 * lands far outside.
 */
export function outliers(profile: DataProfile, rows: Record<string, number>[], margin = 0.25): Outlier[] {
  const out: Outlier[] = [];
  if (rows.length === 0) return out;
  for (const [statistic, range] of Object.entries(profile.statistics)) {
    const values = rows.map((r) => r[statistic]).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    if (!values.length) continue;
    const value = quantile(values, 0.5);
    const widen = Math.max(margin * (range.p99 - range.p01), STATISTICS[statistic]?.floor ?? 0);
    const [low, high] = [range.p01 - widen, range.p99 + widen];
    if (value < low || value > high) out.push({ statistic, value: round(value), low: round(low), high: round(high) });
  }
  return out;
}
