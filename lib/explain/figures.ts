/**
 * The explain stage's pictures: grids of mean heatmaps over the mean input frame (the paper's
 * Figure 3 and S16) and bar charts of relevance per flow frame (Figure 4), with colour bars and
 * labels, as PNG.
 */
import { Canvas, inferno, textSize, type Rgb } from "../image/canvas.js";

export interface Panel {
  title: string;
  /** Mean relevance map [side * side] (a share of a sample's relevance per pixel). */
  heat: Float32Array;
  /** Mean input frame [side * side], any scale: shown min-max normalised in grey. */
  background: Float32Array;
}

export interface PanelRow {
  label: string;
  panels: (Panel | null)[];
}

const MARGIN = 10;
const LABEL_W = 80;
const GAP = 6;
const TEXT = 7;

function range(values: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Heat (>= 0) over the grey frame: colour from the map, opacity growing with heat / scale. */
function overlay(p: Panel, side: number, scale: number): Uint8Array {
  const { min, max } = range(p.background);
  const span = max - min || 1;
  const rgb = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    const grey = 40 + 180 * ((p.background[i]! - min) / span);
    const t = scale > 0 ? Math.max(0, Math.min(1, p.heat[i]! / scale)) : 0;
    const colour: Rgb = inferno(t);
    const alpha = Math.min(1, Math.sqrt(t) * 1.2);
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round((1 - alpha) * grey + alpha * colour[c]!);
  }
  return rgb;
}

function colourBar(canvas: Canvas, x: number, y: number, width: number, scale: number, caption: string): void {
  for (let i = 0; i < width; i++) canvas.rect(x + i, y, 1, 10, inferno(i / (width - 1)));
  canvas.frame(x - 1, y - 1, width + 2, 12, [0, 0, 0]);
  const low = "0";
  const high = scale.toPrecision(2);
  canvas.text(x, y + 14, low);
  canvas.text(x + width - textSize(high).width, y + 14, high);
  canvas.text(x + width + 12, y + 2, caption);
}

/**
 * Rows of panels of maps >= 0 sharing one colour scale (the largest value of any panel), a title,
 * row labels and a colour bar. Empty cells (a group with no samples) say so.
 */
export function panelGrid(title: string, rows: PanelRow[], side: number, caption: string): Buffer {
  const zoom = Math.max(1, Math.round(224 / side));
  const cell = side * zoom;
  const columns = Math.max(...rows.map((r) => r.panels.length));
  const width = MARGIN * 2 + LABEL_W + columns * (cell + GAP);
  const height = MARGIN + 2 * TEXT + 8 + rows.length * (cell + TEXT + 8) + 40;
  const canvas = new Canvas(width, height);
  canvas.text(MARGIN, MARGIN, title, [0, 0, 0], 2);
  let scale = 0;
  for (const r of rows) for (const p of r.panels) if (p) for (const v of p.heat) scale = Math.max(scale, v);
  let y = MARGIN + 2 * TEXT + 8;
  for (const r of rows) {
    canvas.text(MARGIN, y + TEXT + 4 + cell / 2, r.label);
    r.panels.forEach((p, i) => {
      const x = MARGIN + LABEL_W + i * (cell + GAP);
      if (!p) {
        canvas.rect(x, y + TEXT + 4, cell, cell, [235, 235, 235]);
        canvas.text(x + 4, y + TEXT + 4 + cell / 2, "no samples");
        return;
      }
      canvas.text(x, y, p.title);
      canvas.image(x, y + TEXT + 4, overlay(p, side, scale), side, side, zoom);
    });
    y += cell + TEXT + 8;
  }
  colourBar(canvas, MARGIN + LABEL_W, y + 6, 200, scale, caption);
  return canvas.png();
}

export interface Series {
  label: string;
  colour: Rgb;
  values: Float32Array;
}

/** Grouped bars: one group per flow frame, one bar per series; y from 0 to the largest value. */
export function frameChart(title: string, series: Series[], frameIndex: number[], yCaption: string): Buffer {
  const groups = frameIndex.length;
  const barW = Math.max(2, Math.min(10, Math.floor(600 / (groups * Math.max(1, series.length)))));
  const groupW = barW * series.length + 3;
  const plotW = groups * groupW;
  const plotH = 200;
  const left = MARGIN + 60;
  const top = MARGIN + 3 * TEXT + 12;
  const width = left + plotW + MARGIN + 160;
  const height = top + plotH + 50;
  const canvas = new Canvas(width, height);
  canvas.text(MARGIN, MARGIN, title, [0, 0, 0], 2);
  canvas.text(MARGIN, MARGIN + 2 * TEXT + 6, yCaption);
  let max = 0;
  for (const s of series) for (const v of s.values) max = Math.max(max, v);
  const yOf = (v: number) => top + plotH - Math.round((max > 0 ? v / max : 0) * plotH);
  canvas.rect(left - 1, top, 1, plotH + 1, [0, 0, 0]);
  canvas.rect(left - 1, top + plotH, plotW + 1, 1, [0, 0, 0]);
  for (const tick of [0, 0.5, 1]) {
    const v = tick * max;
    const y = yOf(v);
    canvas.rect(left - 4, y, 3, 1, [0, 0, 0]);
    const label = v === 0 ? "0" : v.toPrecision(2);
    canvas.text(left - 6 - textSize(label).width, y - 3, label);
  }
  const labelEvery = Math.max(1, Math.ceil(groups / 12));
  frameIndex.forEach((frame, g) => {
    const x0 = left + g * groupW + 1;
    series.forEach((s, k) => {
      const y = yOf(s.values[g]!);
      canvas.rect(x0 + k * barW, y, barW - 1, top + plotH - y, s.colour);
    });
    if (g % labelEvery === 0) canvas.text(x0, top + plotH + 4, String(frame));
  });
  canvas.text(left, top + plotH + 16, "FLOW FRAME (PAIR INDEX OF THE 85)");
  series.forEach((s, k) => {
    const y = top + 10 + k * 14;
    canvas.rect(left + plotW + 12, y, 10, 8, s.colour);
    canvas.text(left + plotW + 26, y, s.label);
  });
  return canvas.png();
}
