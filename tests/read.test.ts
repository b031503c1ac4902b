import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import UTIF from "utif2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactIn, ArtifactOut, ItemIn } from "../engine/stage-api.js";
import { findFfmpeg, parseProbe } from "../lib/video/ffmpeg.js";
import { readHdf5Video, writeHdf5Arrays, writeHdf5Video } from "../lib/video/hdf5.js";
import { encodeGrayPng } from "../lib/video/png.js";
import { makeVideo, type Video } from "../lib/video/types.js";
import read, { type ReadParams } from "../stages/read/index.js";
import { labelFromCsv, labelFromFolder, readLabelCsv } from "../stages/read/labels.js";
import { lcg, stageContext } from "./helpers/video-stage.js";

const FFMPEG = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;
const DEFAULTS: ReadParams = {
  format: "auto", dataset: null, fps: null, orientation: "head-left", images: "folder", sixteen_bit: "minmax",
  labels_from: "auto", label_folders: { spon: 0, spontaneous: 0, prey: 1 }, unlabelled: "fail", gzip: 1,
};
const ROWS = 48;
const COLS = 64;
const COUNT = 12;

let dir: string;
let truth: Video;

/** Every value 0..255 appears (so 16-bit min-max maps back exactly), plus a moving dark square and noise. */
function syntheticVideo(): Video {
  const v = makeVideo(COUNT, ROWS, COLS, 30);
  const rand = lcg(9);
  for (let f = 0; f < COUNT; f++) {
    for (let y = 0; y < ROWS; y++) {
      for (let x = 0; x < COLS; x++) {
        const inSquare = x >= 8 + 2 * f && x < 20 + 2 * f && y >= 12 && y < 26;
        v.frames[(f * ROWS + y) * COLS + x] = inSquare ? 10 : (y * COLS + x + 40 * f + Math.floor(rand() * 6)) % 256;
      }
    }
  }
  return v;
}

function frame(v: Video, i: number): Uint8Array {
  return v.frames.subarray(i * ROWS * COLS, (i + 1) * ROWS * COLS);
}

function ffmpeg(args: string[], input?: Uint8Array): void {
  const r = spawnSync(FFMPEG, ["-hide_banner", "-v", "error", "-y", ...args], { input });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(" ")}: ${r.stderr.toString()}`);
}

/** Encodes `truth` with FFmpeg from raw grey frames. */
function encode(out: string, codecArgs: string[], pixFmt = "gray"): string {
  ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray", "-s", `${COLS}x${ROWS}`, "-r", "30", "-i", "-", ...codecArgs, "-pix_fmt", pixFmt, out], truth.frames);
  return out;
}

function truncate(src: string, dst: string, fraction: number): string {
  const bytes = readFileSync(src);
  writeFileSync(dst, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return dst;
}

function item(path: string, meta: Record<string, unknown> = {}): ItemIn {
  const rel = relative(dir, path);
  return { id: rel, files: { data: path }, meta: { path: rel, ...meta } as ItemIn["meta"] };
}

async function runRead(path: string, params: Partial<ReadParams> = {}, labels?: string): Promise<{ video: Video; meta: Record<string, unknown>; logs: string[] }> {
  const ctx = stageContext(dir, relative(dir, path));
  const inputs: { videos: ItemIn; labels?: ArtifactIn } = { videos: item(path) };
  if (labels) inputs.labels = { files: { data: labels }, meta: { path: "labels.csv" } };
  const out = (await read.run(ctx, { ...DEFAULTS, ...params }, inputs)).recordings as ArtifactOut;
  const video = await readHdf5Video(join(ctx.outDir, out.files!["video"]!), { dataset: "video" });
  return { video, meta: out.meta!, logs: ctx.logs };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "read-"));
  truth = syntheticVideo();
  mkdirSync(join(dir, "spon"));
  mkdirSync(join(dir, "prey"));
  await writeHdf5Video(join(dir, "spon", "fish1.h5"), { ...truth, fps: 300 }, { gzip: 1 });
  encode(join(dir, "prey", "fish2.avi"), ["-c:v", "ffv1"]);
  encode(join(dir, "fish3.mov"), ["-c:v", "png"]);
  encode(join(dir, "fish4.mp4"), ["-c:v", "libx264", "-crf", "12"], "yuv420p");
  encode(join(dir, "raw.avi"), ["-c:v", "rawvideo"]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("reading recordings", () => {
  it("HDF5: identical frames, frame rate from the file's attribute, or the fps parameter when given", async () => {
    const r = await runRead(join(dir, "spon", "fish1.h5"));
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect([r.video.count, r.video.rows, r.video.cols, r.video.fps]).toEqual([COUNT, ROWS, COLS, 300]);
    expect(r.meta).toMatchObject({ fps: 300, frames: COUNT, rows: ROWS, cols: COLS, orientation: "head-left", format: "hdf5", label: 0, class: "spontaneous", label_from: "folder spon" });

    const forced = await runRead(join(dir, "spon", "fish1.h5"), { fps: 200, orientation: "head-right" });
    expect(forced.video.fps).toBe(200);
    expect(forced.meta).toMatchObject({ fps: 200, orientation: "head-right" });
    expect(forced.logs.join("\n")).toMatch(/the file says 300 frames\/s; using the fps parameter, 200/);
  });

  it("HDF5: a named dataset among several; no frame rate anywhere is an error that says what to set", async () => {
    const path = join(dir, "two.h5");
    await writeHdf5Arrays(path, [
      { name: "camera/raw", data: truth.frames, shape: [COUNT, ROWS, COLS] },
      { name: "background", data: truth.frames.slice(0, 2 * ROWS * COLS), shape: [2, ROWS, COLS] },
    ]);
    await expect(runRead(path, { fps: 100 })).rejects.toThrow(/read: recording two\.h5: .*several 3-D uint8 or uint16 datasets.*name one/);
    await expect(runRead(path, { dataset: "camera/raw" })).rejects.toThrow(/two\.h5 has no "framerate" or "fps" attribute: give the frame rate with the read stage's fps parameter/);
    const r = await runRead(path, { dataset: "camera/raw", fps: 100, labels_from: "none" });
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect(r.meta).not.toHaveProperty("label");
  });

  it("HDF5: a framerate attribute of 0 or -5 is called unusable, not missing; the fps parameter stands in", async () => {
    for (const [value, shown] of [[0, "0"], [-5, "-5"]] as const) {
      const path = join(dir, `rate${value}.h5`);
      await writeHdf5Arrays(path, [{ name: "video", data: truth.frames, shape: [COUNT, ROWS, COLS] }], { framerate: value });
      await expect(runRead(path, { labels_from: "none" })).rejects.toThrow(
        new RegExp(`rate${value}\\.h5 states no usable frame rate \\("framerate" on the root is ${shown}: not a positive number .*give the frame rate with the read stage's fps parameter`),
      );
      expect((await runRead(path, { labels_from: "none", fps: 250 })).video.fps).toBe(250);
    }
  });

  it("HDF5 from other rigs: uint16 frames scaled by sixteen_bit, and frames x rows x cols x 1", async () => {
    const wide = join(dir, "wide.h5");
    await writeHdf5Arrays(wide, [{ name: "cam/frames", data: Uint16Array.from(truth.frames, (v) => v * 16), shape: [COUNT, ROWS, COLS] }], { framerate: 300 });
    const r = await runRead(wide, { labels_from: "none" });
    // truth holds every value 0..255, so 0..4080 maps back to it exactly.
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect(r.meta).toMatchObject({ format: "hdf5", bit_depth: 16, frames: COUNT, rows: ROWS, cols: COLS });
    const channel = join(dir, "channel.h5");
    await writeHdf5Arrays(channel, [{ name: "video", data: truth.frames, shape: [COUNT, ROWS, COLS, 1] }], { framerate: 300 });
    const c = await runRead(channel, { labels_from: "none" });
    expect(Buffer.from(c.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect([c.video.count, c.video.rows, c.video.cols]).toEqual([COUNT, ROWS, COLS]);
  });

  it("AVI (FFV1, raw) and MOV (PNG codec) through FFmpeg: identical frames and the container's rate", async () => {
    for (const name of ["prey/fish2.avi", "raw.avi", "fish3.mov"]) {
      const r = await runRead(join(dir, name), { unlabelled: "keep" });
      expect(r.video.count, name).toBe(COUNT);
      expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames)), name).toBe(true);
      expect(r.video.fps).toBe(30);
      expect(r.meta["format"]).toBe("ffmpeg");
    }
  });

  it("MP4 (H.264, 4:2:0): every frame, close to the original", async () => {
    const r = await runRead(join(dir, "fish4.mp4"));
    expect([r.video.count, r.video.rows, r.video.cols, r.video.fps]).toEqual([COUNT, ROWS, COLS, 30]);
    let sum = 0;
    for (let i = 0; i < truth.frames.length; i++) sum += Math.abs(r.video.frames[i]! - truth.frames[i]!);
    const mae = sum / truth.frames.length;
    expect(mae).toBeLessThan(3);
    // The dark square is where it was drawn in the last frame (x 30..41, y 12..25).
    const last = frame(r.video, COUNT - 1);
    expect(Math.abs(last[18 * COLS + 35]! - 10)).toBeLessThan(12);
  });

  it("16-bit video (a 12-bit camera's 0..4095 in gray16le FFV1): scaled by sixteen_bit, not cut to its high byte", async () => {
    const path = join(dir, "deep.mkv");
    const deep = Uint16Array.from(truth.frames, (v) => v * 16);
    ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray16le", "-s", `${COLS}x${ROWS}`, "-r", "30", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "gray16le", path], new Uint8Array(deep.buffer));
    const r = await runRead(path, { labels_from: "none" });
    // truth holds every value 0..255, so 0..4080 maps back to it exactly.
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect(r.meta).toMatchObject({ format: "ffmpeg", bit_depth: 16, frames: COUNT });
    const high = await runRead(path, { labels_from: "none", sixteen_bit: "high_byte" });
    expect(high.video.frames[0]).toBe(deep[0]! >> 8);
  });

  it("a folder of PNG frames named by its first frame, in natural order", async () => {
    const folder = join(dir, "prey", "fishP");
    mkdirSync(folder, { recursive: true });
    // frame2 must come before frame10: natural, not lexical, order.
    for (let i = 0; i < COUNT; i++) writeFileSync(join(folder, `frame${i}.png`), encodeGrayPng(frame(truth, i), COLS, ROWS));
    const r = await runRead(join(folder, "frame0.png"), { fps: 250 });
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect(r.meta).toMatchObject({ fps: 250, format: "images", label: 1 });
    // Matching a later frame is a mistake the message explains.
    await expect(runRead(join(folder, "frame3.png"), { fps: 250 })).rejects.toThrow(/frame3\.png is frame 4 of the 12 \.png files .* not its first \(frame0\.png\)/);
    await expect(runRead(join(folder, "frame0.png"))).rejects.toThrow(/image frames carry no frame rate: give it with the read stage's fps parameter/);
  });

  it("TIFF frames (8-bit, 16-bit, colour) via a frames.txt list, in the listed order", async () => {
    const folder = join(dir, "tiffs");
    mkdirSync(folder);
    const raw = (first: number, n: number): Uint8Array => truth.frames.subarray(first * ROWS * COLS, (first + n) * ROWS * COLS);
    ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray", "-s", `${COLS}x${ROWS}`, "-i", "-", "-c:v", "tiff", "-compression_algo", "deflate", "-pix_fmt", "gray", join(folder, "a%02d.tif")], raw(0, 6));
    // The other 6 frames as colour (R = G = B) TIFFs written by UTIF: their luma is the grey value.
    for (let i = 6; i < COUNT; i++) {
      const rgba = new Uint8Array(ROWS * COLS * 4);
      frame(truth, i).forEach((v, p) => rgba.set([v, v, v, 255], 4 * p));
      writeFileSync(join(folder, `b${i}.tiff`), Buffer.from(UTIF.encodeImage(rgba, COLS, ROWS)));
    }
    writeFileSync(join(folder, "frames.txt"), "# first the grey ones\na*.tif\n\nb6.tiff\nb7.tiff\nb8.tiff\nb9.tiff\nb10.tiff\nb11.tiff\n");
    const r = await runRead(join(folder, "frames.txt"), { fps: 300, labels_from: "none" });
    expect(r.video.count).toBe(COUNT);
    expect(Buffer.from(r.video.frames).equals(Buffer.from(truth.frames))).toBe(true);

    // 16-bit: v * 257 spans 0..65535 here, so the recording's own min-max gives back v.
    const deep = join(dir, "deep");
    mkdirSync(deep);
    const wide = new Uint16Array(truth.frames.length);
    truth.frames.forEach((v, i) => (wide[i] = v * 257));
    ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray16le", "-s", `${COLS}x${ROWS}`, "-i", "-", "-c:v", "tiff", "-pix_fmt", "gray16le", join(deep, "%03d.tif")], new Uint8Array(wide.buffer));
    const r16 = await runRead(join(deep, "001.tif"), { fps: 300, labels_from: "none" });
    expect(Buffer.from(r16.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
    expect(r16.meta["bit_depth"]).toBe(16);
    const high = await runRead(join(deep, "001.tif"), { fps: 300, labels_from: "none", sixteen_bit: "high_byte" });
    expect(Buffer.from(high.video.frames).equals(Buffer.from(truth.frames))).toBe(true);
  });
});

describe("damaged files fail their own item, naming the file and the problem", () => {
  it("truncated HDF5, MP4, AVI, PNG and TIFF; garbage with a video extension; an unknown extension", async () => {
    const cases: [string, RegExp][] = [
      [truncate(join(dir, "spon", "fish1.h5"), join(dir, "cut.h5"), 0.5), /cut\.h5.*(truncat|incomplete|damaged)/],
      [truncate(join(dir, "fish4.mp4"), join(dir, "cut.mp4"), 0.5), /cut\.mp4.*(moov atom not found|damaged|truncated)/],
      [truncate(join(dir, "raw.avi"), join(dir, "cut.avi"), 0.5), /cut\.avi is (damaged or truncated|truncated or damaged)/],
      [truncate(join(dir, "prey", "fish2.avi"), join(dir, "cut2.avi"), 0.1), /cut2\.avi/],
    ];
    const rand = lcg(4);
    writeFileSync(join(dir, "noise.avi"), Uint8Array.from({ length: 5000 }, () => Math.floor(rand() * 256)));
    cases.push([join(dir, "noise.avi"), /FFmpeg cannot read .*noise\.avi: .*Invalid data/]);
    writeFileSync(join(dir, "notes.doc"), "hello");
    cases.push([join(dir, "notes.doc"), /notes\.doc: unknown recording format "\.doc"; known: .*\.h5.*\.avi/]);

    const pngDir = join(dir, "badpng");
    mkdirSync(pngDir);
    for (let i = 0; i < 3; i++) writeFileSync(join(pngDir, `${i}.png`), encodeGrayPng(frame(truth, i), COLS, ROWS));
    truncate(join(pngDir, "1.png"), join(pngDir, "1.png"), 0.6);
    cases.push([join(pngDir, "0.png"), /cannot decode PNG image .*badpng\/1\.png/]);

    const tifDir = join(dir, "badtif");
    mkdirSync(tifDir);
    ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray", "-s", `${COLS}x${ROWS}`, "-i", "-", "-c:v", "tiff", "-pix_fmt", "gray", join(tifDir, "%d.tif")], truth.frames.subarray(0, 2 * ROWS * COLS));
    truncate(join(tifDir, "2.tif"), join(tifDir, "2.tif"), 0.5);
    cases.push([join(tifDir, "1.tif"), /cannot decode TIF image .*badtif\/2\.tif.*(truncated|past the end)/]);

    for (const [path, pattern] of cases) {
      const error = await runRead(path, { fps: 30, labels_from: "none" }).then(() => undefined, (e: Error) => e);
      expect(error, path).toBeInstanceOf(Error);
      expect(error!.message, path).toMatch(/^read: recording /);
      expect(error!.message, path).toMatch(pattern);
    }
  });

  it("HDF5 compressed with a plugin filter (h5py's lzf) names the filter and how to rewrite the file, not 'damaged'", async () => {
    // tests/fixtures/lzf.h5: h5py, video = 2 frames of 16x16, compression="lzf", framerate 300.
    const path = join(dir, "lzf.h5");
    copyFileSync(join(import.meta.dirname, "fixtures", "lzf.h5"), path);
    const error = await runRead(path, { labels_from: "none" }).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/^read: recording lzf\.h5: cannot decompress "video" in .*lzf\.h5: it is stored with the filter\(s\) lzf \(id 32000\).*rewrite it with gzip/);
    expect(error?.message).not.toMatch(/damaged/);
  });

  it("says clearly when no FFmpeg can be found", () => {
    expect(() => findFfmpeg({ env: { PATH: "" }, npm: false })).toThrow(/no FFmpeg found .*FFMPEG_PATH.*PATH.*install FFmpeg/);
    expect(() => findFfmpeg({ env: { FFMPEG_PATH: join(dir, "nope") } })).toThrow(/FFMPEG_PATH is .*nope, which is not an executable file/);
    expect(findFfmpeg({ env: { PATH: "" } }).source).toBe("npm");
  });

  it("parses FFmpeg's stream lines, not the codec tag, for the size, and 1k as 1000 fps", () => {
    const p = parseProbe("  Duration: 00:00:02.50, start: 0.000000\n    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 640x480 [SAR 1:1 DAR 4:3], 100 kb/s, 1k fps, 1k tbr (default)\n", "x.mp4");
    expect(p).toMatchObject({ rows: 480, cols: 640, fps: 1000, duration: 2.5, codec: "h264", pixelFormat: "yuv420p" });
  });
});

describe("labels", () => {
  it("from a CSV (spontaneous / prey / 0 / 1), matched by path, name or stem; missing rows fail unless kept", async () => {
    const csv = join(dir, "labels.csv");
    writeFileSync(csv, "recording,label\nspon/fish1.h5,prey\nfish3,0\n\"prey/fish2.avi\",1\n");
    const rows = readLabelCsv(csv);
    expect(rows.map((r) => [r.recording, r.label, r.line])).toEqual([["spon/fish1.h5", 1, 2], ["fish3", 0, 3], ["prey/fish2.avi", 1, 4]]);
    expect(labelFromCsv(rows, "labels.csv", "data/fish3.mov", false)).toEqual({ label: 0, from: "labels.csv line 3" });
    expect(labelFromCsv(rows, "labels.csv", "data/fish33.mov", false)).toBeUndefined();
    expect(labelFromCsv([{ recording: "fishP", label: 1, line: 2 }], "l.csv", "prey/fishP/frame0.png", true)?.label).toBe(1);

    // The CSV wins over the folder (spon/) under auto.
    expect((await runRead(join(dir, "spon", "fish1.h5"), {}, csv)).meta).toMatchObject({ label: 1, class: "prey", label_from: "labels.csv line 2" });
    await expect(runRead(join(dir, "raw.avi"), {}, csv)).rejects.toThrow(/read: recording raw\.avi: no row of labels\.csv names it: add a line raw\.avi,spontaneous \(or prey\)/);
    expect((await runRead(join(dir, "raw.avi"), { unlabelled: "keep" }, csv)).meta).not.toHaveProperty("label");
    await expect(runRead(join(dir, "raw.avi"), { labels_from: "none" }, csv)).rejects.toThrow(/labels input is given but labels_from is none/);
    await expect(runRead(join(dir, "raw.avi"), { labels_from: "csv" })).rejects.toThrow(/labels_from is csv but the stage has no labels input/);

    // A name with a comma is suggested quoted, as a CSV line must hold it; a ';' file is called so.
    const comma = join(dir, "fish, 5.h5");
    copyFileSync(join(dir, "spon", "fish1.h5"), comma);
    await expect(runRead(comma, { labels_from: "csv" }, csv)).rejects.toThrow(/names it: add a line "fish, 5\.h5",spontaneous \(or prey\)/);
    writeFileSync(join(dir, "semi.csv"), "recording;label\nfish1;prey\n");
    await expect(runRead(comma, {}, join(dir, "semi.csv"))).rejects.toThrow(/its first line is: recording;label; its columns are separated by ";": save it with commas/);

    writeFileSync(join(dir, "bad.csv"), "recording,label\nfish1,maybe\n");
    await expect(runRead(join(dir, "raw.avi"), {}, join(dir, "bad.csv"))).rejects.toThrow(/line 2: label "maybe" is none of spontaneous, spon, 0, prey, 1/);
    writeFileSync(join(dir, "both.csv"), "recording,label\nfish1,prey\nspon/fish1.h5,spon\n");
    await expect(runRead(join(dir, "spon", "fish1.h5"), {}, join(dir, "both.csv"))).rejects.toThrow(/gives spon\/fish1\.h5 both classes/);
  });

  it("from folder names, the nearest one on the path; none found fails under labels_from folder", async () => {
    const folders = DEFAULTS.label_folders;
    expect(labelFromFolder("data/Prey/day1/fish.avi", folders)).toEqual({ label: 1, from: "folder Prey" });
    expect(labelFromFolder("prey/spon/fish.avi", folders)?.label).toBe(0);
    expect(labelFromFolder("spon.avi", folders)).toBeUndefined();
    expect((await runRead(join(dir, "prey", "fish2.avi"), { labels_from: "folder" })).meta).toMatchObject({ label: 1, class: "prey" });
    expect((await runRead(join(dir, "raw.avi"))).meta).not.toHaveProperty("label"); // auto: no such folder, unlabelled
    await expect(runRead(join(dir, "raw.avi"), { labels_from: "folder" })).rejects.toThrow(/no folder on its path is named spon or spontaneous or prey/);
  });
});

describe("in a pipeline", () => {
  it("with --keep-going, a corrupt recording fails alone and the others are read", async () => {
    const { workspace, run } = await import("./helpers/workspace.js");
    const ws = workspace(`stages:\n  read:\n    inputs: { videos: { glob: "data/*.h5" } }\n    params: { gzip: 1 }\n`, false);
    mkdirSync(join(ws, "data"));
    copyFileSync(join(dir, "spon", "fish1.h5"), join(ws, "data", "good.h5"));
    truncate(join(dir, "spon", "fish1.h5"), join(ws, "data", "bad.h5"), 0.4);
    try {
      const outcome = await run(ws, { keepGoing: true, jobs: 1 });
      expect(outcome.ok).toBe(false);
      expect(outcome.ran).toEqual(["read[data/good.h5]"]);
      expect(outcome.failed).toEqual(["read[data/bad.h5]"]);
      const failure = outcome.events.find((e) => e.type === "task-failed") as { error: string };
      expect(failure.error).toMatch(/read: recording data\/bad\.h5: cannot open HDF5 file .*bad\.h5/);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
