/**
 * Measurements on ground-truth midlines: the tail angles of Semmelhack et al. (2014) per frame,
 * peak counting, the five bout features of their SVM and the trunk's motion. Used to describe
 * each rendered bout in the ground truth, by the tests, and to calibrate the kinematic model.
 * (The pipeline's SVM stage measures the same features on tail points that it fits to the
 * video; these work on the exact midline.)
 *
 * Points are in body coordinates: u along the resting body axis (towards the tail), w lateral,
 * any unit; the first point is the tail's base (the bladder's tail-side end).
 */

const DEG = 180 / Math.PI;

export interface TailAngles {
  /** Angle (deg) between the body axis and the line from the base to the mean of the last 20 % of points. */
  angle: number;
  /** Mean absolute angle (deg) between consecutive segments: curvature. */
  sumangle: number;
  /** Angle (deg) of the last 20 % of the tail (its first to its last point) to the body axis. */
  tipangle: number;
  /** Mean lateral position of the last eight points, as a fraction of the tail length. */
  tipPosition: number;
}

/** Tail angles of one frame; `pts` is [u0, w0, u1, w1, ...] with n points. */
export function tailAngles(pts: ArrayLike<number>, n: number): TailAngles {
  const last = Math.max(2, Math.ceil(0.2 * n));
  const first = n - last;
  let mu = 0;
  let mw = 0;
  for (let k = first; k < n; k++) {
    mu += pts[2 * k]!;
    mw += pts[2 * k + 1]!;
  }
  mu /= last;
  mw /= last;
  const u0 = pts[0]!;
  const w0 = pts[1]!;
  const angle = Math.atan2(mw - w0, mu - u0) * DEG;
  let length = 0;
  let sum = 0;
  let prev = NaN;
  for (let k = 1; k < n; k++) {
    const du = pts[2 * k]! - pts[2 * k - 2]!;
    const dw = pts[2 * k + 1]! - pts[2 * k - 1]!;
    length += Math.hypot(du, dw);
    const a = Math.atan2(dw, du);
    if (k > 1) sum += Math.abs(wrap(a - prev));
    prev = a;
  }
  const sumangle = (sum / Math.max(1, n - 2)) * DEG;
  const tipangle = Math.atan2(pts[2 * n - 1]! - pts[2 * first + 1]!, pts[2 * n - 2]! - pts[2 * first]!) * DEG;
  const eight = Math.min(8, n);
  let tw = 0;
  for (let k = n - eight; k < n; k++) tw += pts[2 * k + 1]! - w0;
  const tipPosition = tw / eight / Math.max(length, 1e-9);
  return { angle, sumangle, tipangle, tipPosition };
}

function wrap(a: number): number {
  while (a > Math.PI) a -= 2 * Math.PI;
  while (a < -Math.PI) a += 2 * Math.PI;
  return a;
}

/**
 * Peaks (maxima and minima) of a series with Billauer's peakdet: a maximum counts once the
 * series has fallen `delta` below it, a minimum once it has risen `delta` above it.
 */
export function countPeaks(series: ArrayLike<number>, delta: number): number {
  let mn = Infinity;
  let mx = -Infinity;
  let lookForMax = true;
  let peaks = 0;
  for (let i = 0; i < series.length; i++) {
    const v = series[i]!;
    if (v > mx) mx = v;
    if (v < mn) mn = v;
    if (lookForMax) {
      if (v < mx - delta) {
        peaks++;
        mn = v;
        lookForMax = false;
      }
    } else if (v > mn + delta) {
      peaks++;
      mx = v;
      lookForMax = true;
    }
  }
  return peaks;
}

/** The five features of Semmelhack et al. (2014), in the paper's order of importance. */
export interface BoutFeatures {
  maxCurvature: number;
  peaks: number;
  meanTipAngle: number;
  maxAngle: number;
  meanTipPosition: number;
}

/**
 * Features over frames [start, end) of a midline series: `frames` holds per frame n points as
 * [u, w] pairs (frame-major). Follows the paper's text: mean of |tip angle|, and the tip
 * position as the mean |lateral deflection| of the last eight points over the tail length.
 */
export function boutFeatures(frames: ArrayLike<number>, n: number, start: number, end: number, peakDelta = 4): BoutFeatures {
  const angles = new Float64Array(end - start);
  let maxCurvature = 0;
  let tip = 0;
  let maxAngle = 0;
  let tipPos = 0;
  for (let f = start; f < end; f++) {
    const a = tailAngles(subview(frames, f * 2 * n, 2 * n), n);
    angles[f - start] = a.angle;
    maxCurvature = Math.max(maxCurvature, Math.abs(a.sumangle));
    tip += Math.abs(a.tipangle);
    maxAngle = Math.max(maxAngle, Math.abs(a.angle));
    tipPos += Math.abs(a.tipPosition);
  }
  const count = Math.max(1, end - start);
  return { maxCurvature, peaks: countPeaks(angles, peakDelta), meanTipAngle: tip / count, maxAngle, meanTipPosition: tipPos / count };
}

function subview(a: ArrayLike<number>, offset: number, length: number): ArrayLike<number> {
  if (ArrayBuffer.isView(a)) {
    const t = a as unknown as Float32Array;
    return t.subarray(offset, offset + length);
  }
  return Array.prototype.slice.call(a, offset, offset + length) as number[];
}

/** Angle (deg) of the chord from point 0 to point k (the trunk's direction when k is small). */
export function chordAngle(pts: ArrayLike<number>, k: number): number {
  return Math.atan2(pts[2 * k + 1]! - pts[1]!, pts[2 * k]! - pts[0]!) * DEG;
}

/** Peak-to-peak range (deg) of the trunk's chord angle over frames [start, end). */
export function trunkMotion(frames: ArrayLike<number>, n: number, k: number, start: number, end: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let f = start; f < end; f++) {
    const base = f * 2 * n;
    const a = Math.atan2(frames[base + 2 * k + 1]! - frames[base + 1]!, frames[base + 2 * k]! - frames[base]!) * DEG;
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  return end > start ? hi - lo : 0;
}
