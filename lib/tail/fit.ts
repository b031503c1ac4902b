/**
 * Tail fitting after Semmelhack et al. (2014, eLife; their `tailfit`): from a fixed start point just
 * right of the swim bladder, step along the dark tail a fixed distance at a time, each step searching
 * ahead of the previous direction for the tail's centre, until the tail's contrast vanishes (the tip).
 *
 * One step from point p with direction phi: predict q = p + step * (cos psi, sin psi), psi = phi plus
 * the turn the same segment had in the previous frame (tails move little in 1/300 s); read the
 * intensity across the tail at q (a line perpendicular to psi, +-halfWidth); move q to the
 * darkness-weighted centre of the dark run nearest the prediction; put the point back at distance
 * `step` from p (its direction clamped to +-maxTurn of phi); refine once more from there. Reading a
 * whole cross-section rather than a small arc keeps the point on the midline where the tail is wider
 * than a step (near its base it is about four steps wide).
 *
 * The first frame fixes the number of points N (where its tail ends); every later frame traces N
 * points, starting from the previous frame's first direction. An event fails, with a reason, when the
 * start point has no tail, the first frame has too few points, a point leaves the frame, or too many
 * points of a frame have no contrast (tail lost).
 */
import { backgroundStats, gaussianBlur, sample, type FloatImage } from "./image.js";

export interface TailFitOptions {
  /** Start point (px, pixel centres at integers); its row is re-centred on the tail in every frame. */
  startX: number;
  startY: number;
  /** Direction of the resting tail (deg; 0 = +x, 90 = +y, i.e. down in the image). */
  directionDeg: number;
  /** Distance between consecutive points (px). */
  step: number;
  /** Half the length of the line read across the tail (px). */
  halfWidth: number;
  /** Sigma of the Gaussian blur applied to each frame before sampling (px). */
  blurSigma: number;
  /** Largest change of direction from one segment to the next (deg). */
  maxTurnDeg: number;
  /** The tail has ended where its darkness falls below this fraction of the darkness at its base. */
  tipContrast: number;
  /** ...or below this many noise sigmas of the frame (whichever is larger). */
  minContrastSigmas: number;
  /** The start point needs a darkness of this many noise sigmas, else the frame has no tail. */
  startContrastSigmas: number;
  minPoints: number;
  maxPoints: number;
  /** Fraction of a later frame's points that may lack contrast (then continued straight on). */
  maxLostFraction: number;
}

export type TailFit =
  | {
      ok: true;
      frames: number;
      /** Points per frame. */
      points: number;
      /** frames x points x (x, y), px. */
      xy: Float32Array;
      /** frames x points: 1 where the point had no contrast and was continued straight on. */
      lost: Uint8Array;
      /** Frames with at least one lost point. */
      framesWithLostPoints: number;
    }
  | { ok: false; reason: string; frame: number; points: number };

/** Why a trace stopped or failed, with what a reason string needs. */
type TraceEnd = { kind: "done" } | { kind: "no-start"; peak: number; need: number } | { kind: "off-frame"; point: number; x: number; y: number };

const DEG = Math.PI / 180;

interface Section {
  /** Offset of the dark run's centre along the cross-section (px). */
  offset: number;
  /** Darkness (background minus intensity) at the run's darkest sample. */
  peak: number;
}

/**
 * The dark run nearest the prediction on the line through (cx, cy) along (nx, ny), within
 * +-halfWidth: the sample with the largest darkness x a Gaussian preference for small offsets,
 * the samples around it darker than half of it, and their darkness-weighted centre.
 */
function crossSection(img: FloatImage, bg: number, cx: number, cy: number, nx: number, ny: number, halfWidth: number, buf: Float32Array): Section {
  const spacing = 0.5;
  const h = Math.min(Math.floor(halfWidth / spacing), (buf.length - 1) >> 1);
  const n = 2 * h + 1;
  const prior = 2 * (halfWidth / 2) ** 2;
  let best = -1;
  let bestScore = 0;
  for (let i = 0; i < n; i++) {
    const t = (i - h) * spacing;
    const d = bg - sample(img, cx + t * nx, cy + t * ny);
    buf[i] = d;
    const score = d * Math.exp(-(t * t) / prior);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  if (best < 0) return { offset: 0, peak: 0 };
  const peak = buf[best]!;
  const half = peak / 2;
  let lo = best;
  let hi = best;
  while (lo > 0 && buf[lo - 1]! > half) lo--;
  while (hi < n - 1 && buf[hi + 1]! > half) hi++;
  let wsum = 0;
  let tsum = 0;
  for (let i = lo; i <= hi; i++) {
    const w = buf[i]! - half;
    wsum += w;
    tsum += w * (i - h) * spacing;
  }
  return { offset: wsum > 0 ? tsum / wsum : (best - h) * spacing, peak };
}

function wrapAngle(a: number): number {
  while (a > Math.PI) a -= 2 * Math.PI;
  while (a < -Math.PI) a += 2 * Math.PI;
  return a;
}

interface Trace {
  xy: Float64Array;
  dir: Float64Array;
  peak: Float64Array;
  count: number;
  lost: number;
  end: TraceEnd;
}

/**
 * Traces one frame. `fixedCount` > 0: trace exactly that many points (later frames); otherwise trace
 * until the tip (first frame). `prevDir`: the previous frame's segment directions, or null.
 */
function traceFrame(img: FloatImage, stats: { level: number; sigma: number }, o: TailFitOptions, fixedCount: number, prevDir: Float64Array | null, out: Trace, buf: Float32Array): void {
  const { rows, cols } = img;
  const limit = fixedCount > 0 ? fixedCount : o.maxPoints;
  // Noise sigma at least 1 grey level: the histogram's MAD is 0 on a very clean frame.
  const sigma = Math.max(1, stats.sigma);
  const floor = o.minContrastSigmas * sigma;
  const startFloor = o.startContrastSigmas * sigma;
  const maxTurn = o.maxTurnDeg * DEG;
  out.count = 0;
  out.lost = 0;
  out.end = { kind: "done" };

  // The base: re-centre the start point across the resting direction.
  const d0 = o.directionDeg * DEG;
  const phi0 = prevDir && fixedCount > 1 ? prevDir[1]! : d0;
  const base = crossSection(img, stats.level, o.startX, o.startY, -Math.sin(d0), Math.cos(d0), o.halfWidth, buf);
  if (base.peak < startFloor) {
    out.end = { kind: "no-start", peak: base.peak, need: startFloor };
    return;
  }
  let px = o.startX - base.offset * Math.sin(d0);
  let py = o.startY + base.offset * Math.cos(d0);
  out.xy[0] = px;
  out.xy[1] = py;
  out.dir[0] = phi0;
  out.peak[0] = base.peak;
  out.count = 1;
  let phi = phi0;
  let reference = base.peak;

  for (let k = 1; k < limit; k++) {
    const turn = prevDir && k >= 2 && k < fixedCount ? wrapAngle(prevDir[k]! - prevDir[k - 1]!) : 0;
    let psi = phi + (k === 1 ? 0 : turn);
    let peak = 0;
    for (let iter = 0; iter < 2; iter++) {
      const qx = px + o.step * Math.cos(psi);
      const qy = py + o.step * Math.sin(psi);
      const s = crossSection(img, stats.level, qx, qy, -Math.sin(psi), Math.cos(psi), o.halfWidth, buf);
      peak = s.peak;
      const cx = qx - s.offset * Math.sin(psi);
      const cy = qy + s.offset * Math.cos(psi);
      const delta = Math.max(-maxTurn, Math.min(maxTurn, wrapAngle(Math.atan2(cy - py, cx - px) - phi)));
      psi = phi + delta;
    }
    const threshold = Math.max(floor, o.tipContrast * reference);
    const dark = peak >= threshold;
    if (!dark) {
      if (fixedCount === 0) return; // the tip of the first frame
      // A later frame: continue straight on, and count the point as lost.
      psi = phi + (k === 1 ? 0 : turn);
      out.lost++;
    }
    const nx = px + o.step * Math.cos(psi);
    const ny = py + o.step * Math.sin(psi);
    const margin = fixedCount === 0 ? o.step : 0;
    if (nx < margin || ny < margin || nx > cols - 1 - margin || ny > rows - 1 - margin) {
      if (fixedCount === 0) return; // the crop cuts the tail: it ends a step inside the frame
      out.end = { kind: "off-frame", point: k, x: nx, y: ny };
      return;
    }
    px = nx;
    py = ny;
    phi = psi;
    out.xy[2 * k] = px;
    out.xy[2 * k + 1] = py;
    out.dir[k] = phi;
    out.peak[k] = dark ? peak : 0;
    out.count = k + 1;
    // The base's darkness: the median of the first three points, less sensitive to one dark spot.
    if (k === 2) reference = median3(out.peak[0]!, out.peak[1]!, out.peak[2]!);
  }
}

function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

function newTrace(maxPoints: number): Trace {
  return { xy: new Float64Array(2 * maxPoints), dir: new Float64Array(maxPoints), peak: new Float64Array(maxPoints), count: 0, lost: 0, end: { kind: "done" } };
}

function fmt(v: number): string {
  return Number(v.toFixed(1)).toString();
}

/** Fits the tail in every frame of an event (frames x rows x cols, uint8). */
export function fitTail(frames: Uint8Array, count: number, rows: number, cols: number, o: TailFitOptions, signal?: AbortSignal): TailFit {
  if (frames.length !== count * rows * cols) throw new RangeError(`tail fit: ${frames.length} bytes are not ${count} frames of ${rows}x${cols}`);
  if (!(o.step > 0)) throw new RangeError(`tail fit: step must be positive, got ${o.step}`);
  const size = rows * cols;
  const maxPoints = Math.max(2, Math.floor(o.maxPoints));
  const buf = new Float32Array(2 * Math.ceil(o.halfWidth / 0.5) + 3);
  let img: FloatImage | undefined;
  let trace = newTrace(maxPoints);
  let previous = newTrace(maxPoints);
  let n = 0;
  let xy = new Float32Array(0);
  let lost = new Uint8Array(0);
  let framesWithLostPoints = 0;
  for (let f = 0; f < count; f++) {
    if ((f & 15) === 0 && signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("tail fit: cancelled");
    const frame = frames.subarray(f * size, (f + 1) * size);
    img = gaussianBlur(frame, rows, cols, o.blurSigma, img);
    traceFrame(img, backgroundStats(frame), o, f === 0 ? 0 : n, f === 0 ? null : previous.dir, trace, buf);
    const end = trace.end;
    if (end.kind === "no-start") {
      return { ok: false, frame: f, points: 0, reason: `no tail at the start point: in frame ${f}, the darkest point across (${fmt(o.startX)}, ${fmt(o.startY)}) is ${fmt(end.peak)} grey levels below the background, the tail needs ${fmt(end.need)}; check start_x_px / start_y_fraction against the crop` };
    }
    if (end.kind === "off-frame") {
      return { ok: false, frame: f, points: end.point, reason: `points off the frame: point ${end.point} of ${n} left the ${cols}x${rows} frame at (${fmt(end.x)}, ${fmt(end.y)}) in frame ${f}` };
    }
    if (f === 0) {
      n = trace.count;
      if (n < o.minPoints) {
        return { ok: false, frame: 0, points: n, reason: `too few points: the tail ended after ${n} point${n === 1 ? "" : "s"} (${fmt((n - 1) * o.step)} px) in frame 0, min_points is ${o.minPoints}` };
      }
      xy = new Float32Array(count * n * 2);
      lost = new Uint8Array(count * n);
    } else {
      if (trace.lost > o.maxLostFraction * n) {
        return { ok: false, frame: f, points: n, reason: `tail lost: in frame ${f}, ${trace.lost} of ${n} points had no contrast (max_lost_fraction ${o.maxLostFraction})` };
      }
      if (trace.lost > 0) framesWithLostPoints++;
      for (let k = 0; k < n; k++) lost[f * n + k] = trace.peak[k] === 0 && k > 0 ? 1 : 0;
    }
    for (let i = 0; i < 2 * n; i++) xy[f * 2 * n + i] = trace.xy[i]!;
    [trace, previous] = [previous, trace];
  }
  return { ok: true, frames: count, points: n, xy, lost, framesWithLostPoints };
}
