/**
 * extract's picture for a person: the first frame with the crop (green) and the bladder point
 * (red cross), and under it the recording's time line: how much changed per frame (grey bars,
 * the motion threshold as a yellow line), moving frames (orange), events (blue bands) and
 * dropped detections (red ticks). Enlarged for small frames, so a 148-px recording is readable.
 */
import type { Rect } from "../../lib/image/ops.js";
import { drawText, TEXT_HEIGHT } from "../../lib/image/font.js";

type RGB = readonly [number, number, number];
const GREEN: RGB = [40, 220, 60];
const RED: RGB = [240, 40, 40];
const ORANGE: RGB = [255, 150, 0];
const BLUE: RGB = [60, 110, 255];
const YELLOW: RGB = [230, 220, 40];
const GREY: RGB = [150, 150, 150];
const WHITE: RGB = [255, 255, 255];

class Canvas {
  readonly pixels: Uint8Array;
  constructor(readonly width: number, readonly height: number, background = 24) {
    this.pixels = new Uint8Array(width * height * 3).fill(background);
  }

  set(x: number, y: number, c: RGB): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(c, 3 * (y * this.width + x));
  }

  box(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++) for (let x = Math.max(0, x0); x < Math.min(this.width, x1); x++) this.set(x, y, c);
  }

  outline(x0: number, y0: number, x1: number, y1: number, t: number, c: RGB): void {
    this.box(x0, y0, x1, y0 + t, c);
    this.box(x0, y1 - t, x1, y1, c);
    this.box(x0, y0, x0 + t, y1, c);
    this.box(x1 - t, y0, x1, y1, c);
  }

  /** Text through the grey 5x7 font: drawn into a mask, then painted. */
  text(x: number, y: number, s: string, c: RGB): void {
    const mask = new Uint8Array(this.width * (TEXT_HEIGHT + 1));
    drawText(mask, this.width, x, 0, s, 255, this.width - x);
    for (let r = 0; r < TEXT_HEIGHT; r++) for (let col = 0; col < this.width; col++) if (mask[r * this.width + col]) this.set(col, y + r, c);
  }
}

export interface PreviewInput {
  frame: Uint8Array;
  rows: number;
  cols: number;
  crop: Rect;
  bladder: { found: boolean; x: number; y: number };
  /** Fraction changed per frame, the threshold on it, and the moving flags. */
  changed: Float64Array;
  changeFraction: number;
  moving: Uint8Array;
  events: { start: number; end: number }[];
  dropped: { onset: number | null }[];
  title: string;
}

const STRIP = 48;

export function drawPreview(p: PreviewInput): { pixels: Uint8Array; width: number; height: number } {
  const scale = Math.max(1, Math.min(4, Math.floor(512 / p.cols)));
  const width = Math.max(p.cols * scale, 240);
  const top = TEXT_HEIGHT + 4;
  const frameH = p.rows * scale;
  const height = top + frameH + 6 + STRIP + 3 * (TEXT_HEIGHT + 3);
  const c = new Canvas(width, height);
  c.text(2, 2, p.title, WHITE);

  for (let y = 0; y < frameH; y++) {
    for (let x = 0; x < p.cols * scale; x++) {
      const v = p.frame[Math.floor(y / scale) * p.cols + Math.floor(x / scale)]!;
      c.set(x, top + y, [v, v, v]);
    }
  }
  const t = Math.max(1, Math.floor(scale / 2));
  const { crop } = p;
  c.outline(crop.left * scale, top + crop.top * scale, (crop.left + crop.width) * scale, top + (crop.top + crop.height) * scale, t, GREEN);
  if (p.bladder.found) {
    const cx = p.bladder.x * scale + Math.floor(scale / 2);
    const cy = top + p.bladder.y * scale + Math.floor(scale / 2);
    const arm = 3 * scale;
    c.box(cx - arm, cy - t, cx + arm + 1, cy + t + 1, RED);
    c.box(cx - t, cy - arm, cx + t + 1, cy + arm + 1, RED);
  }

  // Time line: x = frame, bars = changed fraction (the top = 4 x the threshold, clipped).
  const y0 = top + frameH + 6;
  const n = p.changed.length;
  const fx = (i: number): number => Math.floor((i * width) / Math.max(1, n));
  for (const e of p.events) c.box(fx(e.start), y0, Math.max(fx(e.end), fx(e.start) + 1), y0 + STRIP, [20, 30, 80]);
  const full = Math.max(4 * p.changeFraction, 1e-6);
  for (let i = 0; i < n; i++) {
    const h = Math.round(Math.min(1, p.changed[i]! / full) * (STRIP - 6));
    c.box(fx(i), y0 + STRIP - h, Math.max(fx(i + 1), fx(i) + 1), y0 + STRIP, p.moving[i] ? ORANGE : GREY);
  }
  const ty = y0 + STRIP - Math.round(0.25 * (STRIP - 6));
  c.box(0, ty, width, ty + 1, YELLOW);
  for (const d of p.dropped) if (d.onset !== null) c.box(fx(d.onset), y0, fx(d.onset) + 2, y0 + 8, RED);

  let ly = y0 + STRIP + 3;
  c.text(2, ly, `CROP ${crop.width}X${crop.height} AT (${crop.left},${crop.top})${p.bladder.found ? `  BLADDER (${p.bladder.x},${p.bladder.y})` : "  NO BLADDER"}`, GREEN);
  ly += TEXT_HEIGHT + 3;
  c.text(2, ly, `${p.events.length} EVENTS: ${p.events.map((e) => e.start).join(" ") || "-"}`, BLUE);
  ly += TEXT_HEIGHT + 3;
  c.text(2, ly, `MOVING FRAMES: ${p.moving.reduce((a, b) => a + b, 0)} OF ${n}, DROPPED: ${p.dropped.length}`, ORANGE);
  return { pixels: c.pixels, width, height };
}
