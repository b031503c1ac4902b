/**
 * One picture for the whole run: a row per recording (grouped by class) with its motion trace
 * (the statistic per frame as bars, orange above the threshold, the threshold a yellow line),
 * its events (blue bands, the onset a white tick) and dropped detections (red ticks). Tuning
 * detection for a rig is one look at it.
 */
import { Canvas, type Rgb } from "../../lib/image/canvas.js";
import { TEXT_HEIGHT } from "../../lib/image/font.js";
import { className, type ExtractReport } from "./summary.js";

const WIDTH = 900;
const LABEL = TEXT_HEIGHT + 3;
const STRIP = 30;
const ROW = LABEL + STRIP + 6;
const BACKGROUND: Rgb = [24, 24, 24];
const EVENT: Rgb = [20, 30, 80];
const SEPARATOR: Rgb = [50, 50, 50];
const MOVING: Rgb = [255, 150, 0];
const STILL: Rgb = [150, 150, 150];
const THRESHOLD: Rgb = [230, 220, 40];
const ONSET: Rgb = [255, 255, 255];
const WARNING: Rgb = [240, 40, 40];

export function drawContact(reports: ExtractReport[]): Canvas {
  const sorted = [...reports].sort((a, b) => className(a).localeCompare(className(b)) || a.recording.localeCompare(b.recording));
  const c = new Canvas(WIDTH, 4 + ROW * Math.max(1, sorted.length), BACKGROUND);
  sorted.forEach((r, k) => {
    const y0 = 4 + k * ROW;
    const onsets = r.events.filter((e) => e.onset !== null).map((e) => e.onset).join(" ");
    const head = `${r.recording} ${className(r).toUpperCase()} ${r.events.length} EV${onsets ? ` ONSETS ${onsets}` : ""}`;
    const tail = r.crop?.tail?.past_crop ? "  TAIL PAST CROP" : "";
    c.text(2, y0, r.no_bout ? `${head}  NO BOUT${r.events.length ? " (FALLBACK WINDOW)" : ""}${tail}` : `${head}${tail}`, r.no_bout || tail ? WARNING : ONSET);
    const top = y0 + LABEL;
    const values = r.trace?.values ?? [];
    const n = Math.max(1, values.length);
    const fx = (i: number): number => Math.floor((i * WIDTH) / n);
    const span = (a: number, b: number): number => Math.max(fx(b) - fx(a), 1);
    const threshold = r.trace?.threshold ?? 0;
    for (const e of r.events) c.rect(fx(e.start), top, span(e.start, e.end), STRIP, EVENT);
    // Bars: the top of the strip is 3 x the threshold (clipped), the threshold a third of the way up.
    const full = Math.max(3 * threshold, 1e-9);
    for (let i = 0; i < values.length; i++) {
      const h = Math.round(Math.min(1, values[i]! / full) * (STRIP - 2));
      c.rect(fx(i), top + STRIP - h, span(i, i + 1), h, values[i]! > threshold ? MOVING : STILL);
    }
    c.rect(0, top + STRIP - Math.round((STRIP - 2) / 3), WIDTH, 1, THRESHOLD);
    for (const e of r.events) if (e.onset !== null) c.rect(fx(e.onset), top, 2, STRIP, ONSET);
    for (const d of r.dropped) if (d.onset !== null) c.rect(fx(d.onset), top, 2, 8, WARNING);
    c.rect(0, top + STRIP + 2, WIDTH, 1, SEPARATOR);
  });
  return c;
}
