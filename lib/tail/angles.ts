/**
 * Per-frame tail measures of Semmelhack et al. (2014), on points from the tail's base (point 0) to
 * its tip. Angles are in degrees, measured from the body axis (the resting tail's direction) in
 * image coordinates: positive turns from +x towards +y, i.e. clockwise on screen (y points down).
 */

export interface FrameAngles {
  /** Angle between the body axis and the line from the base to the mean of the last 20 % of points. */
  angle: number;
  /** Curvature: the mean absolute angle between consecutive segments. */
  sumangle: number;
  /** Direction of the last 20 % of the tail (its first to its last point) against the body axis. */
  tipangle: number;
  /** Mean position of the last eight points along the body axis, from the base, over the tail length. */
  tipPosition: number;
}

const DEG = 180 / Math.PI;

/** Points in the last 20 % of a tail of n points (at least 2, as in int(0.8 n) .. n). */
export function tipCount(n: number): number {
  return Math.max(2, n - Math.floor(0.8 * n));
}

function wrap(a: number): number {
  while (a > Math.PI) a -= 2 * Math.PI;
  while (a < -Math.PI) a += 2 * Math.PI;
  return a;
}

/**
 * Measures of one frame: `xy` holds (x, y) pairs, this frame's n points from `offset` (in numbers,
 * not points); `axisDeg` is the body axis (0 = +x).
 */
export function frameAngles(xy: ArrayLike<number>, offset: number, n: number, axisDeg: number): FrameAngles {
  if (n < 3) throw new RangeError(`tail angles need at least 3 points, got ${n}`);
  const ca = Math.cos(axisDeg / DEG);
  const sa = Math.sin(axisDeg / DEG);
  const x0 = xy[offset]!;
  const y0 = xy[offset + 1]!;
  const u = (k: number): number => (xy[offset + 2 * k]! - x0) * ca + (xy[offset + 2 * k + 1]! - y0) * sa;
  const w = (k: number): number => -(xy[offset + 2 * k]! - x0) * sa + (xy[offset + 2 * k + 1]! - y0) * ca;

  const m = tipCount(n);
  let mu = 0;
  let mw = 0;
  for (let k = n - m; k < n; k++) {
    mu += u(k);
    mw += w(k);
  }
  const angle = Math.atan2(mw / m, mu / m) * DEG;

  let length = 0;
  let turns = 0;
  let prev = 0;
  for (let k = 1; k < n; k++) {
    const du = u(k) - u(k - 1);
    const dw = w(k) - w(k - 1);
    length += Math.hypot(du, dw);
    const dir = Math.atan2(dw, du);
    if (k > 1) turns += Math.abs(wrap(dir - prev));
    prev = dir;
  }
  const sumangle = (turns / (n - 2)) * DEG;
  const tipangle = Math.atan2(w(n - 1) - w(n - m), u(n - 1) - u(n - m)) * DEG;

  const last = Math.min(8, n);
  let along = 0;
  for (let k = n - last; k < n; k++) along += u(k);
  const tipPosition = length > 0 ? along / last / length : 0;
  return { angle, sumangle, tipangle, tipPosition };
}
