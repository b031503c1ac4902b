/**
 * How far the resting tail reaches from the swim bladder, on the first frames of a recording: so
 * that extract can say when the tail runs past its crop (a fish at another magnification) and
 * size the crop to fit (`crop_size: auto`).
 *
 * The first few frames are reduced to their per-pixel median (the fish rests at the start of a
 * recording, and the median removes camera noise), blurred 3x3, and traced column by column from
 * the bladder's tail-side end towards the tail: in each column the darkest pixel within two rows
 * of the previous column's is tail when it is darker than the background by a tenth of the
 * background-to-bladder contrast (at least 6 grey levels). Three columns in a row without tail end
 * the trace; the last tail column is the tip.
 */
import type { Orientation } from "./bladder.js";
import { frameSize, type Video } from "../video/types.js";

export interface TailExtent {
  /** Columns from the bladder's tail-side end to the tail tip (pixels of the frame). */
  lengthPx: number;
  /** The tip (the last tail column) and its row. */
  tipX: number;
  tipY: number;
  /** The tail runs to the frame's edge: its length is at least lengthPx. */
  atFrameEdge: boolean;
}

const FRAMES = 5;
const GAP = 3;

function medianImage(video: Video, frames: number): Float32Array {
  const size = frameSize(video);
  const out = new Float32Array(size);
  const values = new Float32Array(frames);
  for (let p = 0; p < size; p++) {
    for (let i = 0; i < frames; i++) values[i] = video.frames[i * size + p]!;
    values.sort();
    out[p] = values[frames >> 1]!;
  }
  return out;
}

function boxBlur(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= rows || xx < 0 || xx >= cols) continue;
          sum += src[yy * cols + xx]!;
          n++;
        }
      }
      out[y * cols + x] = sum / n;
    }
  }
  return out;
}

/** The resting tail's extent from the bladder point (x, y); null when no tail leaves the bladder. */
export function tailExtent(video: Video, bladder: { x: number; y: number }, orientation: Orientation): TailExtent | null {
  const { rows, cols } = video;
  if (video.count === 0 || bladder.x < 0) return null;
  const image = boxBlur(medianImage(video, Math.min(FRAMES, video.count)), rows, cols);
  const sorted = Float32Array.from(image).sort();
  const background = sorted[sorted.length >> 1]!;
  const bladderLevel = image[bladder.y * cols + bladder.x]!;
  const threshold = background - Math.max(6, 0.1 * (background - bladderLevel));
  const step = orientation === "head-left" ? 1 : -1;
  let row = bladder.y;
  let tipX = bladder.x;
  let misses = 0;
  for (let x = bladder.x + step; x >= 0 && x < cols; x += step) {
    let best = Infinity;
    let bestRow = row;
    for (let y = Math.max(0, row - 2); y <= Math.min(rows - 1, row + 2); y++) {
      if (image[y * cols + x]! < best) [best, bestRow] = [image[y * cols + x]!, y];
    }
    if (best < threshold) {
      tipX = x;
      row = bestRow;
      misses = 0;
    } else if (++misses >= GAP) break;
  }
  if (tipX === bladder.x) return null;
  return { lengthPx: Math.abs(tipX - bladder.x), tipX, tipY: row, atFrameEdge: tipX === 0 || tipX === cols - 1 };
}
