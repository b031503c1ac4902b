/** A small RGB canvas for report pictures: boxes, outlines and the 5x7 font's text. */
import { drawText, TEXT_HEIGHT } from "./font.js";

export type RGB = readonly [number, number, number];
export const GREEN: RGB = [40, 220, 60];
export const RED: RGB = [240, 40, 40];
export const ORANGE: RGB = [255, 150, 0];
export const BLUE: RGB = [60, 110, 255];
export const YELLOW: RGB = [230, 220, 40];
export const GREY: RGB = [150, 150, 150];
export const WHITE: RGB = [255, 255, 255];

export class Canvas {
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
