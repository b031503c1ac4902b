/**
 * Uncompressed 8-bit grey AVI files (lossless): RIFF 'AVI ', one video stream of
 * BI_RGB frames with a 256-entry grey palette ('DIB ', what ffmpeg calls rawvideo pal8), an
 * idx1 index. OpenCV, ffmpeg, ImageJ/Fiji and VLC read them.
 *
 * Layout written:
 *   RIFF 'AVI '
 *     LIST 'hdrl'
 *       'avih' MainAVIHeader (56 bytes)
 *       LIST 'strl'
 *         'strh' AVIStreamHeader (56 bytes)
 *         'strf' BITMAPINFOHEADER (40 bytes) + palette (256 x 4 bytes)
 *     LIST 'movi'
 *       '00db' frame (rows bottom-up, each padded to a multiple of 4 bytes) ... one per frame
 *     'idx1' (16 bytes per frame)
 *
 * A classic (non-OpenDML) AVI stays below 4 GiB: larger videos are refused with a hint.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { assertVideo, type Video } from "./types.js";

const AVIF_HASINDEX = 0x10;
const AVIIF_KEYFRAME = 0x10;
const MAX_RIFF_BYTES = 0xffffffff - 1024;

function fourcc(buf: Buffer, offset: number, code: string): void {
  buf.write(code, offset, 4, "latin1");
}

/** Rate / scale for a frame rate: integers exactly, others to 1/1000 frame/s. */
function rateScale(fps: number): { rate: number; scale: number } {
  return Number.isInteger(fps) ? { rate: fps, scale: 1 } : { rate: Math.round(fps * 1000), scale: 1000 };
}

/** Writes frames one at a time to a new AVI; `close()` writes the index and the header sizes. */
export class AviWriter {
  private readonly fd: number;
  private readonly stride: number;
  private readonly frameBytes: number;
  private readonly frameChunk: Buffer;
  private readonly offsets: number[] = [];
  private position: number;
  private readonly moviStart: number;
  private readonly headerSize: number;
  private closed = false;
  private readonly temporary: string;

  constructor(private readonly path: string, private readonly width: number, private readonly height: number, private readonly fps: number) {
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new RangeError(`AVI frame size must be positive integers, got ${width}x${height}`);
    if (!(fps > 0 && Number.isFinite(fps))) throw new RangeError(`AVI frame rate must be positive, got ${fps}`);
    this.stride = (width + 3) & ~3;
    this.frameBytes = this.stride * height;
    this.frameChunk = Buffer.alloc(8 + this.frameBytes + (this.frameBytes & 1));
    this.temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.fd = openSync(this.temporary, "w");
    const header = this.header(0);
    this.headerSize = header.length;
    writeSync(this.fd, header, 0, header.length, 0);
    this.position = header.length;
    // 'movi' fourcc sits 4 bytes before the end of the header (after LIST and its size).
    this.moviStart = header.length - 4;
  }

  /** RIFF header up to and including the 'movi' fourcc, for `frames` frames. */
  private header(frames: number): Buffer {
    const palette = 256 * 4;
    const strf = 40 + palette;
    const strl = 4 + (8 + 56) + (8 + strf);
    const hdrl = 4 + (8 + 56) + (8 + strl);
    const chunk = 8 + this.frameBytes + (this.frameBytes & 1);
    const movi = 4 + frames * chunk;
    const idx1 = frames * 16;
    const riff = 4 + (8 + hdrl) + (8 + movi) + (8 + idx1);
    const b = Buffer.alloc(12 + 8 + hdrl + 12);
    let o = 0;
    fourcc(b, o, "RIFF"); b.writeUInt32LE(riff, o + 4); fourcc(b, o + 8, "AVI "); o += 12;
    fourcc(b, o, "LIST"); b.writeUInt32LE(hdrl, o + 4); fourcc(b, o + 8, "hdrl"); o += 12;
    const { rate, scale } = rateScale(this.fps);
    // MainAVIHeader
    fourcc(b, o, "avih"); b.writeUInt32LE(56, o + 4); o += 8;
    b.writeUInt32LE(Math.round(1e6 / this.fps), o); // microseconds per frame
    b.writeUInt32LE(Math.min(0xffffffff, Math.ceil(this.frameBytes * this.fps)), o + 4); // max bytes per second
    b.writeUInt32LE(0, o + 8); // padding granularity
    b.writeUInt32LE(AVIF_HASINDEX, o + 12);
    b.writeUInt32LE(frames, o + 16);
    b.writeUInt32LE(0, o + 20); // initial frames
    b.writeUInt32LE(1, o + 24); // streams
    b.writeUInt32LE(chunk, o + 28); // suggested buffer size
    b.writeUInt32LE(this.width, o + 32);
    b.writeUInt32LE(this.height, o + 36);
    o += 56;
    fourcc(b, o, "LIST"); b.writeUInt32LE(strl, o + 4); fourcc(b, o + 8, "strl"); o += 12;
    // AVIStreamHeader
    fourcc(b, o, "strh"); b.writeUInt32LE(56, o + 4); o += 8;
    fourcc(b, o, "vids"); fourcc(b, o + 4, "DIB ");
    b.writeUInt32LE(0, o + 8); // flags
    b.writeUInt16LE(0, o + 12); b.writeUInt16LE(0, o + 14); // priority, language
    b.writeUInt32LE(0, o + 16); // initial frames
    b.writeUInt32LE(scale, o + 20);
    b.writeUInt32LE(rate, o + 24);
    b.writeUInt32LE(0, o + 28); // start
    b.writeUInt32LE(frames, o + 32); // length
    b.writeUInt32LE(chunk, o + 36); // suggested buffer size
    b.writeInt32LE(-1, o + 40); // quality
    b.writeUInt32LE(this.frameBytes, o + 44); // sample size
    b.writeInt16LE(0, o + 48); b.writeInt16LE(0, o + 50); b.writeInt16LE(this.width, o + 52); b.writeInt16LE(this.height, o + 54);
    o += 56;
    // BITMAPINFOHEADER + grey palette
    fourcc(b, o, "strf"); b.writeUInt32LE(strf, o + 4); o += 8;
    b.writeUInt32LE(40, o);
    b.writeInt32LE(this.width, o + 4);
    b.writeInt32LE(this.height, o + 8); // positive: rows bottom-up
    b.writeUInt16LE(1, o + 12); // planes
    b.writeUInt16LE(8, o + 14); // bits per pixel
    b.writeUInt32LE(0, o + 16); // BI_RGB
    b.writeUInt32LE(this.frameBytes, o + 20);
    b.writeInt32LE(0, o + 24); b.writeInt32LE(0, o + 28);
    b.writeUInt32LE(256, o + 32); // colours used
    b.writeUInt32LE(0, o + 36);
    o += 40;
    for (let i = 0; i < 256; i++, o += 4) {
      b[o] = i; b[o + 1] = i; b[o + 2] = i; b[o + 3] = 0;
    }
    fourcc(b, o, "LIST"); b.writeUInt32LE(movi, o + 4); fourcc(b, o + 8, "movi"); o += 12;
    return b;
  }

  /** Appends one frame: rows x cols grey pixels, row-major, top row first. */
  writeFrame(pixels: Uint8Array): void {
    if (this.closed) throw new Error(`AVI ${this.path} is closed`);
    const { width, height, stride, frameChunk } = this;
    if (pixels.length < width * height) throw new RangeError(`frame holds ${pixels.length} pixels, expected ${width}x${height}`);
    const chunkSize = frameChunk.length;
    if (this.position + chunkSize + (this.offsets.length + 1) * 16 + 8 > MAX_RIFF_BYTES) {
      throw new RangeError(`AVI ${this.path} would exceed 4 GiB (a classic AVI's limit): write HDF5, or fewer/smaller frames per file`);
    }
    fourcc(frameChunk, 0, "00db");
    frameChunk.writeUInt32LE(this.frameBytes, 4);
    for (let r = 0; r < height; r++) {
      // Bottom-up: the image's last row is stored first.
      const src = pixels.subarray((height - 1 - r) * width, (height - r) * width);
      frameChunk.set(src, 8 + r * stride);
      if (stride > width) frameChunk.fill(0, 8 + r * stride + width, 8 + (r + 1) * stride);
    }
    writeSync(this.fd, frameChunk, 0, chunkSize, this.position);
    this.offsets.push(this.position - this.moviStart);
    this.position += chunkSize;
  }

  /** Writes the index, fixes the header's sizes and frame counts, and moves the file into place. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      const frames = this.offsets.length;
      const idx = Buffer.alloc(8 + frames * 16);
      fourcc(idx, 0, "idx1");
      idx.writeUInt32LE(frames * 16, 4);
      this.offsets.forEach((off, i) => {
        const o = 8 + i * 16;
        fourcc(idx, o, "00db");
        idx.writeUInt32LE(AVIIF_KEYFRAME, o + 4);
        idx.writeUInt32LE(off, o + 8);
        idx.writeUInt32LE(this.frameBytes, o + 12);
      });
      writeSync(this.fd, idx, 0, idx.length, this.position);
      const header = this.header(frames);
      if (header.length !== this.headerSize) throw new Error("AVI header size changed");
      writeSync(this.fd, header, 0, header.length, 0);
      closeSync(this.fd);
      renameSync(this.temporary, this.path);
    } catch (error) {
      try { closeSync(this.fd); } catch { /* already closed */ }
      rmSync(this.temporary, { force: true });
      throw error;
    }
  }

  /** Drops the partial file (after an error or a cancellation). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try { closeSync(this.fd); } finally { rmSync(this.temporary, { force: true }); }
  }
}

/** Writes a whole grey video as an uncompressed 8-bit AVI. */
export function writeAviVideo(path: string, video: Video): void {
  assertVideo(video);
  const writer = new AviWriter(path, video.cols, video.rows, video.fps);
  try {
    const size = video.rows * video.cols;
    for (let i = 0; i < video.count; i++) writer.writeFrame(video.frames.subarray(i * size, (i + 1) * size));
    writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
}
