/**
 * Recordings stored as folders of still frames (PNG or TIFF, one file per frame, or multi-page
 * TIFFs). A pipeline's glob yields files, not folders, so a folder is named by one file in it:
 *
 *  - a manifest (`frames.txt`): frame files one per line, relative to the manifest, in order;
 *    lines may be glob patterns (`*.tif`, sorted naturally); blank lines and `#` comments are
 *    skipped; an empty manifest means every PNG / TIFF in its folder;
 *  - the folder's first frame (`0000.png`): the recording is every file of the folder with that
 *    extension, in natural order (frame2 before frame10).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join } from "node:path";
import { globSync } from "tinyglobby";
import { isImagePath, readImageFrames, type GreyImage } from "./images.js";

/** Natural order: digits compare as numbers, so frame2 < frame10. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true, sensitivity: "variant" });
}

function imagesIn(dir: string, ext?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(`cannot list the frame folder ${dir}: ${(error as Error).message}`);
  }
  return names
    .filter((n) => (ext ? extname(n).toLowerCase() === ext : isImagePath(n)))
    .sort(naturalCompare)
    .map((n) => join(dir, n));
}

const GLOB_CHARS = /[*?[\]{}]/;

/** The frame files a manifest lists, in order. */
export function manifestFrames(manifest: string): string[] {
  const dir = dirname(manifest);
  let text: string;
  try {
    text = readFileSync(manifest, "utf8");
  } catch (error) {
    throw new Error(`cannot read the frame list ${manifest}: ${(error as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text && !l.text.startsWith("#"));
  if (lines.length === 0) {
    const all = imagesIn(dir);
    if (all.length === 0) throw new Error(`the frame list ${manifest} is empty and its folder holds no PNG or TIFF file: list the frames, one file per line`);
    return all;
  }
  const frames: string[] = [];
  for (const { text: entry, line } of lines) {
    if (GLOB_CHARS.test(entry)) {
      const matched = globSync(entry, { cwd: dir, absolute: true, onlyFiles: true }).sort(naturalCompare);
      if (matched.length === 0) throw new Error(`${manifest}, line ${line}: no file matches "${entry}" (relative to ${dir})`);
      frames.push(...matched);
    } else {
      frames.push(isAbsolute(entry) ? entry : join(dir, entry));
    }
  }
  const unsupported = frames.find((f) => !isImagePath(f));
  if (unsupported) throw new Error(`${manifest} lists ${unsupported}, which is not a PNG or TIFF file`);
  return frames;
}

/**
 * The frames of the folder whose first frame is `first`. Any other frame of the folder is an
 * error: each recording must be matched once, by its first frame, or it would be read N times.
 */
export function folderFrames(first: string): string[] {
  const dir = dirname(first);
  const frames = imagesIn(dir, extname(first).toLowerCase());
  const index = frames.findIndex((f) => basename(f) === basename(first));
  if (index > 0) {
    const firstName = basename(frames[0]!);
    throw new Error(
      `${first} is frame ${index + 1} of the ${frames.length} ${extname(first)} files in ${dir}, not its first (${firstName}): ` +
        `a folder of frames is one recording, so the glob must match one file per folder, its first frame (e.g. "**/${firstName}") or a frames.txt; ` +
        `or set the read stage's images to "file" to make every image a recording of its own`,
    );
  }
  if (index < 0) throw new Error(`${first} is not in its folder listing`);
  return frames;
}

export type SixteenBit = "minmax" | "high_byte";

export interface FrameStack {
  frames: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  /** Bits per pixel of the files (8 or 16). */
  depth: 8 | 16;
  /** For 16-bit files brought down with minmax: the value range mapped to 0..255. */
  range16?: [number, number];
}

/**
 * Decodes frame files into one stack. Every frame must have the first one's size. 16-bit files
 * come down to 8 bits by `sixteen` ("minmax": the recording's own range maps linearly to 0..255,
 * which keeps the most contrast and the same mapping for every frame; "high_byte": v >> 8).
 */
export function readFrameFiles(paths: string[], sixteen: SixteenBit = "minmax", signal?: AbortSignal): FrameStack {
  if (paths.length === 0) throw new Error("no frame files to read");
  const images: GreyImage[] = [];
  const sources: string[] = [];
  for (const path of paths) {
    if (signal?.aborted) throw new Error("cancelled");
    for (const image of readImageFrames(path)) {
      images.push(image);
      sources.push(path);
    }
  }
  const { width: cols, height: rows } = images[0]!;
  const wide = images.map((im) => im.data instanceof Uint16Array);
  images.forEach((im, i) => {
    if (im.width !== cols || im.height !== rows) {
      throw new Error(`frame ${i + 1} (${sources[i]}) is ${im.width}x${im.height}, but the first frame (${sources[0]}) is ${cols}x${rows}: every frame of a recording must have the same size`);
    }
    if (wide[i] !== wide[0]) {
      throw new Error(`frame ${i + 1} (${sources[i]}) is ${wide[i] ? 16 : 8}-bit, but the first frame (${sources[0]}) is ${wide[0] ? 16 : 8}-bit: export every frame at one bit depth`);
    }
  });
  const size = rows * cols;
  if (!wide[0]) {
    const frames = new Uint8Array(images.length * size);
    images.forEach((im, i) => frames.set(im.data as Uint8Array, i * size));
    return { frames, count: images.length, rows, cols, depth: 8 };
  }
  const values = new Uint16Array(images.length * size);
  images.forEach((im, i) => values.set(im.data as Uint16Array, i * size));
  return { ...sixteenToEight(values, sixteen), count: images.length, rows, cols, depth: 16 };
}

/**
 * 16-bit values to 8 bits, one mapping for the whole recording: "minmax" maps its own range
 * linearly to 0..255 (the most contrast; a 12-bit camera's 0..4095 is not left near black),
 * "high_byte" keeps v >> 8.
 */
export function sixteenToEight(values: Uint16Array, sixteen: SixteenBit): { frames: Uint8Array; range16?: [number, number] } {
  const frames = new Uint8Array(values.length);
  if (sixteen === "high_byte") {
    for (let p = 0; p < values.length; p++) frames[p] = values[p]! >> 8;
    return { frames };
  }
  let lo = 65535;
  let hi = 0;
  for (let p = 0; p < values.length; p++) {
    const v = values[p]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let p = 0; p < values.length; p++) frames[p] = Math.round((values[p]! - lo) * scale);
  return { frames, range16: [lo, hi] };
}
