/**
 * One picture per recording: its motion trace (extract's statistic per frame and threshold, as
 * in extract's preview) with each classified event's band in its predicted class's colour, the
 * class and probability written under it, uncertain events outlined in red.
 */
import { Canvas, type Rgb } from "../../lib/image/canvas.js";
import { TEXT_HEIGHT } from "../../lib/image/font.js";
import { drawMotionStrip } from "../../lib/image/motion-strip.js";
import type { EventRow } from "./events.js";

const WIDTH = 900;
const STRIP = 60;
const BACKGROUND: Rgb = [24, 24, 24];
const TEXT: Rgb = [255, 255, 255];
const UNCERTAIN: Rgb = [240, 40, 40];
/** Class colours by label: blue, green, then others. */
const CLASS_COLOURS: Rgb[] = [[40, 90, 200], [30, 150, 60], [160, 60, 160], [190, 120, 20]];

export const classColour = (label: number): Rgb => CLASS_COLOURS[label % CLASS_COLOURS.length]!;

export interface Trace {
  values: number[];
  threshold: number;
}

/** `frames`: the recording's length (the trace's, else the last event's end). */
export function drawRecording(recording: string, events: EventRow[], classes: readonly string[], trace: Trace | null, frames: number, fps: number | null): Canvas {
  const line = TEXT_HEIGHT + 4;
  const c = new Canvas(WIDTH, 4 + 2 * line + STRIP + 2 * line, BACKGROUND);
  const counts = classes.map((name, label) => `${name.toUpperCase()} ${events.filter((e) => e.fused.label === label).length}`).join("  ");
  c.text(2, 4, `${recording}  ${frames} FRAMES${fps ? ` ${fps} FPS` : ""}  ${events.length} BOUTS: ${counts}`, TEXT);
  let x = 2;
  for (const [label, name] of classes.entries()) {
    c.rect(x, 4 + line, 10, TEXT_HEIGHT, classColour(label));
    c.text(x + 14, 4 + line, name.toUpperCase(), TEXT);
    x += 14 + 6 * (name.length + 3);
  }
  c.rect(x, 4 + line, 10, TEXT_HEIGHT, UNCERTAIN);
  c.text(x + 14, 4 + line, "OUTLINE: UNCERTAIN", TEXT);
  const top = 4 + 2 * line;
  const bands = events.filter((e) => e.start !== null && e.end !== null);
  drawMotionStrip(c, {
    top, width: WIDTH, height: STRIP, barHeight: STRIP - 4, values: trace?.values ?? new Array<number>(frames).fill(0), threshold: trace?.threshold ?? 1, headroom: 3,
    events: bands.map((e) => ({ start: e.start!, end: e.end!, onset: e.onset_frame, colour: classColour(e.fused.label) })), onsets: true, dropped: [],
  });
  const fx = (i: number): number => Math.floor((i * WIDTH) / Math.max(1, frames));
  for (const e of bands) {
    const w = Math.max(fx(e.end!) - fx(e.start!), 1);
    if (e.uncertain) c.frame(fx(e.start!), top, w, STRIP, UNCERTAIN, 2);
    c.text(fx(e.start!), top + STRIP + 3, `${e.fused.class.slice(0, 5).toUpperCase()} ${e.fused.p.toFixed(2)}`, e.uncertain ? UNCERTAIN : TEXT);
  }
  return c;
}
