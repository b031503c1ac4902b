/**
 * What the tail fitter reads from a frame: a lightly blurred float copy (so that sub-pixel samples
 * are not dominated by camera noise), bilinear samples of it, and the frame's background level and
 * noise, which set the contrast a tail must have.
 */
import { histogram } from "../image/ops.js";

export interface FloatImage {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Separable Gaussian blur (borders replicated); sigma in px, 0 = a plain float copy. */
export function gaussianBlur(src: Uint8Array, rows: number, cols: number, sigma: number, out?: FloatImage): FloatImage {
  const size = rows * cols;
  const dst = out && out.data.length === size ? out : { data: new Float32Array(size), rows, cols };
  if (!(sigma > 0)) {
    for (let i = 0; i < size; i++) dst.data[i] = src[i]!;
    return dst;
  }
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  const tmp = new Float32Array(size);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * src[row + clampIndex(c + k, cols)]!;
      tmp[row + c] = acc;
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * tmp[clampIndex(r + k, rows) * cols + c]!;
      dst.data[r * cols + c] = acc;
    }
  }
  return dst;
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Bilinear sample at (x, y), pixel centres at integers; outside the image the border is replicated. */
export function sample(img: FloatImage, x: number, y: number): number {
  const { data, rows, cols } = img;
  const xc = x < 0 ? 0 : x > cols - 1 ? cols - 1 : x;
  const yc = y < 0 ? 0 : y > rows - 1 ? rows - 1 : y;
  const x0 = Math.min(cols - 2, Math.floor(xc));
  const y0 = Math.min(rows - 2, Math.floor(yc));
  const fx = xc - x0;
  const fy = yc - y0;
  if (cols < 2 || rows < 2) return data[Math.round(yc) * cols + Math.round(xc)]!;
  const i = y0 * cols + x0;
  const top = data[i]! + fx * (data[i + 1]! - data[i]!);
  const bottom = data[i + cols]! + fx * (data[i + cols + 1]! - data[i + cols]!);
  return top + fy * (bottom - top);
}

/**
 * Background level and noise of a grey frame: its median (the tail covers a small part of a crop)
 * and 1.4826 x the median absolute deviation, a noise sigma that the tail's pixels barely move.
 */
export function backgroundStats(frame: Uint8Array): { level: number; sigma: number } {
  const bins = histogram(frame);
  const level = quantileOfBins(bins, frame.length, 0.5);
  const deviations = new Float64Array(256);
  for (let v = 0; v < 256; v++) deviations[Math.abs(v - Math.round(level))]! += bins[v]!;
  return { level, sigma: 1.4826 * quantileOfBins(deviations, frame.length, 0.5) };
}

function quantileOfBins(bins: Float64Array, n: number, q: number): number {
  const target = q * n;
  let seen = 0;
  for (let v = 0; v < bins.length; v++) {
    seen += bins[v]!;
    if (seen >= target) return v;
  }
  return bins.length - 1;
}
