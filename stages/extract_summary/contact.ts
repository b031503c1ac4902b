/**
 * One picture for the whole run: a row per recording (grouped by class) with its motion trace
 * (the statistic per frame as bars, orange above the threshold, the threshold a yellow line),
 * its events (blue bands, the onset a white tick) and dropped detections (red ticks). Tuning
 * detection for a rig is one look at it.
 */
import { Canvas, GREY, ORANGE, RED, WHITE, YELLOW, type RGB } from "../../lib/image/canvas.js";
import { TEXT_HEIGHT } from "../../lib/image/font.js";
import { className, type ExtractReport } from "./summary.js";

const WIDTH = 900;
const LABEL = TEXT_HEIGHT + 3;
const STRIP = 30;
const ROW = LABEL + STRIP + 6;
const EVENT: RGB = [20, 30, 80];
const SEPARATOR: RGB = [50, 50, 50];

export function drawContact(reports: ExtractReport[]): { pixels: Uint8Array; width: number; height: number } {
  const sorted = [...reports].sort((a, b) => className(a).localeCompare(className(b)) || a.recording.localeCompare(b.recording));
  const c = new Canvas(WIDTH, 4 + ROW * Math.max(1, sorted.length));
  sorted.forEach((r, k) => {
    const y0 = 4 + k * ROW;
    const onsets = r.events.filter((e) => e.onset !== null).map((e) => e.onset).join(" ");
    const head = `${r.recording} ${className(r).toUpperCase()} ${r.events.length} EV${onsets ? ` ONSETS ${onsets}` : ""}`;
    const tail = r.crop?.tail?.past_crop ? "  TAIL PAST CROP" : "";
    c.text(2, y0, r.no_bout ? `${head}  NO BOUT${r.events.length ? " (FALLBACK WINDOW)" : ""}${tail}` : `${head}${tail}`, r.no_bout || tail ? RED : WHITE);
    const top = y0 + LABEL;
    const values = r.trace?.values ?? [];
    const n = Math.max(1, values.length);
    const fx = (i: number): number => Math.floor((i * WIDTH) / n);
    const threshold = (i: number): number => {
      const t = r.trace?.threshold ?? 0;
      return typeof t === "number" ? t : t[i] ?? 0;
    };
    for (const e of r.events) c.box(fx(e.start), top, Math.max(fx(e.end), fx(e.start) + 1), top + STRIP, EVENT);
    // Bars: the top of the strip is 3 x the threshold (clipped), the threshold a third of the way up.
    for (let i = 0; i < values.length; i++) {
      const full = Math.max(3 * threshold(i), 1e-9);
      const h = Math.round(Math.min(1, values[i]! / full) * (STRIP - 2));
      c.box(fx(i), top + STRIP - h, Math.max(fx(i + 1), fx(i) + 1), top + STRIP, values[i]! > threshold(i) ? ORANGE : GREY);
      const ty = top + STRIP - Math.round((STRIP - 2) / 3);
      c.box(fx(i), ty, Math.max(fx(i + 1), fx(i) + 1), ty + 1, YELLOW);
    }
    for (const e of r.events) if (e.onset !== null) c.box(fx(e.onset), top, fx(e.onset) + 2, top + STRIP, WHITE);
    for (const d of r.dropped) if (d.onset !== null) c.box(fx(d.onset), top, fx(d.onset) + 2, top + 8, RED);
    c.box(0, top + STRIP + 2, WIDTH, top + STRIP + 3, SEPARATOR);
  });
  return { pixels: c.pixels, width: c.width, height: c.height };
}
