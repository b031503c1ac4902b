/**
 * The renderer: a static scene (bright background, illumination falloff, a mottled diffuser,
 * agarose around the head, and the still head of the larva: eyes, swim bladder, fins), built
 * once per recording, and per frame the moving body drawn over it with analytic anti-aliasing,
 * the agarose artifact, a slow illumination drift and camera noise.
 *
 * Coordinates: image x (columns) and y (rows) in pixels, pixel centres at integers (OpenCV's
 * convention). The body's own coordinates (u along the body from the snout, w lateral, mm) map
 * to the image through an affine `Pose` (rotation, scale, and a mirror for head-right).
 *
 * Speed: per frame one copy of the static image, a distance pass over the body's bounding box
 * (each of the ~40 midline segments visits only the pixels near it), and one pass over the
 * frame for gain and noise. No allocation per frame. Rest frames reuse the previous frame's
 * noise-free image.
 */
import { MAX_TISSUE_DARKNESS, staticTransmission, TABLE_STEP_MM, PIGMENT_BINS, type Body } from "./body.js";
import { hash32, Rng } from "../random.js";

/** image = (ox, oy) + M (u, w), with u, w in mm. */
export interface Pose {
  ox: number;
  oy: number;
  m00: number;
  m01: number;
  m10: number;
  m11: number;
}

/** The pose that puts body point (u, 0) at image (x, y), body axis at `angle` (rad), optionally mirrored. */
export function poseAt(u: number, x: number, y: number, angle: number, pxPerMm: number, mirrored: boolean): Pose {
  const c = Math.cos(angle) * pxPerMm;
  const s = Math.sin(angle) * pxPerMm;
  const m = mirrored ? -1 : 1;
  const pose = { ox: 0, oy: 0, m00: m * c, m01: -m * s, m10: s, m11: c };
  pose.ox = x - pose.m00 * u;
  pose.oy = y - pose.m10 * u;
  return pose;
}

export function toImage(p: Pose, u: number, w: number): [number, number] {
  return [p.ox + p.m00 * u + p.m01 * w, p.oy + p.m10 * u + p.m11 * w];
}

export function toBody(p: Pose, x: number, y: number): [number, number] {
  const det = p.m00 * p.m11 - p.m01 * p.m10;
  const dx = x - p.ox;
  const dy = y - p.oy;
  return [(p.m11 * dx - p.m01 * dy) / det, (-p.m10 * dx + p.m00 * dy) / det];
}

/** A rectangle of pixels [x0, x1) x [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface SceneOptions {
  width: number;
  height: number;
  pxPerMm: number;
  pose: Pose;
  body: Body;
  /** Mean grey level of the background. */
  brightness: number;
  /** Relative amplitude of the agarose texture (e.g. 0.04). */
  agaroseContrast: number;
  /** Where the agarose ends along the body (mm): the tail beyond is free, in water. */
  agaroseEnd: number;
  /** The artifact's region (pixels); null: no artifact. */
  artifactRegion: PixelRect | null;
  /** Seed of the textures. */
  seed: number;
}

/** Smooth value noise: a random lattice every `cell` pixels, smoothstep-interpolated. */
function valueNoise(rng: Rng, width: number, height: number, cell: number, out: Float32Array, amplitude: number): void {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    let fy = gy - iy;
    fy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const ix = Math.floor(gx);
      let fx = gx - ix;
      fx = fx * fx * (3 - 2 * fx);
      const a = grid[iy * gw + ix]!;
      const b = grid[iy * gw + ix + 1]!;
      const c = grid[(iy + 1) * gw + ix]!;
      const d = grid[(iy + 1) * gw + ix + 1]!;
      out[y * width + x] = out[y * width + x]! + amplitude * (a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy);
    }
  }
}

function smoothstep(x: number): number {
  const c = x < 0 ? 0 : x > 1 ? 1 : x;
  return c * c * (3 - 2 * c);
}

/** Coverage of a pixel (a box `e` wide) by a slab of half-width h, at distance r from its centre line. */
function slabCoverage(r: number, h: number, e: number): number {
  const hi = Math.min(h, r + 0.5 * e);
  const lo = Math.max(-h, r - 0.5 * e);
  const c = (hi - lo) / e;
  return c <= 0 ? 0 : c >= 1 ? 1 : c;
}

/** Width (px) of the box filter for the moving body's edges: a little softer than one pixel, like optics. */
const EDGE_PX = 1.25;

export class Scene {
  readonly width: number;
  readonly height: number;
  /** Background without the fish (grey levels), as it is now (the artifact shifts a part of it). */
  readonly background: Float32Array;
  /** Transmission of the still part of the fish (1 = nothing). */
  readonly still: Float32Array;
  /** background x still, with no artifact shift: the starting point of every frame. */
  readonly base: Float32Array;
  /** The noise-free frame being built. */
  readonly current: Float32Array;
  private readonly agarose: Float32Array;
  private readonly plain: Float32Array;
  private readonly agaroseMask: Float32Array;
  private readonly region: PixelRect | null;
  private readonly regionWeight: Float32Array;
  private shiftX = 0;
  private shiftY = 0;
  // Per-pixel buffers of the distance pass (whole frame, only the body's box is touched).
  private readonly bestD: Float32Array;
  private readonly bestR: Float32Array;
  private readonly bestH: Float32Array;
  private readonly bestS: Float32Array;
  private readonly bestV: Float32Array;
  private readonly body: Body;
  private readonly pxPerMm: number;
  /** Still-fish bounding box, for reference. */
  readonly headBox: PixelRect;

  constructor(o: SceneOptions) {
    const { width, height, body, pose } = o;
    this.width = width;
    this.height = height;
    this.body = body;
    this.pxPerMm = o.pxPerMm;
    const n = width * height;
    const rng = new Rng(hash32(o.seed, "scene"));

    // Illumination: mean brightness, a gentle falloff from a random centre, a mottled diffuser.
    const plain = new Float32Array(n);
    const cx = rng.uniform(0.3, 0.7) * width;
    const cy = rng.uniform(0.3, 0.7) * height;
    const falloff = rng.uniform(0.02, 0.05) / (0.25 * (width * width + height * height));
    const mottle = new Float32Array(n);
    valueNoise(rng, width, height, Math.max(4, o.pxPerMm * 0.45), mottle, 0.012);
    valueNoise(rng, width, height, Math.max(2, o.pxPerMm * 0.12), mottle, 0.006);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const r2 = (x - cx) ** 2 + (y - cy) ** 2;
        plain[i] = o.brightness * (1 - falloff * r2) * (1 + mottle[i]!);
      }
    }
    // A faint scratch or fibre across the dish, as in real recordings.
    {
      const angle = rng.uniform(0, Math.PI);
      const px = rng.uniform(0, width);
      const py = rng.uniform(0, height);
      const nx = -Math.sin(angle);
      const ny = Math.cos(angle);
      const depth = rng.uniform(0.01, 0.025) * o.brightness;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const d = (x - px) * nx + (y - py) * ny;
          if (Math.abs(d) < 2) plain[y * width + x] = plain[y * width + x]! - depth * (1 - Math.abs(d) / 2);
        }
      }
    }

    // Agarose: fine grain and a few particles, around the head and the front of the body.
    const agarose = new Float32Array(n);
    valueNoise(rng, width, height, Math.max(2, o.pxPerMm * 0.09), agarose, 0.6 * o.agaroseContrast);
    valueNoise(rng, width, height, Math.max(3, o.pxPerMm * 0.2), agarose, 0.5 * o.agaroseContrast);
    const particles = Math.round((n / 90) * rng.uniform(0.7, 1.3));
    for (let p = 0; p < particles; p++) {
      const px = rng.uniform(0, width);
      const py = rng.uniform(0, height);
      const sigma = rng.uniform(0.7, 1.3) * Math.max(1, o.pxPerMm / 38);
      const depth = rng.uniform(-1.2, 0.6) * o.agaroseContrast;
      const rad = Math.ceil(3 * sigma);
      for (let y = Math.max(0, Math.floor(py) - rad); y <= Math.min(height - 1, Math.floor(py) + rad); y++) {
        for (let x = Math.max(0, Math.floor(px) - rad); x <= Math.min(width - 1, Math.floor(px) + rad); x++) {
          const d2 = (x - px) ** 2 + (y - py) ** 2;
          agarose[y * width + x] = agarose[y * width + x]! + depth * Math.exp(-d2 / (2 * sigma * sigma));
        }
      }
    }
    const agaroseMask = new Float32Array(n);
    const wobble = [rng.uniform(0, 6.3), rng.uniform(0.8, 1.6), rng.uniform(0.05, 0.12)];
    const edgeSoftness = 0.08;
    const det = pose.m00 * pose.m11 - pose.m01 * pose.m10;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const u = (pose.m11 * (x - pose.ox) - pose.m01 * (y - pose.oy)) / det;
        const w = (-pose.m10 * (x - pose.ox) + pose.m00 * (y - pose.oy)) / det;
        const edge = o.agaroseEnd + wobble[2]! * Math.sin(wobble[1]! * w * 3 + wobble[0]!) + 0.25 * w * w;
        agaroseMask[y * width + x] = smoothstep((edge - u) / edgeSoftness);
      }
    }
    const background = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // The agarose's cut edge is a faint bright-dark line.
      const m = agaroseMask[i]!;
      const rim = 4 * m * (1 - m);
      background[i] = plain[i]! * (1 + m * agarose[i]! - 0.015 * rim);
    }

    // The still part of the fish, supersampled 4 x 4.
    const still = new Float32Array(n).fill(1);
    const reach = 0.6 * (body.length / 4);
    const corners = [[-0.1, -reach], [-0.1, reach], [body.fixedUntil + 0.1, -reach], [body.fixedUntil + 0.1, reach]].map(([u, w]) => toImage(pose, u!, w!));
    const headBox = {
      x0: Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])))),
      x1: Math.min(width, Math.ceil(Math.max(...corners.map((c) => c[0]))) + 1),
      y0: Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])))),
      y1: Math.min(height, Math.ceil(Math.max(...corners.map((c) => c[1]))) + 1),
    };
    const SS = 4;
    for (let y = headBox.y0; y < headBox.y1; y++) {
      for (let x = headBox.x0; x < headBox.x1; x++) {
        let t = 0;
        for (let sy = 0; sy < SS; sy++) {
          for (let sx = 0; sx < SS; sx++) {
            const dx = x - 0.5 + (sx + 0.5) / SS - pose.ox;
            const dy = y - 0.5 + (sy + 0.5) / SS - pose.oy;
            t += staticTransmission(body, (pose.m11 * dx - pose.m01 * dy) / det, (-pose.m10 * dx + pose.m00 * dy) / det);
          }
        }
        still[y * width + x] = t / (SS * SS);
      }
    }
    const base = new Float32Array(n);
    for (let i = 0; i < n; i++) base[i] = background[i]! * still[i]!;

    // The artifact's region: a window that tapers over a few pixels at its edges.
    let regionWeight = new Float32Array(0);
    let region: PixelRect | null = null;
    if (o.artifactRegion) {
      const r = {
        x0: Math.max(0, Math.floor(o.artifactRegion.x0)), y0: Math.max(0, Math.floor(o.artifactRegion.y0)),
        x1: Math.min(width, Math.ceil(o.artifactRegion.x1)), y1: Math.min(height, Math.ceil(o.artifactRegion.y1)),
      };
      if (r.x1 > r.x0 && r.y1 > r.y0) {
        region = r;
        const taper = Math.max(2, 0.1 * o.pxPerMm);
        regionWeight = new Float32Array((r.x1 - r.x0) * (r.y1 - r.y0));
        for (let y = r.y0; y < r.y1; y++) {
          for (let x = r.x0; x < r.x1; x++) {
            const dEdge = Math.min(x - r.x0 + 0.5, r.x1 - 0.5 - x, y - r.y0 + 0.5, r.y1 - 0.5 - y);
            regionWeight[(y - r.y0) * (r.x1 - r.x0) + (x - r.x0)] = smoothstep(dEdge / taper);
          }
        }
      }
    }

    this.background = background;
    this.still = still;
    this.base = base;
    this.current = new Float32Array(n);
    this.agarose = agarose;
    this.plain = plain;
    this.agaroseMask = agaroseMask;
    this.region = region;
    this.regionWeight = regionWeight;
    this.headBox = headBox;
    this.bestD = new Float32Array(n);
    this.bestR = new Float32Array(n);
    this.bestH = new Float32Array(n);
    this.bestS = new Float32Array(n);
    this.bestV = new Float32Array(n);
  }

  /** The artifact region actually used (clamped to the frame), or null. */
  get artifactRegion(): PixelRect | null {
    return this.region;
  }

  /**
   * Moves the agarose texture inside the artifact region by (dx, dy) pixels (times the
   * region's tapering window). Updates `background` there; (0, 0) restores it exactly.
   */
  setArtifactShift(dx: number, dy: number): void {
    const r = this.region;
    if (!r || (dx === this.shiftX && dy === this.shiftY)) return;
    this.shiftX = dx;
    this.shiftY = dy;
    const { width, height, agarose, plain, agaroseMask, background, regionWeight } = this;
    const rw = r.x1 - r.x0;
    for (let y = r.y0; y < r.y1; y++) {
      for (let x = r.x0; x < r.x1; x++) {
        const i = y * width + x;
        const wgt = regionWeight[(y - r.y0) * rw + (x - r.x0)]!;
        // Sample the texture where the shifted content comes from (bilinear, clamped at the border).
        let sx = x - wgt * dx;
        let sy = y - wgt * dy;
        sx = sx < 0 ? 0 : sx > width - 1.000001 ? width - 1.000001 : sx;
        sy = sy < 0 ? 0 : sy > height - 1.000001 ? height - 1.000001 : sy;
        const ix = Math.floor(sx);
        const iy = Math.floor(sy);
        const fx = sx - ix;
        const fy = sy - iy;
        const j = iy * width + ix;
        const a = agarose[j]!;
        const b = agarose[j + 1]!;
        const c = agarose[j + width]!;
        const d = agarose[j + width + 1]!;
        const tex = a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
        const m = agaroseMask[i]!;
        const rim = 4 * m * (1 - m);
        background[i] = plain[i]! * (1 + m * tex - 0.015 * rim);
      }
    }
  }

  /**
   * Builds the noise-free frame in `current`: the still scene, the artifact region as it is
   * now, and the moving body given as a polyline of `count` points (image px, `xy` =
   * [x0, y0, x1, y1, ...]) with arc lengths `s` (mm from the snout) per point.
   */
  compose(xy: Float64Array, s: Float64Array, count: number): void {
    const { width, height, current, base, background, still, bestD, bestR, bestH, bestS, bestV, body } = this;
    current.set(base);
    const r = this.region;
    if (r && (this.shiftX !== 0 || this.shiftY !== 0)) {
      for (let y = r.y0; y < r.y1; y++) {
        for (let i = y * width + r.x0, end = y * width + r.x1; i < end; i++) current[i] = background[i]! * still[i]!;
      }
    }

    // Half-widths in pixels per point.
    const ppm = this.pxPerMm;
    const hwTable = body.halfWidth;
    const step = TABLE_STEP_MM;
    let maxH = 0;
    let bx0 = Infinity;
    let by0 = Infinity;
    let bx1 = -Infinity;
    let by1 = -Infinity;
    for (let k = 0; k < count; k++) {
      const idx = Math.round(s[k]! / step);
      const h = (idx < hwTable.length ? hwTable[idx]! : 0) * ppm;
      if (h > maxH) maxH = h;
      const x = xy[2 * k]!;
      const y = xy[2 * k + 1]!;
      if (x < bx0) bx0 = x;
      if (x > bx1) bx1 = x;
      if (y < by0) by0 = y;
      if (y > by1) by1 = y;
    }
    const pad = maxH + EDGE_PX + 1;
    const X0 = Math.max(0, Math.floor(bx0 - pad));
    const X1 = Math.min(width - 1, Math.ceil(bx1 + pad));
    const Y0 = Math.max(0, Math.floor(by0 - pad));
    const Y1 = Math.min(height - 1, Math.ceil(by1 + pad));
    if (X1 < X0 || Y1 < Y0) return;
    for (let y = Y0; y <= Y1; y++) bestD.fill(Infinity, y * width + X0, y * width + X1 + 1);

    const reachPad = 0.5 * EDGE_PX + 0.5;
    for (let k = 0; k + 1 < count; k++) {
      const ax = xy[2 * k]!;
      const ay = xy[2 * k + 1]!;
      const dx = xy[2 * k + 2]! - ax;
      const dy = xy[2 * k + 3]! - ay;
      const len2 = dx * dx + dy * dy;
      if (len2 <= 0) continue;
      const s0 = s[k]!;
      const s1 = s[k + 1]!;
      const i0 = Math.round(s0 / step);
      const i1 = Math.round(s1 / step);
      const h0 = (i0 < hwTable.length ? hwTable[i0]! : 0) * ppm;
      const h1 = (i1 < hwTable.length ? hwTable[i1]! : 0) * ppm;
      const reach = Math.max(h0, h1) + reachPad;
      const xs = Math.max(X0, Math.floor(Math.min(ax, ax + dx) - reach));
      const xe = Math.min(X1, Math.ceil(Math.max(ax, ax + dx) + reach));
      const ys = Math.max(Y0, Math.floor(Math.min(ay, ay + dy) - reach));
      const ye = Math.min(Y1, Math.ceil(Math.max(ay, ay + dy) + reach));
      const inv = 1 / len2;
      const dh = h1 - h0;
      const ds = s1 - s0;
      for (let y = ys; y <= ye; y++) {
        const py = y - ay;
        let i = y * width + xs;
        for (let x = xs; x <= xe; x++, i++) {
          const px = x - ax;
          let t = (px * dx + py * dy) * inv;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const cx = px - t * dx;
          const cy = py - t * dy;
          const rr = Math.sqrt(cx * cx + cy * cy);
          const h = h0 + t * dh;
          const d = rr - h;
          if (d < bestD[i]!) {
            bestD[i] = d;
            bestR[i] = rr;
            bestH[i] = h;
            bestS[i] = s0 + t * ds;
            // Signed lateral position: which side of the segment.
            bestV[i] = (dx * py - dy * px >= 0 ? rr : -rr) / (h > 1e-6 ? h : 1e-6);
          }
        }
      }
    }

    const dark = body.darkness;
    const pig = body.pigment;
    const nTab = dark.length;
    const edgeHalf = 0.5 * EDGE_PX;
    for (let y = Y0; y <= Y1; y++) {
      let i = y * width + X0;
      for (let x = X0; x <= X1; x++, i++) {
        const d = bestD[i]!;
        if (d >= edgeHalf) continue;
        const cov = slabCoverage(bestR[i]!, bestH[i]!, EDGE_PX);
        if (cov <= 0) continue;
        let ti = Math.round(bestS[i]! / step);
        if (ti >= nTab) ti = nTab - 1;
        let v = bestV[i]!;
        v = v < -1 ? -1 : v > 1 ? 1 : v;
        const b = Math.round(((v + 1) * (PIGMENT_BINS - 1)) / 2);
        let dk = dark[ti]! * (0.72 + 0.28 * (1 - v * v)) + pig[ti * PIGMENT_BINS + b]!;
        if (dk > MAX_TISSUE_DARKNESS) dk = MAX_TISSUE_DARKNESS;
        const t = 1 - cov * dk;
        const st = still[i]!;
        current[i] = background[i]! * (t < st ? t : st);
      }
    }
  }
}

/** Entries of the noise table (12 bits). */
const NOISE_TABLE_SIZE = 4096;

/**
 * A table of 4,096 standard-normal quantiles times sigma: indexing it with 12 random bits draws
 * Gaussian noise (quantised to the table) at the cost of half a 32-bit draw.
 */
export function noiseTable(sigma: number): Float32Array {
  const table = new Float32Array(NOISE_TABLE_SIZE);
  for (let k = 0; k < NOISE_TABLE_SIZE; k++) table[k] = sigma * normalQuantile((k + 0.5) / NOISE_TABLE_SIZE);
  return table;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Writes `current` x gain + camera noise into `out`, rounded (half to even) and clamped to
 * 0..255 by the Uint8ClampedArray. The noise comes from a xorshift32 stream seeded per frame,
 * two table lookups (see noiseTable) per 32-bit draw; null: no noise.
 */
export function expose(current: Float32Array, gain: number, noise: Float32Array | null, noiseSeed: number, out: Uint8ClampedArray): void {
  const n = out.length;
  if (!noise) {
    for (let i = 0; i < n; i++) out[i] = current[i]! * gain;
    return;
  }
  let x = noiseSeed | 0 || 0x2545f491;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = current[i]! * gain + noise[x & 4095]!;
    out[i + 1] = current[i + 1]! * gain + noise[(x >>> 16) & 4095]!;
  }
  if (i < n) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = current[i]! * gain + noise[x & 4095]!;
  }
}
