/**
 * One recording, whatever a user has: an HDF5 video, a video file FFmpeg decodes, a folder of
 * PNG / TIFF frames (named by its first frame or a frames.txt), or a multi-page TIFF; returned
 * as one grey Video. Every error names the file and says what is wrong with it.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { basename, extname } from "node:path";
import { folderFrames, manifestFrames, readFrameFiles, type SixteenBit } from "./frames.js";
import { isImagePath } from "./images.js";
import type { Video } from "./types.js";

export type RecordingFormat = "auto" | "hdf5" | "ffmpeg" | "images";

export const HDF5_EXTENSIONS = [".h5", ".hdf5", ".hdf", ".he5"];
export const FFMPEG_EXTENSIONS = [".avi", ".mp4", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"];
export const MANIFEST_EXTENSIONS = [".txt"];

export interface ReadOptions {
  format?: RecordingFormat;
  /** HDF5: the dataset's path; default the file's only 3-D uint8 or uint16 dataset. */
  dataset?: string;
  /** Frames per second. Given, it wins over the file's own rate; required for image frames. */
  fps?: number;
  /** An image file is the first frame of a folder ("folder") or a recording on its own ("file"). */
  images?: "folder" | "file";
  sixteenBit?: SixteenBit;
  signal?: AbortSignal;
}

export interface RecordingSource {
  /** hdf5, ffmpeg, images */
  format: Exclude<RecordingFormat, "auto">;
  /** One line for the log and the meta: codec, dataset, frame files. */
  detail: string;
  /** The frame rate the file states (undefined when it states none). */
  fileFps?: number;
  /** Frame files read (images only). */
  frameFiles?: number;
  bitDepth?: number;
}

export interface Recording {
  video: Video;
  source: RecordingSource;
}

/**
 * What a file's first bytes say it is: files in the engine's store have no extension. HDF5 may
 * sit after a user block (at 512, 1024, ...); only the plain start is checked here.
 */
export function sniffFormat(path: string): "hdf5" | "avi" | undefined {
  const head = Buffer.alloc(12);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    readSync(fd, head, 0, 12, 0);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) return "hdf5";
  if (head.toString("latin1", 0, 4) === "RIFF" && head.toString("latin1", 8, 12) === "AVI ") return "avi";
  return undefined;
}

/** The format of a file by its extension, else by its first bytes; undefined when neither says. */
export function formatOf(path: string): Exclude<RecordingFormat, "auto"> | undefined {
  const ext = extname(path).toLowerCase();
  if (HDF5_EXTENSIONS.includes(ext)) return "hdf5";
  if (FFMPEG_EXTENSIONS.includes(ext)) return "ffmpeg";
  if (MANIFEST_EXTENSIONS.includes(ext) || isImagePath(path)) return "images";
  const sniffed = sniffFormat(path);
  return sniffed === "hdf5" ? "hdf5" : sniffed === "avi" ? "ffmpeg" : undefined;
}

function withFps(video: Video, fileFps: number | undefined, fps: number | undefined, path: string): Video {
  const rate = fps ?? fileFps;
  if (rate === undefined) throw new Error(`${path} states no frame rate: give it with the read stage's fps parameter (frames per second)`);
  return { ...video, fps: rate };
}

async function readHdf5(path: string, options: ReadOptions): Promise<Recording> {
  const { readHdf5Video } = await import("./hdf5.js");
  // The lib takes the file's framerate / fps attribute first and options.fps only without one.
  const video = await readHdf5Video(path, { dataset: options.dataset, fps: options.fps, sixteenBit: options.sixteenBit }).catch((error: Error) => {
    throw /no "framerate" or "fps" attribute/.test(error.message)
      ? new Error(`${path} has no "framerate" or "fps" attribute: give the frame rate with the read stage's fps parameter (frames per second)`)
      : error;
  });
  // Without a parameter the rate is the file's; with one, a different rate can only be the file's.
  const fileFps = options.fps === undefined || video.fps !== options.fps ? video.fps : undefined;
  const range = video.range16 ? `, 16-bit range ${video.range16[0]}..${video.range16[1]} mapped to 0..255` : video.bitDepth === 16 ? ", 16-bit high bytes" : "";
  return {
    video: withFps(video, fileFps, options.fps, path),
    source: { format: "hdf5", detail: `HDF5 dataset ${options.dataset ?? "(the only video one)"}${range}`, fileFps, bitDepth: video.bitDepth },
  };
}

async function readVideoFile(path: string, options: ReadOptions): Promise<Recording> {
  const { readFfmpegVideo } = await import("./ffmpeg.js");
  const r = await readFfmpegVideo(path, { fps: options.fps, sixteenBit: options.sixteenBit, signal: options.signal });
  const range = r.range16 ? `, 16-bit range ${r.range16[0]}..${r.range16[1]} mapped to 0..255` : r.bitDepth === 16 ? ", 16-bit high bytes" : "";
  return {
    video: withFps(r.video, r.probe.fps, options.fps, path),
    source: { format: "ffmpeg", detail: `${r.probe.codec} ${r.probe.pixelFormat} through FFmpeg (from ${r.binary.source})${range}`, fileFps: r.probe.fps, bitDepth: r.bitDepth },
  };
}

function readImages(path: string, options: ReadOptions): Recording {
  if (options.fps === undefined) {
    throw new Error(`${path}: image frames carry no frame rate: give it with the read stage's fps parameter (frames per second)`);
  }
  const manifest = MANIFEST_EXTENSIONS.includes(extname(path).toLowerCase());
  const files = manifest ? manifestFrames(path) : options.images === "file" ? [path] : folderFrames(path);
  const stack = readFrameFiles(files, options.sixteenBit ?? "minmax", options.signal);
  const what = manifest ? `frames listed in ${basename(path)}` : options.images === "file" ? "one image file" : "the folder's frames";
  const range = stack.range16 ? `, 16-bit range ${stack.range16[0]}..${stack.range16[1]} mapped to 0..255` : stack.depth === 16 ? ", 16-bit high bytes" : "";
  return {
    video: { frames: stack.frames, count: stack.count, rows: stack.rows, cols: stack.cols, fps: options.fps },
    source: { format: "images", detail: `${stack.count} frames from ${files.length} file(s), ${what}${range}`, frameFiles: files.length, bitDepth: stack.depth },
  };
}

/** Reads one recording. The message of any error starts with, or contains, the file's path. */
export async function readRecording(path: string, options: ReadOptions = {}): Promise<Recording> {
  const format = options.format && options.format !== "auto" ? options.format : formatOf(path);
  if (!format) {
    const known = [...HDF5_EXTENSIONS, ...FFMPEG_EXTENSIONS, ".png", ".tif", ".tiff", ...MANIFEST_EXTENSIONS].join(" ");
    throw new Error(`${path}: unknown recording format "${extname(path) || "(no extension)"}"; known: ${known}; or set the read stage's format (hdf5, ffmpeg, images)`);
  }
  const recording = format === "hdf5" ? await readHdf5(path, options) : format === "ffmpeg" ? await readVideoFile(path, options) : readImages(path, options);
  const { count, rows, cols } = recording.video;
  if (count === 0 || rows === 0 || cols === 0) throw new Error(`${path} holds an empty video (${count} frames of ${cols}x${rows})`);
  return recording;
}
