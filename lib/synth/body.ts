/**
 * The larva's body in its own coordinates (mm): u along the body axis from the snout (0) to the
 * tail tip (L), w lateral. Shape (half-width along u), darkness along u, a pigment texture that
 * moves with the body, the eyes, the swim bladder and the pectoral fins.
 *
 * Proportions for a 5-7 dpf larva of about 4 mm (dorsal view), after the real Stytra example
 * (at ~37 px/mm: eyes ~0.3 x 0.22 mm, trunk ~0.27 mm wide, mid-tail ~0.13 mm, tip ~0.05 mm) and
 * the paper's description (the swim bladder darkest, the eyes second darkest, a light body).
 */
import { Rng } from "../random.js";

/** Knots of the half-width profile (u, half-width), in mm for a 4-mm larva. */
const HALF_WIDTH_KNOTS: [number, number][] = [
  [0, 0.1], [0.04, 0.17], [0.12, 0.22], [0.3, 0.24], [0.55, 0.23], [0.75, 0.19], [0.95, 0.165],
  [1.3, 0.14], [1.8, 0.115], [2.5, 0.085], [3.2, 0.06], [3.7, 0.04], [3.93, 0.022], [4.0, 0.008],
];

/** Knots of the body's darkness (1 - transmission) along u, before pigment and contrast. */
const DARKNESS_KNOTS: [number, number][] = [
  [0, 0.22], [0.3, 0.2], [0.6, 0.3], [0.9, 0.42], [1.4, 0.5], [2.2, 0.46], [3.2, 0.42], [4.0, 0.34],
];

function interp(knots: [number, number][], x: number): number {
  if (x <= knots[0]![0]) return knots[0]![1];
  for (let i = 1; i < knots.length; i++) {
    const [x1, y1] = knots[i]!;
    if (x <= x1) {
      const [x0, y0] = knots[i - 1]!;
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return knots[knots.length - 1]![1];
}

export interface Ellipse {
  /** Centre (mm), semi-axes along u and w (mm), rotation (rad), darkness at the centre. */
  u: number;
  w: number;
  a: number;
  b: number;
  angle: number;
  dark: number;
}

/** A thin line (pectoral fin) from (u0, w0) to (u1, w1), mm. */
export interface Segment {
  u0: number;
  w0: number;
  u1: number;
  w1: number;
  halfWidth: number;
  dark: number;
}

/**
 * Tissue never gets darker than this (transmission >= 0.4): the bladder (transmission ~0.035)
 * and the eyes (~0.2) stay the darkest blobs, as the paper's threshold at 3 after gamma needs.
 */
export const MAX_TISSUE_DARKNESS = 0.6;

/** Resolution of the tables along u (mm) and the number of pigment bins across the body. */
export const TABLE_STEP_MM = 0.01;
export const PIGMENT_BINS = 17;

export interface Body {
  length: number;
  /** The swim bladder's tail-side end (mm): the tail's base, where the tail points start. */
  bladderEnd: number;
  /** Arc length where the body leaves the agarose and starts to bend (mm). */
  fixedUntil: number;
  /** Half-width (mm) and darkness per TABLE_STEP_MM along u (index = round(u / step)). */
  halfWidth: Float32Array;
  darkness: Float32Array;
  /** Extra darkness of melanophores: [u index * PIGMENT_BINS + lateral bin], lateral bin over v = w / half-width in [-1, 1]. */
  pigment: Float32Array;
  eyes: [Ellipse, Ellipse];
  bladder: Ellipse;
  fins: Segment[];
}

export interface BodyOptions {
  /** Body length (mm). */
  length: number;
  /** Multiplies the darkness of body and eyes (not of the bladder, which stays darkest). */
  contrast: number;
  /** Multiplies the darkness of the free tail (from where it leaves the agarose); 1: unchanged. */
  tailContrast?: number;
}

/** A random larva: proportions jittered a little, its own pigment pattern. */
export function makeBody(rng: Rng, options: BodyOptions): Body {
  const { length, contrast } = options;
  const k = length / 4;
  const n = Math.ceil(length / TABLE_STEP_MM) + 2;
  const halfWidth = new Float32Array(n);
  const darkness = new Float32Array(n);
  const widthScale = rng.uniform(0.92, 1.08);
  for (let i = 0; i < n; i++) {
    const u4 = (i * TABLE_STEP_MM) / k; // position on the 4-mm template
    halfWidth[i] = u4 > 4 ? 0 : interp(HALF_WIDTH_KNOTS, u4) * k * widthScale;
    darkness[i] = Math.min(0.85, interp(DARKNESS_KNOTS, u4) * contrast);
  }

  const bladderA = rng.uniform(0.17, 0.22) * k;
  const bladderB = rng.uniform(0.1, 0.125) * k;
  const bladderEnd = rng.uniform(1.2, 1.3) * k;
  const bladder: Ellipse = { u: bladderEnd - bladderA, w: rng.uniform(-0.01, 0.01), a: bladderA, b: bladderB, angle: rng.uniform(-0.05, 0.05), dark: 0.965 };
  const eyeU = rng.uniform(0.26, 0.32) * k;
  const eyeW = rng.uniform(0.18, 0.21) * k;
  const eyeA = rng.uniform(0.15, 0.17) * k;
  const eyeB = rng.uniform(0.11, 0.13) * k;
  const eyeDark = Math.min(0.86, rng.uniform(0.74, 0.8) * contrast);
  const tilt = rng.uniform(0.15, 0.3);
  const eyes: [Ellipse, Ellipse] = [
    { u: eyeU, w: -eyeW, a: eyeA, b: eyeB, angle: -tilt, dark: eyeDark },
    { u: eyeU + rng.uniform(-0.01, 0.01), w: eyeW, a: eyeA, b: eyeB, angle: tilt, dark: eyeDark },
  ];
  const fins: Segment[] = [];
  for (const side of [-1, 1]) {
    const u0 = rng.uniform(0.68, 0.75) * k;
    fins.push({
      u0, w0: side * 0.17 * k, u1: u0 + rng.uniform(0.3, 0.4) * k, w1: side * rng.uniform(0.36, 0.44) * k,
      halfWidth: 0.012 * k, dark: 0.14 * contrast,
    });
  }

  // Melanophores: small dark spots along the dorsal midline and the body's flanks, denser on the trunk.
  const pigment = new Float32Array(n * PIGMENT_BINS);
  const spots = Math.round(rng.uniform(55, 75) * k * 4);
  for (let s = 0; s < spots; s++) {
    const u = rng.chance(0.35) ? rng.uniform(0.55, 1.6) * k : rng.uniform(0.55, 3.95) * k;
    const i = Math.round(u / TABLE_STEP_MM);
    const hw = halfWidth[Math.min(n - 1, i)]!;
    if (hw <= 0) continue;
    const onMidline = rng.chance(0.5);
    const v = onMidline ? rng.normal() * 0.15 : rng.sign() * rng.uniform(0.45, 0.85);
    const radius = rng.uniform(0.015, 0.035) * k;
    const depth = rng.uniform(0.06, 0.2) * contrast;
    const ru = Math.ceil((2 * radius) / TABLE_STEP_MM);
    for (let di = -ru; di <= ru; di++) {
      const j = i + di;
      if (j < 0 || j >= n) continue;
      const hwj = halfWidth[j]!;
      if (hwj <= 0) continue;
      for (let b = 0; b < PIGMENT_BINS; b++) {
        const vb = -1 + (2 * b) / (PIGMENT_BINS - 1);
        const du = di * TABLE_STEP_MM;
        const dw = (vb - v) * hwj;
        const g = Math.exp(-(du * du + dw * dw) / (radius * radius));
        pigment[j * PIGMENT_BINS + b] = pigment[j * PIGMENT_BINS + b]! + depth * g;
      }
    }
  }
  for (let i = 0; i < pigment.length; i++) pigment[i] = Math.min(0.28, pigment[i]!);
  const fixedUntil = bladderEnd + 0.08 * k;
  if (options.tailContrast !== undefined && options.tailContrast !== 1) fadeTail(darkness, pigment, fixedUntil + 0.1 * k, 0.2 * k, options.tailContrast);

  return { length, bladderEnd, fixedUntil, halfWidth, darkness, pigment, eyes, bladder, fins };
}

/** Scales the tissue's darkness by `factor` from `from` (mm) on, blending in over `ramp` mm. */
function fadeTail(darkness: Float32Array, pigment: Float32Array, from: number, ramp: number, factor: number): void {
  for (let i = 0; i < darkness.length; i++) {
    const blend = Math.min(1, Math.max(0, (i * TABLE_STEP_MM - from) / ramp));
    const f = 1 - blend * (1 - factor);
    darkness[i] = darkness[i]! * f;
    for (let b = 0; b < PIGMENT_BINS; b++) pigment[i * PIGMENT_BINS + b] = pigment[i * PIGMENT_BINS + b]! * f;
  }
}

/** Half-width (mm) at arc length u. */
export function halfWidthAt(body: Body, u: number): number {
  const i = Math.round(u / TABLE_STEP_MM);
  return i < 0 || i >= body.halfWidth.length ? 0 : body.halfWidth[i]!;
}

/** Darkness of the body tissue at (u, v), v = w / half-width in [-1, 1]: base, lateral profile, pigment. */
export function tissueDarkness(body: Body, u: number, v: number): number {
  const i = Math.round(u / TABLE_STEP_MM);
  if (i < 0 || i >= body.darkness.length) return 0;
  const vc = v < -1 ? -1 : v > 1 ? 1 : v;
  const b = Math.round(((vc + 1) * (PIGMENT_BINS - 1)) / 2);
  const d = body.darkness[i]! * (0.72 + 0.28 * (1 - vc * vc)) + body.pigment[i * PIGMENT_BINS + b]!;
  return d > MAX_TISSUE_DARKNESS ? MAX_TISSUE_DARKNESS : d;
}

function ellipseDarkness(e: Ellipse, u: number, w: number, profile: (rho2: number) => number): number {
  const du = u - e.u;
  const dw = w - e.w;
  const reach = e.a > e.b ? e.a : e.b;
  if (du > reach || du < -reach || dw > reach || dw < -reach) return 0;
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const x = (c * du + s * dw) / e.a;
  const y = (-s * du + c * dw) / e.b;
  const rho2 = x * x + y * y;
  return rho2 >= 1 ? 0 : e.dark * profile(rho2);
}

/**
 * Transmission (0 = black, 1 = clear) of the still part of the fish at (u, w): head, eyes,
 * bladder, fins and the body up to `fixedUntil`. Absorbers stack (transmissions multiply).
 */
export function staticTransmission(body: Body, u: number, w: number): number {
  let t = 1;
  if (u >= 0 && u <= body.fixedUntil) {
    const hw = halfWidthAt(body, u);
    if (hw > 0 && Math.abs(w) < hw) t *= 1 - tissueDarkness(body, u, w / hw);
  }
  for (const eye of body.eyes) {
    const d = ellipseDarkness(eye, u, w, (r2) => 0.86 + 0.14 * (1 - r2));
    if (d > 0) t *= 1 - d;
  }
  const bl = ellipseDarkness(body.bladder, u, w, (r2) => 1 - 0.3 * r2 * r2);
  if (bl > 0) t *= 1 - bl;
  for (const f of body.fins) {
    const du = f.u1 - f.u0;
    const dw = f.w1 - f.w0;
    const len2 = du * du + dw * dw;
    const p = Math.max(0, Math.min(1, ((u - f.u0) * du + (w - f.w0) * dw) / len2));
    const dist = Math.hypot(u - f.u0 - p * du, w - f.w0 - p * dw);
    if (dist < f.halfWidth) t *= 1 - f.dark * (1 - 0.5 * p);
  }
  return t;
}
