/**
 * Where the relevance lies: each heatmap is reduced to |R| per pixel (summed over flow channels)
 * normalised to sum 1, so every sample weighs the same; groups of samples are averaged. From a
 * group's mean map come the shares of relevance in regions of the frame (the corners that `mask`
 * blanks, the fish's band), each divided by the region's share of the image area, and the share of
 * each flow frame.
 */
import type { Rect } from "../image/ops.js";

/** How the network's input sits in a sample's frame: a centre crop, resized to `input` pixels. */
export interface InputGeometry {
  /** Side of the sample's frame (pixels). */
  frame: number;
  crop: { top: number; left: number; size: number };
  /** Side of the network's input (pixels). */
  input: number;
}

/** A rectangle of the sample's frame in input pixels (clipped), or null when none of it is seen. */
export function frameRectToInput(rect: Rect, g: InputGeometry): Rect | null {
  const scale = g.input / g.crop.size;
  const top = Math.max(0, Math.round((rect.top - g.crop.top) * scale));
  const left = Math.max(0, Math.round((rect.left - g.crop.left) * scale));
  const bottom = Math.min(g.input, Math.round((rect.top + rect.height - g.crop.top) * scale));
  const right = Math.min(g.input, Math.round((rect.left + rect.width - g.crop.left) * scale));
  return bottom > top && right > left ? { top, left, width: right - left, height: bottom - top } : null;
}

/**
 * |R| per pixel over a channels-last heatmap [side, side, channels], normalised to sum 1; and the
 * share of each channel pair (flow frame: x and y). Null when the map holds no relevance.
 */
export function normalisedMap(map: Float32Array, side: number, channels: number): { pixels: Float32Array; frames: Float32Array } | null {
  const pixels = new Float32Array(side * side);
  const frames = new Float32Array(Math.max(1, Math.floor(channels / 2)));
  let total = 0;
  for (let p = 0, i = 0; p < pixels.length; p++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, i++) {
      const v = Math.abs(map[i]!);
      sum += v;
      frames[Math.min(frames.length - 1, c >> 1)]! += v;
    }
    pixels[p] = sum;
    total += sum;
  }
  if (!(total > 0)) return null;
  for (let p = 0; p < pixels.length; p++) pixels[p]! /= total;
  for (let f = 0; f < frames.length; f++) frames[f]! /= total;
  return { pixels, frames };
}

/** Running mean of normalised maps and of the inputs they explain. */
export class GroupMean {
  count = 0;
  readonly pixels: Float64Array;
  readonly frames: Float64Array;
  readonly background: Float64Array;

  constructor(readonly side: number, frames: number) {
    this.pixels = new Float64Array(side * side);
    this.frames = new Float64Array(frames);
    this.background = new Float64Array(side * side);
  }

  add(map: { pixels: Float32Array; frames: Float32Array }, background: Float32Array): void {
    this.count++;
    for (let p = 0; p < this.pixels.length; p++) {
      this.pixels[p]! += map.pixels[p]!;
      this.background[p]! += background[p]!;
    }
    for (let f = 0; f < this.frames.length; f++) this.frames[f]! += map.frames[f]!;
  }

  mean(): { pixels: Float32Array; frames: Float32Array; background: Float32Array } {
    const k = this.count || 1;
    return { pixels: Float32Array.from(this.pixels, (v) => v / k), frames: Float32Array.from(this.frames, (v) => v / k), background: Float32Array.from(this.background, (v) => v / k) };
  }
}

export interface RegionShare {
  name: string;
  /** The region's share of the input's area. */
  area: number;
  /** Its share of the relevance (|R|, mean over the group's samples). */
  relevance: number;
  /** relevance / area: 1 is what an even spread gives; the Clever Hans warning looks at this. */
  ratio: number;
}

/** Shares of relevance in named rectangles (input pixels) of a mean map. */
export function regionShares(pixels: Float32Array, side: number, regions: { name: string; rect: Rect | null }[]): RegionShare[] {
  return regions.map(({ name, rect }) => {
    if (!rect) return { name, area: 0, relevance: 0, ratio: Number.NaN };
    let relevance = 0;
    for (let y = rect.top; y < rect.top + rect.height; y++) for (let x = rect.left; x < rect.left + rect.width; x++) relevance += pixels[y * side + x]!;
    const area = (rect.width * rect.height) / (side * side);
    return { name, area, relevance, ratio: relevance / area };
  });
}

/** The `count` flow frames with the largest shares, largest first. */
export function topFrames(frames: Float32Array, frameIndex: number[], count: number): { frame: number; share: number }[] {
  return [...frames]
    .map((share, i) => ({ frame: frameIndex[i]!, share }))
    .sort((a, b) => b.share - a.share)
    .slice(0, count);
}
