import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactOut, ItemIn } from "../engine/stage-api.js";
import { readHdf5Video, writeHdf5Arrays } from "../lib/video/hdf5.js";
import mask, { type MaskParams } from "../stages/mask/index.js";
import { PAPER_REGIONS, regionRect } from "../lib/image/regions.js";
import { STYTRA_FILE, sharedFile } from "./helpers/shared-data.js";
import { lcg, stageContext } from "./helpers/video-stage.js";

const COUNT = 6;
const ROWS = 100;
const COLS = 120;

let dir: string;
let original: Uint8Array;
let eventPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mask-"));
  const rand = lcg(21);
  // No pixel is 255 or 7 to begin with, so a masked pixel is always a changed one.
  original = Uint8Array.from({ length: COUNT * ROWS * COLS }, () => 8 + Math.floor(rand() * 240));
  eventPath = join(dir, "ev00.h5");
  await writeHdf5Arrays(eventPath, [{ name: "frames", data: original, shape: [COUNT, ROWS, COLS], chunks: [1, ROWS, COLS], gzip: 1 }], { start: 35, onset: 50, fps: 300 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENT_META = { recording: "rec000", start: 35, end: 185, onset: 50, fps: 300, crop: { top: 1, left: 2, width: COLS, height: ROWS } };

async function runMask(params: Partial<MaskParams>): Promise<{ frames: Uint8Array; meta: Record<string, unknown> }> {
  const ctx = stageContext(dir, "rec000/ev00");
  const item: ItemIn = { id: "rec000/ev00", files: { frames: eventPath }, meta: EVENT_META };
  const out = (await mask.run(ctx, { regions: PAPER_REGIONS, value: 255, gzip: 1, ...params }, { events: item })).events as ArtifactOut;
  const video = await readHdf5Video(join(ctx.outDir, out.files!["frames"]!), { dataset: "frames" });
  expect([video.count, video.rows, video.cols, video.fps]).toEqual([COUNT, ROWS, COLS, 300]);
  return { frames: video.frames, meta: out.meta! };
}

/** Every pixel inside a region has `value`; every other pixel is the original byte. */
function expectMasked(frames: Uint8Array, inside: (r: number, c: number) => boolean, value: number): void {
  let changed = 0;
  for (let f = 0; f < COUNT; f++) {
    for (let r = 0; r < ROWS; r++) {
      for (let c = 0; c < COLS; c++) {
        const i = (f * ROWS + r) * COLS + c;
        const want = inside(r, c) ? value : original[i]!;
        if (frames[i] !== want) throw new Error(`frame ${f} (${r}, ${c}): ${frames[i]}, expected ${want}`);
        if (frames[i] !== original[i]) changed++;
      }
    }
  }
  expect(changed).toBe(COUNT * Array.from({ length: ROWS * COLS }, (_, i) => inside(Math.floor(i / COLS), i % COLS)).filter(Boolean).length);
}

describe("mask", () => {
  it("the paper's default: the upper-left and lower-left 85 x 85 squares white, every other pixel byte-identical", async () => {
    const { frames, meta } = await runMask({});
    expectMasked(frames, (r, c) => c < 85 && (r < 85 || r >= ROWS - 85), 255);
    expect(meta["mask"]).toEqual({ regions: [{ top: 0, left: 0, width: 85, height: 85 }, { top: 15, left: 0, width: 85, height: 85 }], value: 255 });
  });

  it("any corner, rectangles, explicit rectangles clipped to the frame, any value", async () => {
    const regions = [{ corner: "top-right" as const, size: { width: 10, height: 20 } }, { corner: "bottom-right" as const, size: 5 }, { top: 90, left: 50, width: 40, height: 30 }];
    const { frames } = await runMask({ regions, value: 7 });
    expectMasked(frames, (r, c) => (r < 20 && c >= COLS - 10) || (r >= ROWS - 5 && c >= COLS - 5) || (r >= 90 && c >= 50 && c < 90), 7);
  });

  it("regions: [] changes nothing (the run before the correction)", async () => {
    const { frames, meta } = await runMask({ regions: [] });
    expect(Buffer.from(frames).equals(Buffer.from(original))).toBe(true);
    expect(meta["mask"]).toEqual({ regions: [], value: 255 });
  });

  it("a region outside the frames is an error that says the units", async () => {
    await expect(runMask({ regions: [{ top: 200, left: 0, width: 10, height: 10 }] })).rejects.toThrow(/mask: event rec000\/ev00: mask region \{top 200, left 0, 10x10\} lies outside the 120x100 frames: give it in pixels of the event's frames/);
    expect(regionRect({ corner: "bottom-left", size: 300 }, 100, 120)).toEqual({ top: 0, left: 0, width: 120, height: 100 });
  });
});

describe("in a pipeline", () => {
  const stytra = sharedFile(STYTRA_FILE, "the mask pipeline test on the real Stytra recording");
  it.skipIf(!stytra.present)("changing the mask reruns mask only, never read or extract", async () => {
    const { workspace, run } = await import("./helpers/workspace.js");
    // The example names the recordings relative to examples/; the test's workspace is elsewhere.
    const example = readFileSync("examples/stytra.yaml", "utf8")
      .replace("../../shared/data/real/*.h5", join(dirname(stytra.path), "*.h5"))
      .replace(/^seed: 0\n/m, "");
    const ws = workspace(`${example}  mask:\n    inputs: { events: extract.events }\n    params: { regions: [{ corner: top-left, size: 20 }] }\n`, false);
    try {
      const first = await run(ws, { jobs: 2 });
      expect(first.ok).toBe(true);
      expect(first.ran.filter((t) => t.startsWith("mask["))).toHaveLength(2);
      const second = await run(ws, { jobs: 2, set: ["mask.regions=[]"] });
      expect(second.ok).toBe(true);
      expect(second.ran.map((t) => t.replace(/\[.*\/(ev\d+)\]$/, "[$1]"))).toEqual(["mask[ev00]", "mask[ev01]"]);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
