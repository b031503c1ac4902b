import { describe, expect, it } from "vitest";
import { grayMat, loadOpenCV, type Mat } from "../lib/cv/opencv.js";
import { BLADDER_DEFAULTS, bladderParams, cropAroundBladder, detectBladder } from "../lib/detect/bladder.js";
import { classifyMotion, cutEvents, motionProfile, motionRuns, movingFrames } from "../lib/detect/motion.js";
import { gammaLut, minMaxNormalize, mirrorX, skewness } from "../lib/image/ops.js";
import { readHdf5Video } from "../lib/video/hdf5.js";
import { cropVideo, normalizeFrames } from "../lib/video/transform.js";
import { frameAt, makeVideo, type Video } from "../lib/video/types.js";
import { STYTRA_FILE, sharedFile } from "./helpers/shared-data.js";

const stytra = sharedFile(STYTRA_FILE, "the bladder and motion tests on the real Stytra recording");
const STYTRA = stytra.path;

/** Deterministic noise (a linear congruential generator), so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function fillEllipse(img: Uint8Array, cols: number, cx: number, cy: number, rx: number, ry: number, value: number): void {
  for (let y = Math.floor(cy - ry); y <= cy + ry; y++) {
    for (let x = Math.floor(cx - rx); x <= cx + rx; x++) {
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) img[y * cols + x] = value;
    }
  }
}

function fillBox(img: Uint8Array, cols: number, x0: number, y0: number, x1: number, y1: number, value: number): void {
  for (let y = y0; y < y1; y++) img.fill(value, y * cols + x0, y * cols + x1);
}

interface FishOptions {
  /** Bladder centre; its right edge is at bx + 10, row by. */
  bx?: number;
  by?: number;
  eye?: number;
  tail?: number;
  speck?: boolean;
}

/**
 * A 300 x 400 dorsal view, head left: a noisy background brightening to the right, a light
 * body, two dark eyes, the darkest blob (the bladder, an ellipse 21 x 15 px, its right edge at
 * (bx + 10, by)) just behind them, and a tail running right from the bladder's edge.
 */
function fishFrame({ bx = 130, by = 150, eye = 12, tail = 150, speck = false }: FishOptions = {}): { pixels: Uint8Array; rows: number; cols: number } {
  const rows = 300;
  const cols = 400;
  const rand = lcg(7);
  const img = Uint8Array.from({ length: rows * cols }, (_, i) => 150 + Math.floor((60 * (i % cols)) / cols) + Math.floor(rand() * 16));
  fillBox(img, cols, bx - 40, by - 12, bx + 10, by + 13, 140); // body
  fillEllipse(img, cols, bx - 30, by - 15, 9, 7, eye); // eyes
  fillEllipse(img, cols, bx - 30, by + 15, 9, 7, eye);
  fillBox(img, cols, bx + 11, by - 4, Math.min(cols, bx + 200), by + 5, tail); // tail, to x = bx + 199
  fillEllipse(img, cols, bx, by, 10, 7, 5); // bladder
  if (speck) fillBox(img, cols, 360, 60, 364, 64, 5); // 4 x 4 px: below 0.01 % of the frame once outlined
  return { pixels: img, rows, cols };
}

/**
 * The 3x3 blur mixes the bladder's edge pixels with the bright tail next to them, so the dark
 * blob that passes the threshold ends 1-2 px short of the drawn edge (at x = 140 here).
 */
const BLADDER_EDGE = 140;

describe("image helpers", () => {
  it("normalise like desktop OpenCV's cv.normalize(NORM_MINMAX), within 1 of OpenCV.js", async () => {
    // Desktop OpenCV 4.6 (x86, fused multiply-add) on the ramp 17..107: sum 11596, 74 -> 162.
    const ramp = minMaxNormalize(Uint8Array.from({ length: 91 }, (_, i) => 17 + i));
    expect(ramp.reduce((a, b) => a + b, 0)).toBe(11596);
    expect([ramp[26 - 17], ramp[74 - 17], ramp[86 - 17]]).toEqual([25, 162, 195]);
    expect(Array.from(ramp.subarray(0, 12))).toEqual([0, 3, 6, 8, 11, 14, 17, 20, 23, 25, 28, 31]);
    expect(Array.from(minMaxNormalize(new Uint8Array(4).fill(9)))).toEqual([0, 0, 0, 0]);

    const cv = await loadOpenCV();
    const normalize = (cv as unknown as { normalize(s: Mat, d: Mat, a: number, b: number, t: number): void }).normalize;
    const rand = lcg(3);
    let off = 0;
    let total = 0;
    for (const [lo, span] of [[17, 90], [0, 255], [40, 3], [3, 200]] as const) {
      const src = Uint8Array.from({ length: 5000 }, () => lo + Math.round(rand() * span));
      const a = grayMat(cv, src, 50, 100);
      const b = new cv.Mat();
      normalize(a, b, 0, 255, 32);
      const ours = minMaxNormalize(src);
      for (let i = 0; i < src.length; i++) {
        const d = Math.abs(ours[i]! - b.data[i]!);
        if (d > 1) throw new Error(`value ${src[i]}: ${ours[i]} here, ${b.data[i]} in OpenCV.js`);
        off += d;
      }
      total += src.length;
      a.delete();
      b.delete();
    }
    expect(off / total).toBeLessThan(0.01);
  });

  it("skewness is scipy's (biased) sample skewness; gamma keeps 0 and 255", () => {
    // x = [0, 0, 0, 10]: mean 2.5, m2 = 18.75, m3 = 140.625, skew = m3 / m2^1.5 = 1.1547
    expect(skewness(Uint8Array.of(0, 0, 0, 10))).toBeCloseTo(1.1547005, 6);
    expect(skewness(new Uint8Array(9).fill(4))).toBe(0);
    const lut = gammaLut(2);
    expect([lut[0], lut[255], lut[128]]).toEqual([0, 255, 64]);
    expect(lut.every((v, i) => i === 0 || v >= lut[i - 1]!)).toBe(true);
  });
});

describe("bladder detection (first frame)", () => {
  it("finds the bladder's right edge even when the eyes also pass the threshold", async () => {
    const { pixels, rows, cols } = fishFrame();
    const r = await detectBladder(pixels, rows, cols);
    expect(r.found).toBe(true);
    expect(r.gamma).toBeGreaterThan(1); // a bright background: negative skewness
    expect(r.gamma).toBeCloseTo(Math.exp(-r.skewness / 4.3), 12);
    expect(r.contours).toBe(3); // two eyes and the bladder
    expect(BLADDER_EDGE - r.x).toBeGreaterThanOrEqual(0);
    expect(BLADDER_EDGE - r.x).toBeLessThanOrEqual(2);
    expect(r.y).toBe(150);
    expect(r.crop).toEqual({ top: r.y - 128, left: r.x - 10, width: 256, height: 256 });
  });

  it("ignores a tail lighter than the threshold after gamma, and specks under 0.01 % of the frame", async () => {
    const { pixels, rows, cols } = fishFrame({ speck: true, tail: 100 });
    const r = await detectBladder(pixels, rows, cols, {}, true);
    expect(r.x).toBe((await detectBladder(fishFrame().pixels, rows, cols)).x); // not the tail tip (329) nor the speck (363)
    expect(r.smallContours).toBe(1);
    expect(r.images!.corrected[150 * cols + 300]!).toBeGreaterThan(BLADDER_DEFAULTS.threshold); // the tail
    expect(r.images!.mask[150 * cols + 135]).toBe(255); // the bladder
    expect(r.images!.mask[150 * cols + 300]).toBe(0);
  });

  it("takes the right-most dark blob: a tail as dark as the bladder wins (the method's limit)", async () => {
    const { pixels, rows, cols } = fishFrame({ tail: 5 });
    const r = await detectBladder(pixels, rows, cols);
    expect(r.x).toBe(328); // the tail's tip, 329, less the blur
  });

  it("mirrors everything for a fish with its head on the right", async () => {
    const { pixels, rows, cols } = fishFrame();
    const left = await detectBladder(pixels, rows, cols);
    const right = await detectBladder(mirrorX(pixels, cols), rows, cols, { orientation: "head-right" });
    expect(right.x).toBe(cols - 1 - left.x);
    expect(right.y).toBe(left.y);
    // The crop ends 10 px past the bladder (inclusive), the mirror image of the head-left crop.
    expect(right.crop.left + right.crop.width - 1).toBe(right.x + 10);
    expect(right.crop.left).toBe(cols - left.crop.left - left.crop.width);
  });

  it("clamps the crop to the frame and shrinks it to a smaller frame", async () => {
    const { pixels, rows, cols } = fishFrame({ bx: 350, by: 40 });
    const r = await detectBladder(pixels, rows, cols, { cropSize: 200 });
    expect([r.x, r.y]).toEqual([358, 40]);
    expect(r.crop).toEqual({ top: 0, left: 200, width: 200, height: 200 });
    const p = bladderParams({ cropWidth: 128, cropHeight: 64, leftOffset: 4 });
    expect(cropAroundBladder(50, 50, 100, 100, p)).toEqual({ top: 18, left: 0, width: 100, height: 64 });
    expect(cropAroundBladder(50, 50, 100, 300, p)).toEqual({ top: 18, left: 46, width: 128, height: 64 });
    expect(cropAroundBladder(50, 50, 100, 300, { ...p, orientation: "head-right" })).toEqual({ top: 18, left: 0, width: 128, height: 64 });
    expect(cropAroundBladder(250, 50, 100, 300, { ...p, orientation: "head-right" })).toEqual({ top: 18, left: 127, width: 128, height: 64 });
    expect(cropAroundBladder(5, 95, 120, 300, bladderParams({ cropSize: 256 }))).toEqual({ top: 0, left: 0, width: 256, height: 120 });
  });

  it("reports a missing bladder instead of throwing", async () => {
    const flat = await detectBladder(new Uint8Array(100 * 120).fill(90), 100, 120);
    expect(flat.found).toBe(false);
    expect(flat.reason).toMatch(/flat/);
    expect(flat.crop).toEqual({ top: 0, left: 0, width: 120, height: 100 });

    const rand = lcg(5);
    const noise = await detectBladder(Uint8Array.from({ length: 300 * 400 }, () => 100 + Math.floor(rand() * 100)), 300, 400);
    expect(noise.found).toBe(false);
    expect(noise.reason).toMatch(/no pixel is <= 3 after gamma correction/);
    expect(noise.crop).toEqual({ top: 22, left: 72, width: 256, height: 256 });

    const specks = Uint8Array.from({ length: 300 * 400 }, () => 100 + Math.floor(rand() * 100));
    fillBox(specks, 400, 10, 10, 14, 14, 0);
    const s = await detectBladder(specks, 300, 400);
    expect(s.found).toBe(false);
    expect(s.reason).toMatch(/all 1 dark blobs are smaller than 0\.010 % of the frame/);
  });

  it.skipIf(!stytra.present)("on the real Stytra recording (head right) finds the eyes: its bladder is not the darkest part", async () => {
    const v = await readHdf5Video(STYTRA);
    const r = await detectBladder(frameAt(v, 0), v.rows, v.cols, { orientation: "head-right" });
    // Same gamma as the paper's Python (scipy skew, OpenCV blur): 2.068456142705477.
    expect(r.gamma).toBeCloseTo(2.068456142705477, 12);
    expect(r.contours).toBe(2);
    expect([r.x, r.y]).toEqual([132, 25]); // the tail-side edge of the upper eye
    expect(r.crop).toEqual({ top: 0, left: 0, width: 148, height: 70 }); // the frame is smaller than 256 x 256
    // A higher threshold reaches the dark body just behind the eyes, where the bladder lies.
    const body = await detectBladder(frameAt(v, 0), v.rows, v.cols, { orientation: "head-right", threshold: 10 });
    expect([body.x, body.y]).toEqual([102, 34]);
  });
});

/**
 * A 64 x 64 video: a dark bar on a bright noisy background that jumps 3 px at every frame
 * listed as moving. `repeat`: frames that copy their predecessor byte for byte.
 */
function barVideo(count: number, moving: [number, number][], repeat: (i: number) => boolean = () => false): Video {
  const v = makeVideo(count, 64, 64, 300);
  const rand = lcg(11);
  let x = 20;
  for (let i = 0; i < count; i++) {
    const f = frameAt(v, i);
    if (i > 0 && repeat(i)) {
      f.set(frameAt(v, i - 1));
      continue;
    }
    for (let p = 0; p < f.length; p++) f[p] = 225 + Math.floor(rand() * 8);
    if (moving.some(([s, e]) => s <= i && i < e)) x = x === 20 ? 23 : 20;
    fillBox(f, 64, x, 10, x + 4, 50, 30);
  }
  return normalizeFrames(v);
}

function flags(count: number, runs: [number, number][]): Uint8Array {
  const m = new Uint8Array(count);
  for (const [s, e] of runs) m.fill(1, s, e);
  return m;
}

describe("motion detection", () => {
  it("flags exactly the frames that differ from their predecessor", async () => {
    const runs: [number, number][] = [[5, 12], [30, 33], [60, 61]];
    const v = barVideo(80, runs);
    const moving = await movingFrames(v);
    expect(Array.from(moving)).toEqual(Array.from(flags(80, runs)));
    const profile = await motionProfile(v);
    expect(profile.changed[0]).toBe(0);
    expect(profile.changed[6]).toBeCloseTo((2 * 3 * 40) / 4096, 2); // two 3-px strips of the 40-px bar
  });

  it("holds a moving state over repeated frames when asked", async () => {
    const v = barVideo(60, [[10, 30]], (i) => i % 2 === 1);
    const plain = await movingFrames(v);
    expect(motionRuns(plain).every((r) => r.length === 1)).toBe(true);
    const held = await movingFrames(v, { holdDuplicates: true });
    expect(motionRuns(held)).toEqual([{ onset: 10, length: 20 }]);
  });
});

describe("cutting events", () => {
  it("starts 15 frames before the onset, 150 frames long, never before frame 0", () => {
    const r = cutEvents(flags(1000, [[100, 110], [400, 406], [700, 705]]), 1000);
    expect(r.minRunUsed).toBe(6);
    expect(r.events).toEqual([
      { start: 85, end: 235, onset: 100, run: 10 },
      { start: 385, end: 535, onset: 400, run: 6 },
    ]);
    expect(r.dropped).toEqual([]); // a 5-frame run is no event while 6-frame runs exist
    expect(cutEvents(flags(300, [[4, 20]]), 300).events).toEqual([{ start: 0, end: 150, onset: 4, run: 16 }]);
  });

  it("drops a detection inside an earlier event, and never lets two events overlap", () => {
    const r = cutEvents(flags(1000, [[100, 110], [200, 210], [240, 250], [500, 520]]), 1000);
    // 200 lies inside [85, 235): dropped. 240 does not, but its buffer would reach back into
    // [85, 235): the event starts where the earlier one ends.
    expect(r.events).toEqual([
      { start: 85, end: 235, onset: 100, run: 10 },
      { start: 235, end: 385, onset: 240, run: 10 },
      { start: 485, end: 635, onset: 500, run: 20 },
    ]);
    expect(r.dropped).toEqual([{ onset: 200, run: 10, reason: "onset inside event [85, 235)" }]);
  });

  it("shifts an event running past the end back to fit, unless that makes it overlap", () => {
    const end = cutEvents(flags(500, [[100, 110], [450, 470]]), 500);
    expect(end.events).toEqual([
      { start: 85, end: 235, onset: 100, run: 10 },
      { start: 350, end: 500, onset: 450, run: 20 },
    ]);
    const overlap = cutEvents(flags(300, [[40, 50], [250, 260]]), 300);
    expect(overlap.events).toEqual([{ start: 25, end: 175, onset: 40, run: 10 }]);
    expect(overlap.dropped).toEqual([{ onset: 250, run: 10, reason: "shifted back to fit the video's end, it would overlap event [25, 175)" }]);
  });

  it("falls back to runs of 3; with no bout at all, no event unless the frame-0 window is asked for", () => {
    const three = cutEvents(flags(600, [[100, 103], [300, 305], [500, 502]]), 600);
    expect(three.minRunUsed).toBe(3);
    expect(three.noBout).toBe(false);
    expect(three.events.map((e) => e.onset)).toEqual([100, 300]);
    const none = cutEvents(flags(600, [[100, 102]]), 600);
    expect(none).toEqual({ events: [], dropped: [], minRunUsed: 0, noBout: true });
    const window = cutEvents(flags(600, [[100, 102]]), 600, { fallbackWindow: true });
    expect(window).toEqual({ events: [{ start: 0, end: 150, onset: null, run: 0 }], dropped: [], minRunUsed: 0, noBout: true });
    expect(cutEvents(flags(600, [[100, 102]]), 600, { fallbackMinRun: 2 }).minRunUsed).toBe(2);
  });

  it("cuts nothing from a video shorter than one event, and says why", () => {
    const r = cutEvents(flags(100, [[10, 20]]), 100);
    expect(r.events).toEqual([]);
    expect(r.dropped).toEqual([{ onset: 10, run: 10, reason: "the video has 100 frames, fewer than the event length 150" }]);
  });

  it("cuts the events of a synthetic video end to end", async () => {
    const v = barVideo(400, [[40, 60], [90, 100], [250, 253], [380, 390]]);
    const r = cutEvents(await movingFrames(v), v.count);
    expect(r.events).toEqual([
      { start: 25, end: 175, onset: 40, run: 20 },
      { start: 250, end: 400, onset: 380, run: 10 },
    ]);
    expect(r.dropped.map((d) => d.onset)).toEqual([90]);
  });
});

describe.skipIf(!stytra.present)("the real Stytra recording", () => {
  /**
   * Parameters for examples/stytra.yaml, found here: the paper's pipeline with
   *   crop: orientation head-right (the frame, 70 x 148, is smaller than the crop: all of it is kept)
   *   motion: threshold 160 (not 200: the grey background normalises to about 208, so 200 cuts
   *           through the background noise; between 140 and 180 the two bouts come out clean),
   *           holdDuplicates true (the camera repeats every second or third frame), blur 5,
   *           changeFraction 0.0038
   *   events: minRun 6, buffer 10, length 100 (the paper's 15 and 150 frames at 300 fps are
   *           50 ms and 0.5 s: 10 and 100 frames at this file's 200 fps)
   */
  const STYTRA_MOTION = { threshold: 160, holdDuplicates: true };
  const STYTRA_EVENTS = { buffer: 10, length: 100 };

  async function prepared(): Promise<Video> {
    const v = await readHdf5Video(STYTRA);
    const bladder = await detectBladder(frameAt(v, 0), v.rows, v.cols, { orientation: "head-right" });
    return normalizeFrames(cropVideo(v, bladder.crop));
  }

  it("finds its two swim bouts", async () => {
    const v = await prepared();
    const moving = await movingFrames(v, STYTRA_MOTION);
    const runs = motionRuns(moving).filter((r) => r.length >= 6);
    expect(runs).toEqual([{ onset: 19, length: 51 }, { onset: 178, length: 37 }]);
    const r = cutEvents(moving, v.count, STYTRA_EVENTS);
    expect(r.events).toEqual([
      { start: 9, end: 109, onset: 19, run: 51 },
      { start: 120, end: 220, onset: 178, run: 37 }, // shifted back to end with the video
    ]);
    // At the paper's 150 frames, the second bout no longer fits beside the first.
    const long = cutEvents(moving, v.count);
    expect(long.events).toEqual([{ start: 4, end: 154, onset: 19, run: 51 }]);
    expect(long.dropped.map((d) => d.onset)).toEqual([178]);
  });

  it("with the paper's parameters, sees no run of 3 (repeated frames): no bout, and frame 0 only when asked", async () => {
    const v = await prepared();
    const profile = await motionProfile(v);
    const moving = classifyMotion(profile);
    expect(Math.max(...motionRuns(moving).map((r) => r.length))).toBeLessThan(3);
    expect(cutEvents(moving, v.count)).toEqual({ events: [], dropped: [], minRunUsed: 0, noBout: true });
    expect(cutEvents(moving, v.count, { fallbackWindow: true }).events).toEqual([{ start: 0, end: 150, onset: null, run: 0 }]);
  });
});
