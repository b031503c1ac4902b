/**
 * A recording's motion time line as a strip of a figure, the same in extract's preview and
 * extract_summary's contact sheet: x is the frame; events are dark blue bands; the statistic per
 * frame is a bar (orange where the frame moves, grey where not), clipped at `headroom` times the
 * threshold, which is a yellow line; event onsets white ticks; dropped detections red ticks.
 */
import type { Canvas, Rgb } from "./canvas.js";

const EVENT: Rgb = [20, 30, 80];
const MOVING: Rgb = [255, 150, 0];
const STILL: Rgb = [150, 150, 150];
const THRESHOLD: Rgb = [230, 220, 40];
const ONSET: Rgb = [255, 255, 255];
const DROPPED: Rgb = [240, 40, 40];

export interface MotionStrip {
  /** Top edge, width and height of the strip (it starts at x = 0). */
  top: number;
  width: number;
  height: number;
  /** Height of a bar at the clip (the strip's height less a margin above). */
  barHeight: number;
  values: ArrayLike<number>;
  threshold: number;
  /** The bars' clip, in thresholds. */
  headroom: number;
  /** Whether frame i moves (default: its value is above the threshold). */
  moving?: (i: number) => boolean;
  /** Each event's band, in `colour` (default dark blue). */
  events: readonly { start: number; end: number; onset?: number | null; colour?: Rgb }[];
  /** Draw each event's onset as a tick. */
  onsets?: boolean;
  dropped: readonly { onset: number | null }[];
}

export function drawMotionStrip(c: Canvas, s: MotionStrip): void {
  const n = Math.max(1, s.values.length);
  const fx = (i: number): number => Math.floor((i * s.width) / n);
  const span = (a: number, b: number): number => Math.max(fx(b) - fx(a), 1);
  const moving = s.moving ?? ((i: number) => s.values[i]! > s.threshold);
  const bottom = s.top + s.height;
  for (const e of s.events) c.rect(fx(e.start), s.top, span(e.start, e.end), s.height, e.colour ?? EVENT);
  const full = Math.max(s.headroom * s.threshold, 1e-9);
  for (let i = 0; i < s.values.length; i++) {
    const h = Math.round(Math.min(1, s.values[i]! / full) * s.barHeight);
    c.rect(fx(i), bottom - h, span(i, i + 1), h, moving(i) ? MOVING : STILL);
  }
  c.rect(0, bottom - Math.round(s.barHeight / s.headroom), s.width, 1, THRESHOLD);
  if (s.onsets) for (const e of s.events) if (e.onset !== null && e.onset !== undefined) c.rect(fx(e.onset), s.top, 2, s.height, ONSET);
  for (const d of s.dropped) if (d.onset !== null) c.rect(fx(d.onset), s.top, 2, 8, DROPPED);
}
