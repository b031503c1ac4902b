/**
 * A small RGB raster for figures: rectangles, scaled images, 5x7 text, colour maps, PNG out.
 * Enough for heatmap panels, colour bars and bar charts without a native canvas.
 */
import { drawText, textWidth, TEXT_HEIGHT } from "./font.js";
import { encodeRgbPng } from "../video/png.js";

export type Rgb = [number, number, number];

export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, 3 * i);
  }

  pixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, 3 * (y * this.width + x));
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.data.set(c, 3 * (yy * this.width + xx));
  }

  /** An outline `thickness` pixels wide, inside the rectangle. */
  frame(x: number, y: number, w: number, h: number, c: Rgb, thickness = 1): void {
    this.rect(x, y, w, thickness, c);
    this.rect(x, y + h - thickness, w, thickness, c);
    this.rect(x, y, thickness, h, c);
    this.rect(x + w - thickness, y, thickness, h, c);
  }

  /** An RGB image `w` x `h` drawn at (x, y), each pixel as a `scale` x `scale` block. */
  image(x: number, y: number, rgb: Uint8Array, w: number, h: number, scale = 1): void {
    for (let r = 0; r < h * scale; r++) {
      for (let c = 0; c < w * scale; c++) {
        const src = 3 * (Math.floor(r / scale) * w + Math.floor(c / scale));
        this.pixel(x + c, y + r, [rgb[src]!, rgb[src + 1]!, rgb[src + 2]!]);
      }
    }
  }

  /** Text in the 5x7 font (upper case), top-left at (x, y), `scale` times its size; a letter that does not fit is left out, not cut. */
  text(x: number, y: number, text: string, c: Rgb = [0, 0, 0], scale = 1): void {
    const w = textWidth(text);
    if (w <= 0) return;
    const mask = new Uint8Array(w * TEXT_HEIGHT);
    drawText(mask, w, 0, 0, text, 1, Math.floor((this.width - x) / scale));
    for (let r = 0; r < TEXT_HEIGHT * scale; r++) {
      for (let cc = 0; cc < w * scale; cc++) if (mask[Math.floor(r / scale) * w + Math.floor(cc / scale)]) this.pixel(x + cc, y + r, c);
    }
  }

  png(): Buffer {
    return encodeRgbPng(this.data, this.width, this.height);
  }
}

export const textSize = (text: string, scale = 1): { width: number; height: number } => ({ width: textWidth(text) * scale, height: TEXT_HEIGHT * scale });

/** A colour map: t in [0, 1] to RGB. */
export type ColourMap = (t: number) => Rgb;

function interpolate(stops: Rgb[]): (t: number) => Rgb {
  return (t) => {
    const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(u));
    const f = u - i;
    const [a, b] = [stops[i]!, stops[i + 1]!];
    return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
  };
}

/** Black-red-yellow-white, perceptually ordered (after matplotlib's "inferno"), for maps >= 0. */
export const inferno: ColourMap = interpolate([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]]);
