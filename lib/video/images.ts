/**
 * Still images (PNG, TIFF) as grey frames: 8-bit as they are, 16-bit kept at full depth (the
 * caller decides how to bring a whole recording down to 8 bits), colour turned to luma.
 * A multi-page TIFF gives one frame per page.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { PNG } from "pngjs";
import UTIF from "utif2";

export interface GreyImage {
  width: number;
  height: number;
  /** 8 or 16 bits per pixel, row-major. */
  data: Uint8Array | Uint16Array;
}

export const IMAGE_EXTENSIONS = [".png", ".tif", ".tiff"] as const;

export function isImagePath(path: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

/** ITU-R BT.601 luma, as OpenCV's cvtColor(RGB2GRAY) and FFmpeg's gray conversion use. */
function luma(rgba: ArrayLike<number>, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = Math.round(0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!);
  return out;
}

/** Every 4th value from RGBA data whose R = G = B (grey images that a decoder expanded). */
function firstChannel<T extends Uint8Array | Uint16Array>(rgba: ArrayLike<number>, pixels: number, out: T): T {
  for (let i = 0; i < pixels; i++) out[i] = rgba[4 * i]!;
  return out;
}

function decodePng(buffer: Buffer): GreyImage {
  // skipRescale keeps 16-bit values; depths under 8 are rescaled to 0..255 by a normal read.
  let png = PNG.sync.read(buffer, { skipRescale: true });
  const { width, height } = png;
  const depth = (png as unknown as { depth: number }).depth;
  if (depth < 8) png = PNG.sync.read(buffer);
  const pixels = width * height;
  const grey = png.colorType === 0 || png.colorType === 4;
  if (depth === 16) {
    const data = png.data as unknown as Uint16Array;
    if (grey) return { width, height, data: firstChannel(data, pixels, new Uint16Array(pixels)) };
    // Colour at 16 bits: luma of the high bytes is as precise as a grey recording needs.
    const high = new Uint8Array(4 * pixels);
    for (let i = 0; i < high.length; i++) high[i] = data[i]! >> 8;
    return { width, height, data: luma(high, pixels) };
  }
  return { width, height, data: grey ? firstChannel(png.data, pixels, new Uint8Array(pixels)) : luma(png.data, pixels) };
}

function tagNumber(ifd: UTIF.IFD, tag: string, fallback: number): number {
  const v = ifd[tag] as number[] | undefined;
  return Array.isArray(v) && typeof v[0] === "number" ? v[0] : fallback;
}

function decodeTiffPage(buffer: Buffer, ifd: UTIF.IFD): GreyImage {
  UTIF.decodeImage(buffer, ifd);
  const { width, height } = ifd;
  const pixels = width * height;
  if (!(width > 0 && height > 0) || !ifd.data) throw new Error("a page has no image data (the file is truncated or its directory is damaged)");
  // 262 photometric (0 WhiteIsZero, 1 BlackIsZero), 258 bits per sample, 277 samples per pixel.
  const photometric = tagNumber(ifd, "t262", 1);
  const bits = tagNumber(ifd, "t258", 1);
  const samples = tagNumber(ifd, "t277", 1);
  const data = ifd.data;
  if ((photometric === 0 || photometric === 1) && samples === 1 && (bits === 8 || bits === 16)) {
    const invert = photometric === 0;
    if (bits === 8) {
      if (data.length < pixels) throw new Error(`a page holds ${data.length} bytes, expected ${pixels}`);
      const out = data.slice(0, pixels);
      if (invert) for (let i = 0; i < pixels; i++) out[i] = 255 - out[i]!;
      return { width, height, data: out };
    }
    if (data.length < 2 * pixels) throw new Error(`a page holds ${data.length} bytes, expected ${2 * pixels}`);
    // UTIF leaves 16-bit samples little-endian (it swaps big-endian files).
    const out = new Uint16Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = data[2 * i]! | (data[2 * i + 1]! << 8);
    if (invert) for (let i = 0; i < pixels; i++) out[i] = 65535 - out[i]!;
    return { width, height, data: out };
  }
  const rgba = UTIF.toRGBA8(ifd);
  return { width, height, data: photometric === 0 || photometric === 1 ? firstChannel(rgba, pixels, new Uint8Array(pixels)) : luma(rgba, pixels) };
}

/**
 * UTIF fills missing strips with zeros instead of failing: check that every strip (273/279) or
 * tile (324/325) lies inside the file, so a truncated TIFF is an error and not a black band.
 */
function checkExtents(ifd: UTIF.IFD, size: number): void {
  for (const [offsetsTag, countsTag, what] of [["t273", "t279", "strip"], ["t324", "t325", "tile"]] as const) {
    const offsets = ifd[offsetsTag] as number[] | undefined;
    const counts = ifd[countsTag] as number[] | undefined;
    if (!Array.isArray(offsets) || !Array.isArray(counts)) continue;
    offsets.forEach((offset, k) => {
      const end = offset + (counts[k] ?? 0);
      if (end > size) throw new Error(`${what} ${k + 1} of ${offsets.length} ends at byte ${end}, past the end of the file (${size} bytes): the file is truncated`);
    });
  }
}

function decodeTiff(buffer: Buffer): GreyImage[] {
  // Sub-IFDs (thumbnails, previews) are not pages: only the main chain is read.
  const ifds = UTIF.decode(buffer).filter((ifd) => tagNumber(ifd, "t254", 0) !== 1);
  if (ifds.length === 0) throw new Error("no image in the file");
  return ifds.map((ifd, i) => {
    try {
      checkExtents(ifd, buffer.length);
      return decodeTiffPage(buffer, ifd);
    } catch (error) {
      throw new Error(`page ${i + 1} of ${ifds.length}: ${describe(error)}`);
    }
  });
}

/** Decoders throw strings and odd objects: make a sentence. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}

/** The grey frames of a PNG (one) or a TIFF (one per page). Errors name the file and the cause. */
export function readImageFrames(path: string): GreyImage[] {
  const ext = extname(path).toLowerCase();
  let buffer: Buffer;
  try {
    buffer = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read image ${path}: ${describe(error)}`);
  }
  try {
    if (ext === ".png") return [decodePng(buffer)];
    if (ext === ".tif" || ext === ".tiff") return decodeTiff(buffer);
  } catch (error) {
    throw new Error(`cannot decode ${ext.slice(1).toUpperCase()} image ${path} (${buffer.length} bytes): ${describe(error)}; the file is damaged or incomplete: export it again`);
  }
  throw new Error(`${path} is not a PNG or TIFF image (by its extension)`);
}
