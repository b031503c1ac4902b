import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ArtifactOut, CollectionOut, ItemIn, JsonObject } from "../engine/stage-api.js";
import { cropImage, minMaxNormalize, mirrorX } from "../lib/image/ops.js";
import { readHdf5Video, writeHdf5Video } from "../lib/video/hdf5.js";
import { makeVideo, type Video } from "../lib/video/types.js";
import extract from "../stages/extract/index.js";
import read from "../stages/read/index.js";
import { withSchemaDefaults } from "./helpers/params.js";
import { lcg, stageContext } from "./helpers/video-stage.js";
import { STYTRA_FILE, sharedFile } from "./helpers/shared-data.js";

const stytra = sharedFile(STYTRA_FILE, "extract on the real Stytra recording");
const STYTRA = stytra.path;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "extract-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 160;
const COLS = 200;
/** Frames where the tail moves: two bouts, and a 4-frame twitch that is no event while 6-frame runs exist. */
const BOUTS: [number, number][] = [[50, 70], [250, 262]];
const TWITCH: [number, number] = [150, 154];
const BLADDER = { x: 60, y: 80 };

function fillEllipse(img: Uint8Array, cx: number, cy: number, rx: number, ry: number, value: number): void {
  for (let y = Math.floor(cy - ry); y <= cy + ry; y++) {
    for (let x = Math.floor(cx - rx); x <= cx + rx; x++) if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) img[y * COLS + x] = value;
  }
}

/**
 * A head-left fish on a bright noisy background: dark eyes, the darkest blob (the bladder) with
 * its right end near x = 70, and a dark tail blob that jumps up and down in the moving frames.
 */
function fishVideo(count: number, fps: number): Video {
  const v = makeVideo(count, ROWS, COLS, fps);
  const rand = lcg(3);
  let offset = 0;
  const moves = (i: number): boolean => [...BOUTS, TWITCH].some(([s, e]) => s <= i && i < e);
  for (let i = 0; i < count; i++) {
    const f = v.frames.subarray(i * ROWS * COLS, (i + 1) * ROWS * COLS);
    for (let p = 0; p < f.length; p++) f[p] = 225 + Math.floor(rand() * 10);
    fillEllipse(f, BLADDER.x - 30, BLADDER.y - 12, 7, 5, 30); // eyes
    fillEllipse(f, BLADDER.x - 30, BLADDER.y + 12, 7, 5, 30);
    fillEllipse(f, BLADDER.x, BLADDER.y, 10, 6, 2); // bladder
    if (moves(i)) offset = offset === 0 ? 8 : 0;
    fillEllipse(f, BLADDER.x + 50, BLADDER.y + offset, 22, 5, 130); // tail: lighter than the bladder after gamma
  }
  return v;
}

function recordingItem(path: string, meta: JsonObject): ItemIn {
  return { id: "rec000", files: { video: path }, meta: { fps: 300, ...meta } };
}

interface Extracted {
  events: { id: string; frames: Video; meta: JsonObject }[];
  report: Record<string, unknown>;
  reportMeta: JsonObject;
  preview: PNG;
  logs: string[];
}

async function runExtract(path: string, params: object = {}, meta: JsonObject = {}): Promise<Extracted> {
  const ctx = stageContext(dir, "rec000");
  const out = await extract.run(ctx, withSchemaDefaults(extract, params), { recordings: recordingItem(path, meta) });
  const events = await Promise.all((out.events as CollectionOut).items.map(async (it) => ({
    id: it.id,
    frames: await readHdf5Video(join(ctx.outDir, it.files!["frames"]!), { dataset: "frames" }),
    meta: it.meta!,
  })));
  const reports = (out.reports as ArtifactOut).files!;
  return {
    events,
    report: JSON.parse(readFileSync(join(ctx.outDir, reports["report"]!), "utf8")) as Record<string, unknown>,
    reportMeta: (out.reports as ArtifactOut).meta!,
    preview: PNG.sync.read(readFileSync(join(ctx.outDir, reports["preview"]!))),
    logs: ctx.logs,
  };
}

/** The paper's motion detection, for the tests of its thresholds and runs. */
const PAPER = { method: "paper" };

/** The default run (crop 96, the paper's detection) on the 300 fps fish, shared by several tests. */
let standard: Promise<Extracted> | undefined;
const standardRun = (): Promise<Extracted> => (standard ??= runExtract(fish300, { crop_size: 96, motion: PAPER }));

let fish300: string;
let fish200: string;
let fishRight: string;
let source: Video;
beforeAll(async () => {
  source = fishVideo(400, 300);
  fish300 = join(dir, "fish300.h5");
  fish200 = join(dir, "fish200.h5");
  fishRight = join(dir, "right.h5");
  await writeHdf5Video(fish300, source, { gzip: 1 });
  await writeHdf5Video(fish200, { ...source, fps: 200 }, { gzip: 1 });
  const mirrored = new Uint8Array(source.frames.length);
  for (let i = 0; i < source.count; i++) mirrorX(source.frames.subarray(i * ROWS * COLS, (i + 1) * ROWS * COLS), COLS, mirrored.subarray(i * ROWS * COLS, (i + 1) * ROWS * COLS));
  await writeHdf5Video(fishRight, { ...source, frames: mirrored }, { gzip: 1 });
});

describe("extract on a synthetic recording", () => {
  it("cuts events that contain the drawn bouts, 15 frames before the onset, 150 long; drops nothing that fits", async () => {
    const r = await standardRun();
    expect(r.events.map((e) => [e.id, e.meta["start"], e.meta["end"], e.meta["onset"]])).toEqual([["ev00", 35, 185, 50], ["ev01", 235, 385, 250]]);
    for (const [s, e] of BOUTS) expect(r.events.some((ev) => (ev.meta["start"] as number) <= s && e <= (ev.meta["end"] as number))).toBe(true);
    expect((r.report["motion"] as { min_run_used: number }).min_run_used).toBe(6);
    expect(r.report["dropped"]).toEqual([]); // the twitch is a 4-frame run: no trigger while 6-frame runs exist
  });

  it("crops at the bladder (left = x - 10, centred on its row), inside the frame, and normalises every frame", async () => {
    const r = await standardRun();
    const bladder = r.report["bladder"] as { x: number; y: number; found: boolean };
    expect(bladder.found).toBe(true);
    expect(Math.abs(bladder.x - (BLADDER.x + 10))).toBeLessThanOrEqual(2);
    expect(bladder.y).toBe(BLADDER.y);
    const crop = r.events[0]!.meta["crop"] as { top: number; left: number; width: number; height: number };
    expect(crop).toEqual({ top: bladder.y - 48, left: bladder.x - 10, width: 96, height: 96 });
    expect(crop.left >= 0 && crop.top >= 0 && crop.left + crop.width <= COLS && crop.top + crop.height <= ROWS).toBe(true);

    // Byte for byte: each event frame is the crop of the source frame, min-max normalised.
    const ev = r.events[1]!;
    expect([ev.frames.count, ev.frames.rows, ev.frames.cols, ev.frames.fps]).toEqual([150, 96, 96, 300]);
    for (const k of [0, 17, 149]) {
      const src = source.frames.subarray((235 + k) * ROWS * COLS, (236 + k) * ROWS * COLS);
      const expected = minMaxNormalize(cropImage(src, COLS, crop));
      expect(Buffer.from(ev.frames.frames.subarray(k * 96 * 96, (k + 1) * 96 * 96)).equals(Buffer.from(expected))).toBe(true);
    }
    expect(ev.meta).toMatchObject({ recording: "rec000", frames: 150, rows: 96, cols: 96, mirrored: false });
  });

  it("clamps a crop that would leave the frame back inside it", async () => {
    const big = await runExtract(fish300, { crop_size: 150 });
    const crop = big.events[0]!.meta["crop"] as { top: number; left: number; width: number; height: number };
    // left = x - 10 = 60 would end at 210 > 200: shifted left to end at the frame's edge.
    expect(crop).toEqual({ top: BLADDER.y - 75, left: COLS - 150, width: 150, height: 150 });
  });

  it("durations in milliseconds give the same 500 ms events at 200 fps as at 300 fps", async () => {
    const events = { length: { ms: 500 }, buffer: { ms: 50 } };
    const at300 = await runExtract(fish300, { crop_size: 96, events, motion: PAPER });
    const at200 = await runExtract(fish200, { crop_size: 96, events, motion: PAPER }, { fps: 200 });
    expect(at300.events.map((e) => [e.meta["start"], e.frames.count])).toEqual([[35, 150], [235, 150]]);
    expect(at200.events.map((e) => [e.meta["start"], e.frames.count])).toEqual([[40, 100], [240, 100]]);
    expect((at200.report["durations"] as Record<string, unknown>)["length"]).toEqual({ frames: 100, given: "500 ms at 200 fps" });
    await expect(runExtract(fish300, { events: { length: { ms: 1 } } })).rejects.toThrow(/events\.length is 1 ms at 300 fps = 0 frames/);
  });

  it("a head-right recording (from its meta) gives the very same events, mirrored back to head-left", async () => {
    const left = await standardRun();
    const right = await runExtract(fishRight, { crop_size: 96, motion: PAPER }, { orientation: "head-right" });
    expect(right.report["orientation"]).toBe("head-right");
    expect(right.events.map((e) => e.meta["start"])).toEqual(left.events.map((e) => e.meta["start"]));
    for (const [k, e] of right.events.entries()) {
      expect(e.meta["mirrored"]).toBe(true);
      expect(Buffer.from(e.frames.frames).equals(Buffer.from(left.events[k]!.frames.frames))).toBe(true);
    }
  });

  it("writes a report and a preview picture for a person", async () => {
    const r = await standardRun();
    expect(r.report).toMatchObject({ recording: "rec000", frames: 400, fps: 300, crop: { width: 96, height: 96, requested: 96, shrunk_to_frame: false } });
    expect((r.report["events"] as unknown[]).length).toBe(2);
    expect((r.report["motion"] as { moving_frames: number }).moving_frames).toBe(20 + 12 + 4);
    expect(r.preview.width).toBeGreaterThanOrEqual(COLS * 2);
    // The crop outline is green where the crop's top-left corner is drawn.
    const crop = r.events[0]!.meta["crop"] as { top: number; left: number };
    const scale = Math.floor(512 / COLS);
    const at = (4 * ((11 + crop.top * scale) * r.preview.width + crop.left * scale));
    expect([r.preview.data[at], r.preview.data[at + 1], r.preview.data[at + 2]]).toEqual([40, 220, 60]);
  });

  it("fails a recording without a bladder with the reason and what to try, or crops the centre when asked", async () => {
    const flat = join(dir, "flat.h5");
    const v = makeVideo(200, 64, 64, 300);
    v.frames.fill(120);
    await writeHdf5Video(flat, v, { gzip: 1 });
    await expect(runExtract(flat)).rejects.toThrow(/extract: recording rec000: no swim bladder on the first frame: the frame is flat.*raise bladder\.threshold.*on_missing_bladder: centre/);
    const centre = await runExtract(flat, { on_missing_bladder: "centre", crop_size: 32, events: { fallback_window: true } });
    expect(centre.events[0]!.meta["crop"]).toEqual({ top: 16, left: 16, width: 32, height: 32 });
    expect(centre.report["fallback"]).toMatch(/one FALLBACK event from frame 0/);
  });
});

describe("a recording where no bout is detected", () => {
  let still: string;
  beforeAll(async () => {
    still = join(dir, "still.h5");
    const v = fishVideo(400, 300);
    // Every frame the first one: the tail never moves.
    for (let i = 1; i < v.count; i++) v.frames.copyWithin(i * ROWS * COLS, 0, ROWS * COLS);
    await writeHdf5Video(still, v, { gzip: 1 });
  });

  it("gives no event by default, and says so in the log, the report and the report item's meta", async () => {
    const r = await runExtract(still, { crop_size: 96 });
    expect(r.events).toEqual([]);
    expect(r.logs.join("\n")).toMatch(/warning: rec000: no bout detected \(no 6 frames with more than 6 changed pixels in the tail band\): no event from this recording.*fallback_window: true/);
    const paper = await runExtract(still, { crop_size: 96, motion: PAPER });
    expect(paper.events).toEqual([]);
    expect(paper.logs.join("\n")).toMatch(/warning: rec000: no bout detected \(no run of 6 \(or 3\) moving frames\): no event from this recording/);
    expect(r.report).toMatchObject({ no_bout: true, events: [] });
    expect(r.reportMeta).toMatchObject({ events: 0, no_bout: true, fallback_window: false });
  });

  it("gives the paper's frame-0 window only when asked, flagged as a fallback everywhere", async () => {
    const r = await runExtract(still, { crop_size: 96, events: { fallback_window: true } });
    expect(r.events.map((e) => [e.meta["start"], e.meta["onset"], e.meta["fallback"]])).toEqual([[0, null, true]]);
    expect(r.logs.join("\n")).toMatch(/warning: rec000: no bout detected .*one FALLBACK event from frame 0 to 150/);
    expect(r.reportMeta).toMatchObject({ events: 1, no_bout: true, fallback_window: true });
  });

  it("the default (adaptive) detection finds the drawn bouts at their onsets, not the 4-frame twitch", async () => {
    const r = await runExtract(fish300, { crop_size: 96 });
    expect(r.events.map((e) => [e.meta["start"], e.meta["onset"]])).toEqual([[35, 50], [235, 250]]);
    expect(r.report["motion"]).toMatchObject({ method: "adaptive", bouts: [{ onset: 50, offset: 69 }, { onset: 250, offset: 261 }] });
  });

  it("a recording with bouts is no fallback, and the log names each onset beside its window's start", async () => {
    const r = await standardRun();
    expect(r.events.map((e) => e.meta["fallback"])).toEqual([false, false]);
    expect(r.reportMeta).toMatchObject({ no_bout: false, fallback_window: false });
    expect(r.logs.join("\n")).toMatch(/2 events: onset 50 \(window from 35\), onset 250 \(window from 235\)/);
    expect(r.logs.join("\n")).not.toMatch(/warning/);
  });
});

describe.skipIf(!stytra.present)("the real Stytra recording with examples/stytra.yaml", () => {
  it("finds its two swim bouts and crops the tail, eyes outside", async () => {
    const pipeline = parse(readFileSync("examples/stytra.yaml", "utf8")) as { stages: Record<string, { params: object }> };
    const readCtx = stageContext(dir, "stytra");
    const recording = (await read.run(readCtx, withSchemaDefaults(read, pipeline.stages["read"]!.params), {
      videos: { id: "stytra", files: { data: STYTRA }, meta: { path: "stytra-head-embedded.h5" } },
    })).recordings as ArtifactOut;
    const meta = recording.meta!;
    expect(meta).toMatchObject({ fps: 200, frames: 220, rows: 70, cols: 148, orientation: "head-right" });

    const ctx = stageContext(dir, "stytra");
    const params = withSchemaDefaults(extract, pipeline.stages["extract"]!.params);
    const out = await extract.run(ctx, params, { recordings: { id: "stytra", files: { video: join(readCtx.outDir, recording.files!["video"]!) }, meta } });
    const events = (out.events as CollectionOut).items;
    const report = JSON.parse(readFileSync(join(ctx.outDir, "report.json"), "utf8")) as { bladder: { x: number; y: number }; crop: object; motion: object };
    expect(events.map((e) => [e.meta!["start"], e.meta!["end"], e.meta!["onset"]])).toEqual([[9, 109, 19], [120, 220, 178]]);
    expect([report.bladder.x, report.bladder.y]).toEqual([102, 34]);
    // Columns 0..127 hold the body and the tail; the eyes start at about x = 130.
    expect(report.crop).toMatchObject({ top: 0, left: 0, width: 128, height: 70, shrunk_to_frame: true });
    expect(ctx.logs.join("\n")).toMatch(/the frame \(148x70\) is smaller than the 128-px crop: the crop is 128x70/);
    expect(events[0]!.meta!["mirrored"]).toBe(true);

    expect(report.motion).toMatchObject({ method: "adaptive" });

    // The paper's detection, with the threshold the example's comment gives, finds the same two onsets.
    const paperCtx = stageContext(dir, "stytra");
    const paperParams = withSchemaDefaults(extract, { ...pipeline.stages["extract"]!.params, motion: { method: "paper", threshold: 160, hold_duplicates: true } });
    const paper = await extract.run(paperCtx, paperParams, { recordings: { id: "stytra", files: { video: join(readCtx.outDir, recording.files!["video"]!) }, meta } });
    expect((paper.events as CollectionOut).items.map((e) => e.meta!["onset"])).toEqual([19, 178]);
  });
});
