/**
 * AVI / MP4 / MOV (anything FFmpeg decodes) as grey videos, through an FFmpeg child process that
 * streams raw 8-bit grey frames (`-f rawvideo -pix_fmt gray`) to our stdout pipe.
 *
 * Size and frame rate come from `ffmpeg -i`'s own report on stderr: ffprobe is not shipped with
 * the npm binary, and that report is stable across FFmpeg 4 to 7.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";
import { sixteenToEight, type SixteenBit } from "./frames.js";
import type { Video } from "./types.js";

export interface FfmpegBinary {
  path: string;
  /** Where it was found: the FFMPEG_PATH variable, a folder on PATH, or the npm package. */
  source: "FFMPEG_PATH" | "PATH" | "npm";
}

export interface FindOptions {
  /** Environment to search (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Also try the binary of the npm package @ffmpeg-installer/ffmpeg (default true). */
  npm?: boolean;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The npm-shipped binary; the package throws a string (not an Error) when its binary is missing. */
function npmFfmpeg(): string | undefined {
  try {
    const found = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path?: string };
    return found.path && isExecutable(found.path) ? found.path : undefined;
  } catch {
    return undefined;
  }
}

/** FFmpeg from FFMPEG_PATH, else the first `ffmpeg` on PATH, else the npm package's binary. */
export function findFfmpeg(options: FindOptions = {}): FfmpegBinary {
  const env = options.env ?? process.env;
  const explicit = env["FFMPEG_PATH"];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`FFMPEG_PATH is ${explicit}, which is not an executable file: point it at an ffmpeg binary, or unset it to use the ffmpeg on PATH`);
    return { path: explicit, source: "FFMPEG_PATH" };
  }
  for (const dir of (env["PATH"] ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, process.platform === "win32" ? "ffmpeg.exe" : "ffmpeg");
    if (isExecutable(candidate)) return { path: candidate, source: "PATH" };
  }
  const shipped = options.npm === false ? undefined : npmFfmpeg();
  if (shipped) return { path: shipped, source: "npm" };
  throw new Error(
    "no FFmpeg found (needed to read AVI / MP4 / MOV): not in FFMPEG_PATH, not on PATH, and the npm package @ffmpeg-installer/ffmpeg has no binary for this platform; " +
      "install FFmpeg (e.g. apt-get install ffmpeg) or set FFMPEG_PATH=/path/to/ffmpeg, or convert the videos to HDF5 or image folders",
  );
}

let cached: FfmpegBinary | undefined;
function ffmpeg(): FfmpegBinary {
  cached ??= findFfmpeg();
  return cached;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

function runFfmpeg(args: string[], signal?: AbortSignal): Promise<Finished> {
  const bin = ffmpeg();
  return new Promise((resolve, reject) => {
    const child = spawn(bin.path, args, { stdio: ["ignore", "pipe", "pipe"], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(e.name === "AbortError" ? new Error("cancelled") : new Error(`cannot run ${bin.path} (from ${bin.source}): ${e.message}`)));
    child.on("close", (code, sig) => resolve({ code, signal: sig, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

export interface FfmpegProbe {
  rows: number;
  cols: number;
  /** The container's frame rate (`fps`, else `tbr`); undefined when FFmpeg reports none. */
  fps?: number;
  /** Seconds, when the container states a duration. */
  duration?: number;
  codec: string;
  pixelFormat: string;
}

/** "1k" = 1000: FFmpeg prints rates of 1000 and more that way. */
function rate(match: RegExpMatchArray | null): number | undefined {
  if (!match) return undefined;
  const n = Number.parseFloat(match[1]!) * (match[2] === "k" ? 1000 : 1);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The last lines FFmpeg wrote, without its banner: what a person needs to see. */
function tail(stderr: string, lines = 3): string {
  const kept = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !/^(ffmpeg version|built with|configuration:|lib\w+\s+\d)/.test(l));
  return kept.slice(-lines).join(" | ") || "(no message)";
}

/** "h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 64x48 [SAR 1:1]" split at commas outside brackets. */
function topLevelParts(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(spec.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(spec.slice(start).trim());
  return parts;
}

/** Parses the stream description `ffmpeg -i` prints (exported for tests). */
export function parseProbe(stderr: string, path: string): FfmpegProbe {
  const line = stderr.split("\n").find((l) => /Stream #\d+:\d+.*: Video: /.test(l));
  if (!line) {
    const known = /No such file or directory|Invalid data found|moov atom not found|End of file|could not find codec|Permission denied/i.exec(stderr);
    if (known) {
      const hint = /No such file|Permission denied/i.test(known[0]) ? "check the path and its permissions" : "the file is damaged, truncated or not a video: copy or export it again";
      throw new Error(`FFmpeg cannot read ${path}: ${tail(stderr)}; ${hint}`);
    }
    throw new Error(`${path} has no video stream that FFmpeg recognises: ${tail(stderr)}`);
  }
  const parts = topLevelParts(line.slice(line.indexOf("Video: ") + 7));
  const codec = parts[0]?.split(/[ (]/)[0] ?? "unknown";
  const sizePart = parts.map((p) => /^(\d+)x(\d+)\b/.exec(p)).find((m) => m !== null);
  if (!sizePart) throw new Error(`FFmpeg finds no frame size for the video stream of ${path} (${line.trim()}): the file is damaged or truncated`);
  const pixelFormat = parts[1]?.split("(")[0]?.trim() ?? "unknown";
  const spec = parts.join(", ");
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  return {
    rows: Number(sizePart[2]),
    cols: Number(sizePart[1]),
    fps: rate(/([\d.]+)(k?) fps/.exec(spec)) ?? rate(/([\d.]+)(k?) tbr/.exec(spec)),
    duration: duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : undefined,
    codec,
    pixelFormat,
  };
}

/** `ffmpeg -i path`: exits with "At least one output file must be specified" after describing the input. */
export async function probeFfmpeg(path: string, signal?: AbortSignal): Promise<FfmpegProbe> {
  const { stderr } = await runFfmpeg(["-hide_banner", "-nostdin", "-noautorotate", "-i", path], signal);
  return parseProbe(stderr, path);
}

export interface FfmpegReadOptions {
  /** Frame rate when the container states none. */
  fps?: number;
  /** Videos of more than 8 bits per sample (gray16le, yuv420p10le, ...) to 8 bits; default minmax. */
  sixteenBit?: SixteenBit;
  signal?: AbortSignal;
}

export interface FfmpegVideo {
  video: Video;
  probe: FfmpegProbe;
  binary: FfmpegBinary;
  /** Frames the duration announced (duration x fps), when known. */
  expectedFrames?: number;
  /** 16 when the stream has more than 8 bits per sample (decoded as gray16le, then mapped). */
  bitDepth: 8 | 16;
  /** With minmax: the 16-bit range mapped to 0..255. */
  range16?: [number, number];
}

/** Pixel formats of more than 8 bits per sample: gray16le, gray12le, yuv420p10le, rgb48be, ... */
const DEEP_PIXEL_FORMAT = /(9|10|12|14|16|48|64)(le|be)$/;

/**
 * Decodes every frame of the first video stream to 8-bit grey (colour by FFmpeg's luma). Streams
 * of more than 8 bits per sample are decoded to 16-bit grey and mapped by `sixteenBit`, as 16-bit
 * image frames are: FFmpeg's own conversion keeps the high byte, which leaves a 12-bit camera's
 * frames at 0..15.
 * A decode error, or fewer frames than the container's duration announces (a truncated file),
 * fails with the file's name and FFmpeg's own words.
 */
export async function readFfmpegVideo(path: string, options: FfmpegReadOptions = {}): Promise<FfmpegVideo> {
  const probe = await probeFfmpeg(path, options.signal);
  const fps = probe.fps ?? options.fps;
  if (fps === undefined) throw new Error(`${path}: FFmpeg reports no frame rate for its video stream: give one with the fps parameter`);
  // -noautorotate: frames as stored, the size the probe reported. A variable-rate stream is fitted
  // to its nominal rate (FFmpeg's default), which the truncation check below counts on.
  const deep = DEEP_PIXEL_FORMAT.test(probe.pixelFormat);
  const args = ["-hide_banner", "-nostdin", "-v", "error", "-noautorotate", "-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", deep ? "gray16le" : "gray", "-"];
  const result = await runFfmpeg(args, options.signal);
  if (result.code !== 0) {
    throw new Error(`FFmpeg failed to decode ${path} (exit ${result.code ?? result.signal}): ${tail(result.stderr)}`);
  }
  // At -v error FFmpeg prints only errors; a decode error means frames are missing or garbled.
  const errors = result.stderr.split("\n").filter((l) => /error|invalid|corrupt|truncat|missing/i.test(l));
  if (errors.length > 0) {
    throw new Error(`${path} is damaged or truncated: FFmpeg reported ${errors.length} decoding error(s), e.g. ${tail(errors.join("\n"), 2)}; copy or export the file again`);
  }
  const size = probe.rows * probe.cols * (deep ? 2 : 1);
  const bytes = result.stdout.length;
  if (bytes === 0) throw new Error(`FFmpeg decoded no frame from ${path}${result.stderr.trim() ? `: ${tail(result.stderr)}` : ""}; the file is empty or damaged`);
  if (bytes % size !== 0) throw new Error(`FFmpeg returned ${bytes} bytes from ${path}, not a whole number of ${probe.cols}x${probe.rows} frames: the file is damaged`);
  const count = bytes / size;
  const expectedFrames = probe.duration !== undefined && probe.fps !== undefined ? Math.round(probe.duration * probe.fps) : undefined;
  // One frame of slack, and 2 % for containers whose duration is rounded or estimated.
  if (expectedFrames !== undefined && count < expectedFrames - Math.max(1, Math.ceil(0.02 * expectedFrames))) {
    const said = result.stderr.trim() ? ` FFmpeg said: ${tail(result.stderr)}` : "";
    throw new Error(
      `${path} is truncated or damaged: its header announces ${probe.duration!.toFixed(3)} s at ${probe.fps} fps (about ${expectedFrames} frames), but only ${count} could be decoded.${said} Copy or export the file again`,
    );
  }
  if (deep) {
    // gray16le into a Uint16Array's bytes: every platform Node runs this on is little-endian.
    const values = new Uint16Array(bytes / 2);
    new Uint8Array(values.buffer).set(result.stdout);
    const { frames, range16 } = sixteenToEight(values, options.sixteenBit ?? "minmax");
    return { video: { frames, count, rows: probe.rows, cols: probe.cols, fps }, probe, binary: ffmpeg(), expectedFrames, bitDepth: 16, range16 };
  }
  // Small outputs may sit in Node's shared Buffer pool: copy those, keep large ones as they are.
  const frames = result.stdout.byteOffset === 0 && result.stdout.buffer.byteLength === bytes
    ? new Uint8Array(result.stdout.buffer, 0, bytes)
    : new Uint8Array(result.stdout);
  return { video: { frames, count, rows: probe.rows, cols: probe.cols, fps }, probe, binary: ffmpeg(), expectedFrames, bitDepth: 8 };
}
