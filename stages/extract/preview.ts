/**
 * extract's picture for a person: the first frame with the crop (green) and the bladder point
 * (red cross), and under it the recording's time line: how much changed per frame (grey bars,
 * the motion threshold as a yellow line), moving frames (orange), events (blue bands) and
 * dropped detections (red ticks). Enlarged for small frames, so a 148-px recording is readable.
 */
import type { Rect } from "../../lib/image/ops.js";
import { Canvas, type Rgb } from "../../lib/image/canvas.js";
import { TEXT_HEIGHT } from "../../lib/image/font.js";
import { drawMotionStrip } from "../../lib/image/motion-strip.js";

const GREEN: Rgb = [40, 220, 60];
const RED: Rgb = [240, 40, 40];
const ORANGE: Rgb = [255, 150, 0];
const BLUE: Rgb = [60, 110, 255];
const WHITE: Rgb = [255, 255, 255];

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
  const c = new Canvas(width, height, [24, 24, 24]);
  c.text(2, 2, p.title, WHITE);

  for (let y = 0; y < frameH; y++) {
    for (let x = 0; x < p.cols * scale; x++) {
      const v = p.frame[Math.floor(y / scale) * p.cols + Math.floor(x / scale)]!;
      c.pixel(x, top + y, [v, v, v]);
    }
  }
  const t = Math.max(1, Math.floor(scale / 2));
  const { crop } = p;
  c.frame(crop.left * scale, top + crop.top * scale, crop.width * scale, crop.height * scale, GREEN, t);
  if (p.bladder.found) {
    const cx = p.bladder.x * scale + Math.floor(scale / 2);
    const cy = top + p.bladder.y * scale + Math.floor(scale / 2);
    const arm = 3 * scale;
    c.rect(cx - arm, cy - t, 2 * arm + 1, 2 * t + 1, RED);
    c.rect(cx - t, cy - arm, 2 * t + 1, 2 * arm + 1, RED);
  }

  // Time line: x = frame, bars = changed fraction (the top = 4 x the threshold, clipped).
  const y0 = top + frameH + 6;
  const n = p.changed.length;
  drawMotionStrip(c, { top: y0, width, height: STRIP, barHeight: STRIP - 6, values: p.changed, threshold: p.changeFraction, headroom: 4, moving: (i) => p.moving[i]! > 0, events: p.events, dropped: p.dropped });

  let ly = y0 + STRIP + 3;
  c.text(2, ly, `CROP ${crop.width}X${crop.height} AT (${crop.left},${crop.top})${p.bladder.found ? `  BLADDER (${p.bladder.x},${p.bladder.y})` : "  NO BLADDER"}`, GREEN);
  ly += TEXT_HEIGHT + 3;
  c.text(2, ly, `${p.events.length} EVENTS: ${p.events.map((e) => e.start).join(" ") || "-"}`, BLUE);
  ly += TEXT_HEIGHT + 3;
  c.text(2, ly, `MOVING FRAMES: ${p.moving.reduce((a, b) => a + b, 0)} OF ${n}, DROPPED: ${p.dropped.length}`, ORANGE);
  return { pixels: c.data, width, height };
}
