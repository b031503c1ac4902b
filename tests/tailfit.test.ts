import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fitTail, type TailFitOptions } from "../lib/tail/fit.js";
import { minMaxNormalize, mirrorX } from "../lib/image/ops.js";
import { readHdf5Video, writeHdf5Arrays } from "../lib/video/hdf5.js";
import { defaultTailfitParams, fitOptions } from "../stages/tailfit/params.js";
import { run, workspace } from "./helpers/workspace.js";
import { STYTRA_FILE, sharedFile } from "./helpers/shared-data.js";

const CROP = 128;
const OPTIONS: TailFitOptions = fitOptions(defaultTailfitParams(), CROP, CROP);

/** Deterministic noise, so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A midline: dense (x, y) points from the base to the tip. */
type Midline = number[];

/** Integrates a curvature profile (rad/px, as a function of arc length) from (x0, y0) heading +x. */
function midline(length: number, curvature: (s: number) => number, x0 = 4, y0 = CROP / 2): Midline {
  const ds = 0.25;
  const out = [x0, y0];
  let x = x0;
  let y = y0;
  let theta = 0;
  for (let s = 0; s < length; s += ds) {
    theta += curvature(s) * ds;
    x += ds * Math.cos(theta);
    y += ds * Math.sin(theta);
    out.push(x, y);
  }
  return out;
}

/**
 * A dark tapered tail along a midline on a bright background, with noise: the darkness falls off
 * with the distance to the midline over a half-width that tapers from 5 px at the base to 1 px at
 * the tip (anti-aliased edge), like a larva's tail in a 128-px crop.
 */
function drawTail(line: Midline, seed: number, background = 225, depth = 110): Uint8Array {
  const img = new Float32Array(CROP * CROP).fill(background);
  const n = line.length / 2;
  const length = (n - 1) * 0.25;
  for (let i = 0; i + 1 < n; i++) {
    const ax = line[2 * i]!;
    const ay = line[2 * i + 1]!;
    const half = 5 - (4 * i * 0.25) / length;
    for (let y = Math.floor(ay - half - 1); y <= ay + half + 1; y++) {
      for (let x = Math.floor(ax - half - 1); x <= ax + half + 1; x++) {
        if (x < 0 || y < 0 || x >= CROP || y >= CROP) continue;
        const d = Math.hypot(x - ax, y - ay);
        const cover = Math.min(1, Math.max(0, half - d + 0.5));
        // Thicker in the middle: darker towards the midline.
        const dark = depth * cover * (0.6 + 0.4 * Math.max(0, 1 - d / Math.max(half, 1)));
        const v = background - dark;
        if (v < img[y * CROP + x]!) img[y * CROP + x] = v;
      }
    }
  }
  const random = lcg(seed);
  const out = new Uint8Array(CROP * CROP);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img[i]! + 3 * (random() + random() + random() - 1.5))));
  return out;
}

function distanceToLine(x: number, y: number, line: Midline): number {
  let best = Infinity;
  for (let i = 0; i + 3 < line.length; i += 2) {
    const ax = line[i]!;
    const ay = line[i + 1]!;
    const dx = line[i + 2]! - ax;
    const dy = line[i + 3]! - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
    best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
  }
  return best;
}

function video(lines: Midline[]): Uint8Array {
  const v = new Uint8Array(lines.length * CROP * CROP);
  lines.forEach((l, f) => v.set(drawTail(l, 17 + f), f * CROP * CROP));
  return v;
}

/** Median and largest distance of the fitted points to the true midlines, over all frames. */
function errors(xy: Float32Array, points: number, lines: Midline[]): { median: number; max: number } {
  const d: number[] = [];
  lines.forEach((line, f) => {
    for (let k = 0; k < points; k++) d.push(distanceToLine(xy[2 * (f * points + k)]!, xy[2 * (f * points + k) + 1]!, line));
  });
  d.sort((a, b) => a - b);
  return { median: d[d.length >> 1]!, max: d[d.length - 1]! };
}

describe("tail fitting on drawn tails", () => {
  it("follows a straight tail to its tip, points one step apart", () => {
    const lines = [midline(100, () => 0)];
    const fit = fitTail(video(lines), 1, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    const e = errors(fit.xy, fit.points, lines);
    expect(e.median).toBeLessThan(0.3);
    expect(e.max).toBeLessThan(1);
    // The tail runs from x = 4 to 104; the start is x = 8: about 96 px / 2.5 px, less the faint tip.
    expect(fit.points).toBeGreaterThanOrEqual(34);
    expect(fit.points).toBeLessThanOrEqual(40);
    for (let k = 1; k < fit.points; k++) {
      expect(Math.hypot(fit.xy[2 * k]! - fit.xy[2 * k - 2]!, fit.xy[2 * k + 1]! - fit.xy[2 * k - 1]!)).toBeCloseTo(OPTIONS.step, 4);
    }
  });

  it("follows a bent tail (curvature growing towards the tip, 75 deg at the tip)", () => {
    const L = 100;
    const lines = [midline(L, (s) => ((2 * 75) / 180) * Math.PI * (s / (L * L)))];
    const fit = fitTail(video(lines), 1, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    const e = errors(fit.xy, fit.points, lines);
    expect(e.median).toBeLessThan(0.4);
    expect(e.max).toBeLessThan(1.5);
  });

  it("follows a tail beating over 40 frames (a travelling wave), with the same number of points in every frame", () => {
    const L = 100;
    const lines = Array.from({ length: 40 }, (_, f) => midline(L, (s) => 0.05 * (s / L) * Math.sin(2 * Math.PI * (f / 12 - s / 80))));
    const fit = fitTail(video(lines), lines.length, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    const e = errors(fit.xy, fit.points, lines);
    expect(e.median).toBeLessThan(0.4);
    expect(e.max).toBeLessThan(2);
    expect(fit.xy.length).toBe(40 * fit.points * 2);
  });

  it("fails with a reason on a frame without a tail", () => {
    const blank = drawTail([], 3);
    const fit = fitTail(blank, 1, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(false);
    if (fit.ok) return;
    expect(fit.reason).toMatch(/^no tail at the start point: in frame 0/);
  });

  it("fails with a reason when the tail is too short", () => {
    const fit = fitTail(video([midline(15, () => 0)]), 1, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.reason).toMatch(/^too few points: the tail ended after \d points/);
  });

  it("fails with a reason when the tail leaves the frame in a later frame", () => {
    // Frame 0 at rest; then the tail curls up and out through the crop's top edge.
    const L = 100;
    const lines = [midline(L, () => 0), midline(L, () => -0.012), midline(L, () => -0.022)];
    const fit = fitTail(video(lines), 3, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.reason).toMatch(/^points off the frame: point \d+ of \d+ left the 128x128 frame at .* in frame 2/);
  });

  it("fails with a reason when the tail vanishes in a later frame", () => {
    const L = 100;
    const frames = new Uint8Array(2 * CROP * CROP);
    frames.set(drawTail(midline(L, () => 0), 1), 0);
    // Only the first 30 px remain: most points have no contrast.
    frames.set(drawTail(midline(30, () => 0), 2), CROP * CROP);
    const fit = fitTail(frames, 2, CROP, CROP, OPTIONS);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.reason).toMatch(/^tail lost: in frame 1, \d+ of \d+ points had no contrast/);
  });
});

const stytra = sharedFile(STYTRA_FILE, "tail fitting on the real Stytra recording");
const STYTRA = stytra.path;

describe.skipIf(!stytra.present)("tail fitting on the real Stytra recording", () => {
  it("traces the tail in every frame, nearly to its tip", async () => {
    const video = await readHdf5Video(STYTRA);
    const size = video.rows * video.cols;
    const frames = new Uint8Array(video.frames.length);
    // Head on the right: mirror to the paper's orientation; normalise each frame as extract does.
    for (let f = 0; f < video.count; f++) frames.set(minMaxNormalize(mirrorX(video.frames.subarray(f * size, (f + 1) * size), video.cols)), f * size);
    // The bladder's tail-side end is at (15, 25) after mirroring (lib/detect/bladder.ts finds it there).
    const o = { ...fitOptions({ ...defaultTailfitParams(), step_px: 2.5 }, video.rows, video.cols), startX: 18, startY: 25 };
    const fit = fitTail(frames, video.count, video.rows, video.cols, o);
    expect(fit.ok).toBe(true);
    if (!fit.ok) return;
    // The tail runs from x = 15 to about x = 132: at least 100 px of it traced.
    expect((fit.points - 1) * o.step).toBeGreaterThan(100);
    // Every fitted point lies on dark pixels (the background is about 220 after normalisation).
    let dark = 0;
    for (let f = 0; f < video.count; f++) {
      for (let k = 0; k < fit.points; k++) {
        const x = Math.round(fit.xy[2 * (f * fit.points + k)]!);
        const y = Math.round(fit.xy[2 * (f * fit.points + k) + 1]!);
        if (frames[f * size + y * video.cols + x]! < 200) dark++;
      }
    }
    expect(dark / (video.count * fit.points)).toBeGreaterThan(0.95);
  });
});

describe("tailfit and features stages through the engine", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("fits a tail per event file, marks an event without a tail as failed, and measures the fitted one", async () => {
    const dir = workspace(`stages:
  tailfit:
    inputs: { events: { glob: "events/*.h5" } }
    params: { preview: true }
  features:
    inputs: { tails: tailfit.tails }
`, false);
    dirs.push(dir);
    mkdirSync(join(dir, "events"));
    const L = 100;
    const beating = Array.from({ length: 12 }, (_, f) => midline(L, (s) => 0.05 * (s / L) * Math.sin(2 * Math.PI * (f / 12 - s / 80))));
    await writeHdf5Arrays(join(dir, "events", "good.h5"), [{ name: "frames", data: video(beating), shape: [12, CROP, CROP] }], { fps: 300 });
    await writeHdf5Arrays(join(dir, "events", "blank.h5"), [{ name: "frames", data: drawTail([], 5), shape: [1, CROP, CROP] }], { fps: 300 });
    const outcome = await run(dir);
    expect(outcome.failed).toEqual([]);
    const tails = JSON.parse(readFileSync(join(dir, "results", "tailfit", "tails", "manifest.json"), "utf8"));
    const meta = Object.fromEntries(tails.items.map((i: { id: string; meta: { tailfit: string } }) => [i.id, i.meta]));
    expect(meta["events/good.h5"].tailfit).toBe("ok");
    expect(meta["events/blank.h5"]).toMatchObject({ tailfit: "failed", reason: expect.stringMatching(/^no tail at the start point/) });
    expect(existsSync(join(dir, "results", "tailfit", "tails", "events", "good.h5", "preview.png"))).toBe(true);
    const good = JSON.parse(readFileSync(join(dir, "results", "features", "features", "events", "good.h5", "features.json"), "utf8"));
    expect(good.status).toBe("ok");
    expect(good.vector).toHaveLength(5);
    expect(good.features.max_tail_angle_deg).toBeGreaterThan(3);
    const blank = JSON.parse(readFileSync(join(dir, "results", "features", "features", "events", "blank.h5", "features.json"), "utf8"));
    expect(blank).toMatchObject({ status: "failed", reason: expect.stringMatching(/^no tail at the start point/) });
  });
});
