import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readHdf5Video, writeHdf5Arrays, writeHdf5Video } from "../lib/video/hdf5.js";
import { contactSheet, encodeGrayPng, encodeRgbPng } from "../lib/video/png.js";
import { cropVideo, normalizeFrames } from "../lib/video/transform.js";
import { frameAt, makeVideo, sliceVideo, type Video } from "../lib/video/types.js";
import { STYTRA_FILE, sharedFile } from "./helpers/shared-data.js";

const stytra = sharedFile(STYTRA_FILE, "the HDF5 tests that read the real Stytra recording");
const STYTRA = stytra.path;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "video-io-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small video whose every pixel is a known function of (frame, row, col). */
function rampVideo(count = 5, rows = 7, cols = 9, fps = 300): Video {
  const v = makeVideo(count, rows, cols, fps);
  for (let i = 0; i < v.frames.length; i++) v.frames[i] = (i * 7 + 3) % 256;
  return v;
}

describe("Video helpers", () => {
  it("views frames and slices without copying", () => {
    const v = rampVideo();
    const f = frameAt(v, 2);
    expect(f.length).toBe(63);
    expect(f[0]).toBe(v.frames[126]);
    f[0] = 1;
    expect(v.frames[126]).toBe(1);
    const s = sliceVideo(v, 1, 3);
    expect(s.count).toBe(2);
    expect(frameAt(s, 1)[0]).toBe(1);
    expect(() => frameAt(v, 5)).toThrow(/outside/);
    expect(() => makeVideo(2, 3, 3, 30, new Uint8Array(17))).toThrow(/expected 2 x 3 x 3/);
  });

  it("crops and normalises every frame", () => {
    const v = rampVideo(2, 6, 8);
    const c = cropVideo(v, { top: 1, left: 2, width: 3, height: 4 });
    expect([c.count, c.rows, c.cols, c.fps]).toEqual([2, 4, 3, 300]);
    expect(frameAt(c, 1)[0]).toBe(v.frames[48 + 8 + 2]);
    const n = normalizeFrames(c);
    for (let i = 0; i < n.count; i++) {
      const f = frameAt(n, i);
      expect(Math.min(...f)).toBe(0);
      expect(Math.max(...f)).toBe(255);
    }
  });
});

describe("HDF5 videos", () => {
  it("a large video is written in slabs, the same bytes each time, and a cancelled write stops at the next slab with nothing left behind", async () => {
    // 60 frames of 640x480 (18 MB): slabs of 27 frames, a look at the signal before each after the first.
    const frames = new Uint8Array(60 * 480 * 640).map((_, i) => Math.imul(i, 2654435761) >>> 24);
    const video = makeVideo(60, 480, 640, 300, frames);
    const [a, b] = [join(dir, "slab-a.h5"), join(dir, "slab-b.h5")];
    await writeHdf5Video(a, video, { gzip: 1 });
    await writeHdf5Video(b, video, { gzip: 1 });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(Buffer.from((await readHdf5Video(a)).frames).equals(Buffer.from(frames))).toBe(true);

    // A signal as a task's: aborted (Ctrl-C) once the write has begun; each look is counted.
    const controller = new AbortController();
    let looks = 0;
    const signal = controller.signal;
    signal.throwIfAborted = () => {
      looks++;
      controller.abort();
      if (signal.aborted) throw signal.reason;
    };
    const cancelled = join(dir, "cancelled.h5");
    await expect(writeHdf5Video(cancelled, video, { gzip: 1, signal })).rejects.toThrow(/aborted/);
    expect(looks).toBe(1); // stopped at the first look, after one slab of three
    expect(readdirSync(dir).filter((f) => f.includes("cancelled"))).toEqual([]);
  });

  it("round-trips frames, shape and frame rate, in the layout h5py expects", async () => {
    const v = rampVideo();
    const path = join(dir, "ramp.h5");
    await writeHdf5Video(path, v, { attrs: { source: "synthetic", crop: [1, 2, 256, 256] } });
    const back = await readHdf5Video(path);
    expect([back.count, back.rows, back.cols, back.fps]).toEqual([5, 7, 9, 300]);
    expect(Buffer.from(back.frames).equals(Buffer.from(v.frames))).toBe(true);

    await h5wasm.ready;
    const file = new h5wasm.File(path, "r");
    try {
      const ds = file.get("video") as InstanceType<typeof h5wasm.Dataset>;
      expect(ds.shape).toEqual([5, 7, 9]);
      expect(ds.metadata.chunks).toEqual([1, 7, 9]);
      expect(ds.filters.map((f) => f.name)).toContain("deflate");
      expect(file.attrs["framerate"]!.value).toBe(300);
      expect(file.attrs["source"]!.value).toBe("synthetic");
      expect(Array.from(file.attrs["crop"]!.value as Float64Array)).toEqual([1, 2, 256, 256]);
    } finally {
      file.close();
    }
  });

  it("keeps a fractional frame rate and a custom dataset name", async () => {
    const path = join(dir, "named.h5");
    await writeHdf5Video(path, { ...rampVideo(), fps: 29.97 }, { dataset: "movie", gzip: 0 });
    const back = await readHdf5Video(path, { dataset: "movie" });
    expect(back.fps).toBeCloseTo(29.97, 10);
    expect((await readHdf5Video(path)).count).toBe(5);
  });

  it("takes the frame rate from the option only when the file has none", async () => {
    const path = join(dir, "nofps.h5");
    const v = rampVideo();
    await writeHdf5Arrays(path, [{ name: "frames", data: v.frames, shape: [5, 7, 9] }]);
    await expect(readHdf5Video(path)).rejects.toThrow(new RegExp(`${path}.*framerate.*fps option`));
    expect((await readHdf5Video(path, { fps: 120 })).fps).toBe(120);
  });

  it.skipIf(!stytra.present)("keeps the frame rate a file has over the option (the real recording: 200 fps)", async () => {
    expect((await readHdf5Video(STYTRA, { fps: 120 })).fps).toBe(200);
  });

  it("writes float arrays with their types (tail points, features)", async () => {
    const path = join(dir, "arrays.h5");
    const points = Float32Array.from({ length: 24 }, (_, i) => i / 4);
    await writeHdf5Arrays(path, [
      { name: "tail/points", data: points, shape: [3, 4, 2], chunks: [1, 4, 2] },
      { name: "labels", data: Int32Array.of(0, 1, 1), shape: [3], gzip: 0 },
    ], { units: "px", fps: 300 });
    await h5wasm.ready;
    const file = new h5wasm.File(path, "r");
    try {
      const ds = file.get("tail/points") as InstanceType<typeof h5wasm.Dataset>;
      expect(ds.dtype).toBe("<f");
      expect(ds.shape).toEqual([3, 4, 2]);
      expect(Array.from(ds.value as Float32Array)).toEqual(Array.from(points));
      expect(Array.from((file.get("labels") as InstanceType<typeof h5wasm.Dataset>).value as Int32Array)).toEqual([0, 1, 1]);
      expect(file.attrs["units"]!.value).toBe("px");
    } finally {
      file.close();
    }
    await expect(writeHdf5Arrays(join(dir, "bad.h5"), [{ name: "x", data: new Float32Array(5), shape: [2, 2] }])).rejects.toThrow(/bad\.h5.*holds 4 values, the array 5/);
  });

  it("names the file and the way out in every error", async () => {
    const missing = join(dir, "missing.h5");
    await expect(readHdf5Video(missing)).rejects.toThrow(new RegExp(`${missing} does not exist`));

    const text = join(dir, "notes.h5");
    writeFileSync(text, "frames, rows, cols\n");
    await expect(readHdf5Video(text)).rejects.toThrow(new RegExp(`${text} is not an HDF5 file`));

    const floats = join(dir, "floats.h5");
    await writeHdf5Arrays(floats, [{ name: "video", data: new Float32Array(8), shape: [2, 2, 2] }], { framerate: 30 });
    await expect(readHdf5Video(floats)).rejects.toThrow(new RegExp(`${floats} holds no 3-D uint8 or uint16 dataset.*video \\(<f \\[2, 2, 2\\]\\)`));
    await expect(readHdf5Video(floats, { dataset: "video" })).rejects.toThrow(/"video" in .*floats\.h5 is <f \[2, 2, 2\].*must be uint8/);

    const two = join(dir, "two.h5");
    await writeHdf5Arrays(two, [
      { name: "a", data: new Uint8Array(8), shape: [2, 2, 2] },
      { name: "b", data: new Uint8Array(8), shape: [2, 2, 2] },
    ], { framerate: 30 });
    await expect(readHdf5Video(two)).rejects.toThrow(/several 3-D uint8 or uint16 datasets: a .*, b .*name one with the dataset option/);
    await expect(readHdf5Video(two, { dataset: "c" })).rejects.toThrow(/two\.h5 has no dataset "c"; its datasets: a .*b/);
  });

  it.skipIf(!stytra.present)("names a truncated file and the way out", async () => {
    const truncated = join(dir, "truncated.h5");
    copyFileSync(STYTRA, truncated);
    truncateSync(truncated, Math.floor(statSync(STYTRA).size / 2));
    await expect(readHdf5Video(truncated)).rejects.toThrow(new RegExp(`${truncated}: truncated file.*write it again`));
  });

  it.skipIf(!stytra.present)("reads the real Stytra recording", async () => {
    const v = await readHdf5Video(STYTRA);
    expect([v.count, v.rows, v.cols, v.fps]).toEqual([220, 70, 148, 200]);
    const mean = frameAt(v, 0).reduce((a, b) => a + b, 0) / (70 * 148);
    expect(mean).toBeCloseTo(122.2, 1);
    // The camera repeats frames (see the data's README): frame 1 is frame 0 again.
    expect(Buffer.from(frameAt(v, 1)).equals(Buffer.from(frameAt(v, 0)))).toBe(true);
    const repeats = Array.from({ length: 219 }, (_, i) => Buffer.from(frameAt(v, i + 1)).equals(Buffer.from(frameAt(v, i)))).filter(Boolean).length;
    expect(repeats).toBeGreaterThan(60);
  });
});

describe("PNG", () => {
  it("round-trips a grey image through pngjs", () => {
    const pixels = Uint8Array.from({ length: 6 * 4 }, (_, i) => i * 10);
    const png = PNG.sync.read(encodeGrayPng(pixels, 6, 4));
    expect([png.width, png.height]).toEqual([6, 4]);
    for (let i = 0; i < pixels.length; i++) {
      expect([png.data[4 * i], png.data[4 * i + 1], png.data[4 * i + 2], png.data[4 * i + 3]]).toEqual([pixels[i], pixels[i], pixels[i], 255]);
    }
    expect(() => encodeGrayPng(pixels, 5, 4)).toThrow(/expected 5 x 4 x 1/);
  });

  it("round-trips an RGB image through pngjs", () => {
    const pixels = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => 255 - i * 9);
    const png = PNG.sync.read(encodeRgbPng(pixels, 3, 2));
    for (let i = 0; i < 6; i++) {
      expect(Array.from(png.data.subarray(4 * i, 4 * i + 3))).toEqual(Array.from(pixels.subarray(3 * i, 3 * i + 3)));
    }
  });

  it("lays tiles out in a grid, with a label strip when asked", () => {
    const tile = (v: number, w = 4, h = 3) => ({ pixels: new Uint8Array(w * h).fill(v), width: w, height: h });
    const plain = contactSheet([tile(10), tile(20), tile(30)], 2, { gap: 1, background: 0 });
    expect([plain.width, plain.height]).toEqual([1 + 2 * 5, 1 + 2 * 4]);
    expect(plain.pixels[1 * plain.width + 1]).toBe(10);
    expect(plain.pixels[1 * plain.width + 6]).toBe(20);
    expect(plain.pixels[5 * plain.width + 1]).toBe(30);
    expect(plain.pixels[5 * plain.width + 6]).toBe(0); // empty cell

    const labelled = contactSheet([{ ...tile(100, 40, 10), label: "ev 7" }], 1, { gap: 2, background: 0 });
    expect(labelled.height).toBe(2 + 7 + 2 + 10 + 2);
    const strip = labelled.pixels.subarray(2 * labelled.width, 11 * labelled.width);
    expect(strip.some((p) => p === 255)).toBe(true);
    expect(labelled.pixels[11 * labelled.width + 2]).toBe(100);
    writeFileSync(join(dir, "sheet.png"), encodeGrayPng(labelled.pixels, labelled.width, labelled.height));
    expect(readFileSync(join(dir, "sheet.png")).subarray(1, 4).toString()).toBe("PNG");
  });
});
