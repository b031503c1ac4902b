/** PNG files of grey and RGB images, and contact sheets of frames for a quick look at a stage. */
import { PNG } from "pngjs";
import { drawText, TEXT_HEIGHT } from "../image/font.js";

function encode(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`image holds ${pixels.length} bytes, expected ${width} x ${height} x ${channels}`);
  }
  const colorType = channels === 1 ? 0 : 2;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: false });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}

/** An 8-bit greyscale PNG from row-major pixels. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  return encode(pixels, width, height, 1);
}

/** An 8-bit RGB PNG from row-major, interleaved r, g, b pixels. */
export function encodeRgbPng(pixels: Uint8Array, width: number, height: number): Buffer {
  return encode(pixels, width, height, 3);
}

export interface Tile {
  pixels: Uint8Array;
  width: number;
  height: number;
  label?: string;
}

export interface SheetOptions {
  /** Pixels between tiles and around the sheet (2). */
  gap?: number;
  /** Grey level of the gaps and label strips (48). */
  background?: number;
}

/**
 * Grey tiles in a grid, `columns` wide, each in a cell as large as the largest tile. When any
 * tile has a label, every cell gets a strip above it for a one-line label (5x7 font, upper case).
 */
export function contactSheet(tiles: Tile[], columns: number, options: SheetOptions = {}): { pixels: Uint8Array; width: number; height: number } {
  const gap = options.gap ?? 2;
  const background = options.background ?? 48;
  const cols = Math.max(1, Math.min(Math.floor(columns), tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const cellW = Math.max(0, ...tiles.map((t) => t.width));
  const tileH = Math.max(0, ...tiles.map((t) => t.height));
  const strip = tiles.some((t) => t.label) ? TEXT_HEIGHT + 2 : 0;
  const cellH = tileH + strip;
  const width = gap + cols * (cellW + gap);
  const height = gap + rows * (cellH + gap);
  const pixels = new Uint8Array(width * height).fill(background);
  tiles.forEach((tile, i) => {
    if (tile.pixels.length !== tile.width * tile.height) throw new RangeError(`tile ${i} holds ${tile.pixels.length} pixels, expected ${tile.width} x ${tile.height}`);
    const x0 = gap + (i % cols) * (cellW + gap);
    const y0 = gap + Math.floor(i / cols) * (cellH + gap);
    if (tile.label) drawText(pixels, width, x0 + 1, y0 + 1, tile.label, 255, cellW - 1);
    for (let r = 0; r < tile.height; r++) {
      pixels.set(tile.pixels.subarray(r * tile.width, (r + 1) * tile.width), (y0 + strip + r) * width + x0);
    }
  });
  return { pixels, width, height };
}
