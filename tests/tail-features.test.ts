import { describe, expect, it } from "vitest";
import { frameAngles, tipCount } from "../lib/tail/angles.js";
import { eventFeatures } from "../lib/tail/features.js";
import { countPeaks, peakdet } from "../lib/tail/peaks.js";
import { readTracks } from "../lib/tail/tracks-csv.js";
import { tracksToTailPoints } from "../lib/tail/tracks-points.js";

const DEG = 180 / Math.PI;
const N = 41;
const STEP = 2.5;

/** frames x N x 2 from a function giving the points of one frame. */
function event(frames: number, frame: (f: number) => number[]): Float64Array {
  const xy = new Float64Array(frames * N * 2);
  for (let f = 0; f < frames; f++) xy.set(frame(f), f * N * 2);
  return xy;
}

/** A straight tail from (8, 64) at `deg` from +x. */
function straight(deg: number): number[] {
  const a = deg / DEG;
  return Array.from({ length: N }, (_, k) => [8 + k * STEP * Math.cos(a), 64 + k * STEP * Math.sin(a)]).flat();
}

/** Sum of sin / cos(k d) for k = a..b (closed forms). */
const sinSum = (a: number, b: number, d: number): number => (Math.sin(((b - a + 1) * d) / 2) * Math.sin(((a + b) * d) / 2)) / Math.sin(d / 2);
const cosSum = (a: number, b: number, d: number): number => (Math.sin(((b - a + 1) * d) / 2) * Math.cos(((a + b) * d) / 2)) / Math.sin(d / 2);

describe("tail features of tails with known shapes", () => {
  it("a straight tail: all angles 0, no peaks, tip position (N - 4.5) / (N - 1)", () => {
    const { features, series } = eventFeatures(event(150, () => straight(0)), 150, N, 0);
    expect(features.max_curvature_deg).toBeCloseTo(0, 10);
    expect(features.angle_peaks).toBe(0);
    expect(features.mean_tip_angle_deg).toBeCloseTo(0, 10);
    expect(features.max_tail_angle_deg).toBeCloseTo(0, 10);
    expect(features.mean_tip_position).toBeCloseTo((N - 4.5) / (N - 1), 12);
    expect(series.angle.every((a) => Math.abs(a) < 1e-9)).toBe(true);
  });

  it("a straight tail at 12 deg to the axis: angle and tip angle 12, curvature 0, tip position scaled by cos 12", () => {
    const { features } = eventFeatures(event(10, () => straight(12)), 10, N, 0);
    expect(features.max_tail_angle_deg).toBeCloseTo(12, 9);
    expect(features.mean_tip_angle_deg).toBeCloseTo(12, 9);
    expect(features.max_curvature_deg).toBeCloseTo(0, 9);
    expect(features.mean_tip_position).toBeCloseTo((Math.cos(12 / DEG) * (N - 4.5)) / (N - 1), 12);
    // Measured from a body axis of 12 deg, the same tail is straight ahead.
    expect(eventFeatures(event(10, () => straight(12)), 10, N, 12).features.max_tail_angle_deg).toBeCloseTo(0, 9);
  });

  it("a circular arc: equal chords turn by 2 asin(s / 2R) each; angle, tip angle and tip position from closed-form sums", () => {
    const R = 60;
    const d = 2 * Math.asin(STEP / (2 * R));
    // Base at (8, 64) heading +x, bending towards +y around the centre (8, 64 + R).
    const arc = Array.from({ length: N }, (_, k) => [8 + R * Math.sin(k * d), 64 + R * (1 - Math.cos(k * d))]).flat();
    const a = frameAngles(arc, 0, N, 0);
    const m = tipCount(N);
    expect(m).toBe(9);
    expect(a.sumangle).toBeCloseTo(d * DEG, 9);
    expect(a.tipangle).toBeCloseTo((((N - m + N - 1) / 2) * d) * DEG, 9);
    const angle = Math.atan2(m - cosSum(N - m, N - 1, d), sinSum(N - m, N - 1, d)) * DEG;
    expect(a.angle).toBeCloseTo(angle, 9);
    expect(a.tipPosition).toBeCloseTo((R * sinSum(N - 8, N - 1, d)) / 8 / ((N - 1) * STEP), 12);
    // The same arc bending the other way: the angles change sign, curvature does not.
    const mirrored = arc.map((v, i) => (i % 2 ? 128 - v : v));
    const b = frameAngles(mirrored, 0, N, 0);
    expect(b.angle).toBeCloseTo(-a.angle, 9);
    expect(b.sumangle).toBeCloseTo(a.sumangle, 9);
    const { features } = eventFeatures(event(3, (f) => (f === 1 ? mirrored : arc)), 3, N, 0);
    expect(features.max_curvature_deg).toBeCloseTo(d * DEG, 9);
    expect(features.max_tail_angle_deg).toBeCloseTo(Math.abs(angle), 9);
    expect(features.mean_tip_angle_deg).toBeCloseTo(Math.abs(a.tipangle), 9);
  });

  it("a tail swinging as A sin(2 pi t / 40) for 3 periods: 6 peaks, max angle A, mean |tip angle| = A 2 cot(pi/40) / 40", () => {
    const A = 20;
    const frames = 120;
    const xy = event(frames, (f) => straight(A * Math.sin((2 * Math.PI * f) / 40)));
    const { features } = eventFeatures(xy, frames, N, 0);
    expect(features.angle_peaks).toBe(6);
    expect(features.max_tail_angle_deg).toBeCloseTo(A, 9);
    // The paper's text: the mean of |tip angle| (the authors' code took the signed mean, about 0 here).
    expect(features.mean_tip_angle_deg).toBeCloseTo((A * 2) / Math.tan(Math.PI / 40) / 40, 9);
    expect(features.max_curvature_deg).toBeCloseTo(0, 9);
    // A swing of 3 deg peak to peak, less than the 4 deg delta, has no peaks.
    expect(eventFeatures(event(frames, (f) => straight(1.5 * Math.sin((2 * Math.PI * f) / 40))), frames, N, 0).features.angle_peaks).toBe(0);
  });
});

describe("peakdet", () => {
  it("finds alternating maxima and minima with their positions", () => {
    const s = [0, 5, 10, 5, 0, -3, -8, -3, 2, 9, 12, 6];
    const { maxima, minima } = peakdet(s, 4);
    expect(maxima).toEqual([{ index: 2, value: 10 }, { index: 10, value: 12 }]);
    expect(minima).toEqual([{ index: 6, value: -8 }]);
    expect(countPeaks(s, 4)).toBe(3);
  });

  it("like Billauer's original, a series that first falls counts a maximum at its start", () => {
    expect(peakdet([0, -5, -10, -5, 0], 4)).toEqual({ maxima: [{ index: 0, value: 0 }], minima: [{ index: 2, value: -10 }] });
  });

  it("rejects a delta that is not positive", () => {
    expect(() => peakdet([1, 2], 0)).toThrow(/delta must be positive/);
  });
});

describe("tracked tail points from CSV exports", () => {
  it("reads a SLEAP analysis CSV: the chosen track, the best instance per frame, missing points interpolated over time", () => {
    const csv = [
      "track,frame_idx,instance.score,base.x,base.y,base.score,mid.x,mid.y,mid.score,tip.x,tip.y,tip.score",
      "fish,0,0.9,10,50,0.99,30,50,0.99,50,50,0.99",
      "fish,1,0.9,10,50,0.99,30,52,0.99,,,",
      "fish,1,0.4,99,99,0.99,99,99,0.99,99,99,0.99",
      "other,1,0.9,0,0,1,0,0,1,0,0,1",
      "fish,2,0.9,10,50,0.99,30,54,0.99,50,58,0.99",
    ].join("\n");
    const tracks = readTracks(csv, { bodyparts: null, individual: "fish" }, "auto", "test.csv");
    expect(tracks.format).toBe("sleap");
    expect(tracks.parts).toEqual(["base", "mid", "tip"]);
    expect(Array.from(tracks.xy.subarray(6, 10))).toEqual([10, 50, 30, 52]);
    const r = tracksToTailPoints(tracks, { minScore: 0.6, maxMissingFraction: 0.2, axisDeg: null });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // The tip of frame 1 is missing: halfway between frames 0 and 2.
    expect(Array.from(r.tail.xy.subarray(10, 12))).toEqual([50, 54]);
    expect(r.tail.lost).toEqual([[1, 2]]);
    expect(r.tail.axisDeg).toBeCloseTo(0, 12);
    expect(() => readTracks(csv, { bodyparts: null, individual: null }, "auto", "test.csv")).toThrow(/2 tracks \(fish, other\): name one/);
  });

  it("reads a DeepLabCut multi-animal CSV, and fails an event with too many points below the likelihood", () => {
    const csv = [
      "scorer,S,S,S,S,S,S,S,S,S,S,S,S",
      "individuals,a,a,a,a,a,a,a,a,a,b,b,b",
      "bodyparts,t0,t0,t0,t1,t1,t1,t2,t2,t2,t0,t0,t0",
      "coords,x,y,likelihood,x,y,likelihood,x,y,likelihood,x,y,likelihood",
      "0,1,2,0.9,3,4,0.9,5,6,0.1,0,0,1",
      "1,1,2,0.9,3,4,0.9,5,6,0.1,0,0,1",
    ].join("\n");
    const tracks = readTracks(csv, { bodyparts: ["t0", "t1", "t2"], individual: "a" }, "auto", "dlc.csv");
    expect(tracks.format).toBe("deeplabcut");
    expect(Array.from(tracks.xy.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    const r = tracksToTailPoints(tracks, { minScore: 0.6, maxMissingFraction: 0.1, axisDeg: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^tail lost: 2 of 6 tracked points/);
  });
});
