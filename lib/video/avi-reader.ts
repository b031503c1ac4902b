/**
 * Reads uncompressed 8-bit AVI files (BI_RGB with a palette), such as lib/video/avi-writer.ts writes
 * and ImageJ or ffmpeg's rawvideo pal8 make, into a grey video.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { Video } from "./types.js";

/**
 * Reads an uncompressed 8-bit AVI (BI_RGB with a palette, bottom-up or top-down rows), such as
 * those avi-writer.ts writes, into a grey video (palette entries turned to grey by their luma).
 */
export function readAviVideo(path: string): Video {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(size);
    readSync(fd, buf, 0, size, 0);
    if (buf.toString("latin1", 0, 4) !== "RIFF" || buf.toString("latin1", 8, 12) !== "AVI ") throw new Error(`${path} is not an AVI file (no RIFF 'AVI ' header)`);
    let width = 0;
    let height = 0;
    let bits = 0;
    let compression = -1;
    let rate = 0;
    let scale = 1;
    let grey: Uint8Array | null = null;
    const chunks: [number, number][] = [];
    const walk = (start: number, end: number): void => {
      let o = start;
      while (o + 8 <= end) {
        const id = buf.toString("latin1", o, o + 4);
        const len = buf.readUInt32LE(o + 4);
        const body = o + 8;
        if (id === "LIST" || id === "RIFF") walk(body + 4, Math.min(end, body + len));
        else if (id === "strh" && buf.toString("latin1", body, body + 4) === "vids") {
          scale = buf.readUInt32LE(body + 20);
          rate = buf.readUInt32LE(body + 24);
        } else if (id === "strf" && width === 0) {
          width = buf.readInt32LE(body + 4);
          height = buf.readInt32LE(body + 8);
          bits = buf.readUInt16LE(body + 14);
          compression = buf.readUInt32LE(body + 16);
          const headerSize = buf.readUInt32LE(body);
          const colours = buf.readUInt32LE(body + 32) || 256;
          grey = new Uint8Array(256);
          for (let i = 0; i < Math.min(256, colours); i++) {
            const p = body + headerSize + 4 * i;
            if (p + 3 > body + len) break;
            grey[i] = Math.round(0.114 * buf[p]! + 0.587 * buf[p + 1]! + 0.299 * buf[p + 2]!);
          }
        } else if (/^\d\d(db|dc)$/.test(id)) chunks.push([body, len]);
        o = body + len + (len & 1);
      }
    };
    walk(12, size);
    if (bits !== 8 || compression !== 0) throw new Error(`${path}: only uncompressed 8-bit AVIs can be read here (this one has ${bits} bits, compression ${compression}): convert it to HDF5`);
    const rows = Math.abs(height);
    const stride = (width + 3) & ~3;
    const frames = new Uint8Array(chunks.length * rows * width);
    const lut = grey ?? Uint8Array.from({ length: 256 }, (_, i) => i);
    chunks.forEach(([off, len], f) => {
      if (len < stride * rows) throw new Error(`${path}: frame ${f} holds ${len} bytes, expected ${stride * rows}`);
      for (let r = 0; r < rows; r++) {
        const srcRow = height > 0 ? rows - 1 - r : r;
        const src = off + srcRow * stride;
        const dst = (f * rows + r) * width;
        for (let x = 0; x < width; x++) frames[dst + x] = lut[buf[src + x]!]!;
      }
    });
    return { frames, count: chunks.length, rows, cols: width, fps: scale > 0 && rate > 0 ? rate / scale : 0 };
  } finally {
    closeSync(fd);
  }
}
