/**
 * One picture for the whole run: a row per recording (grouped by class) with its motion trace
 * (the statistic per frame as bars, orange above the threshold, the threshold a yellow line),
 * its events (blue bands, the onset a white tick) and dropped detections (red ticks). Tuning
 * detection for a rig is one look at it.
 */
import { Canvas, type Rgb } from "../../lib/image/canvas.js";
import { TEXT_HEIGHT } from "../../lib/image/font.js";
import { drawMotionStrip } from "../../lib/image/motion-strip.js";
import { className, type ExtractReport } from "./summary.js";

const WIDTH = 900;
const LABEL = TEXT_HEIGHT + 3;
const STRIP = 30;
const ROW = LABEL + STRIP + 6;
const BACKGROUND: Rgb = [24, 24, 24];
const SEPARATOR: Rgb = [50, 50, 50];
const TITLE: Rgb = [255, 255, 255];
const WARNING: Rgb = [240, 40, 40];

export function drawContact(reports: ExtractReport[]): Canvas {
  const sorted = [...reports].sort((a, b) => className(a).localeCompare(className(b)) || a.recording.localeCompare(b.recording));
  const c = new Canvas(WIDTH, 4 + ROW * Math.max(1, sorted.length), BACKGROUND);
  sorted.forEach((r, k) => {
    const y0 = 4 + k * ROW;
    const onsets = r.events.filter((e) => e.onset !== null).map((e) => e.onset).join(" ");
    const head = `${r.recording} ${className(r).toUpperCase()} ${r.events.length} EV${onsets ? ` ONSETS ${onsets}` : ""}`;
    const tail = r.crop?.tail?.past_crop ? "  TAIL PAST CROP" : "";
    c.text(2, y0, r.no_bout ? `${head}  NO BOUT${r.events.length ? " (FALLBACK WINDOW)" : ""}${tail}` : `${head}${tail}`, r.no_bout || tail ? WARNING : TITLE);
    const top = y0 + LABEL;
    // Bars: the top of the strip is 3 x the threshold (clipped), the threshold a third of the way up.
    drawMotionStrip(c, { top, width: WIDTH, height: STRIP, barHeight: STRIP - 2, values: r.trace?.values ?? [], threshold: r.trace?.threshold ?? 0, headroom: 3, events: r.events, onsets: true, dropped: r.dropped });
    c.rect(0, top + STRIP + 2, WIDTH, 1, SEPARATOR);
  });
  return c;
}
