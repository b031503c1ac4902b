/**
 * The midline model: curvature along the free body as a function of time, per bout.
 *
 * The body midline runs from the snout (arc length s = 0) to the tail tip (s = L). The head and
 * the body up to `sFix` (just behind the swim bladder, where the agarose ends) are held still;
 * the free body, at normalised arc length sigma = (s - sFix) / (L - sFix) in [0, 1], bends with
 * curvature kappa(sigma, t) (radians of bend per unit sigma: a uniform kappa of 1 turns the tip
 * by 1 rad). Two terms make every bout (see the stage README for the literature values):
 *
 *   kappa(sigma, t) = W(t) e(sigma) sin(2 pi (f tau - sigma / lambda) + phi)   travelling wave
 *                   + side B(t) g(sigma)                                        one-sided bend
 *
 * with tau = t - t0 the time since the bout's start, e(sigma) = r + (1 - r) sigma^p the wave's
 * envelope along the body (r: how far the wave reaches into the trunk, p: how much it is
 * concentrated in the caudal tail), g a Gaussian bump centred at sigma_c, W a fast-rising,
 * decaying amplitude that fades to zero at the bout's end, and B a rise-hold-fall trapezoid.
 * Outside bouts the body rests in a constant posture (a small static curvature).
 *
 * Classes:
 * - spontaneous: slow swims (symmetric travelling waves of 20-32 Hz, many half-beats, the wave
 *   reaching into the trunk) and routine turns (a first, large, trunk-centred bend to one side
 *   followed by 24-35 Hz beats);
 * - prey: J-turns (a slowly rising, held bend of the caudal tail to one side, with small,
 *   caudal undulations, a steady trunk) and approach swims (low-amplitude caudal waves of 18-28
 *   Hz with few half-beats, a steady trunk, often a one-sided bias).
 * The distributions overlap (short spontaneous swims, long approach swims, turns of both
 * classes), so that features of the tail separate the classes well but not perfectly; the
 * steadiness of the trunk separates them better.
 */
import { Rng } from "../random.js";

export type BoutClass = "spontaneous" | "prey";
export type BoutType = "slow_swim" | "routine_turn" | "j_turn" | "approach_swim";

/** One bout's kinematic parameters (everything needed to evaluate its curvature). */
export interface BoutKinematics {
  type: BoutType;
  cls: BoutClass;
  /** Start of the motion, seconds from the recording's start. */
  t0: number;
  /** Duration of the motion, seconds: the curvature is zero outside (t0, t0 + duration). */
  duration: number;
  /**
   * Travelling wave: tail-beat frequency (Hz); amplitude as the amplitude of the tangent
   * angle's oscillation (rad) where the envelope is 1 (the curvature amplitude is
   * waveAmp * 2 pi / wavelength); wavelength (free-body lengths).
   */
  freqHz: number;
  waveAmp: number;
  wavelength: number;
  /** Envelope e(sigma) = trunkRatio + (1 - trunkRatio) sigma^envExp. */
  trunkRatio: number;
  envExp: number;
  /** Phase of the wave at tau = 0 (rad); the first half-beat goes to `side` when phase is 0. */
  phase: number;
  /** Rise time of the wave amplitude, exponential decay time constant, fade-out time (s). */
  waveRise: number;
  waveDecay: number;
  waveFall: number;
  /** -1 or +1: the side of the one-sided bend (and of the first half-beat). */
  side: -1 | 1;
  /**
   * One-sided bend: amplitude as the total bend (rad) that the bump adds from base to tip;
   * centre and width (1/e half-width) along sigma; timing (s).
   */
  bendAmp: number;
  bendCentre: number;
  bendWidth: number;
  bendDelay: number;
  bendRise: number;
  bendHold: number;
  bendFall: number;
  /**
   * The trunk's share: curvature at sigma < 0.15 is multiplied by trunkGain, blending to 1 at
   * sigma = 0.4. Spontaneous bouts move the trunk fully (0.9-1.3), prey bouts hold it steady
   * (0.1-0.45), whatever their tail does.
   */
  trunkGain: number;
  /**
   * Trunk sway of spontaneous bouts (0 for prey): a tangent-angle oscillation (rad) of the
   * trunk at the bout's frequency and envelope, shaped as a doublet along sigma (a bend at
   * sigma ~ 0.1 undone by ~0.3), so the trunk moves sideways while the tail's direction is
   * left almost as it was.
   */
  trunkSway: number;
  trunkSwayPhase: number;
}

const TAU = 2 * Math.PI;

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function smoothstep(x: number): number {
  const c = clamp01(x);
  return c * c * (3 - 2 * c);
}

/** Trunk involvement of a class: how far waves and bends reach towards the head. */
function envelope(rng: Rng, cls: BoutClass): { trunkRatio: number; envExp: number; trunkBendCentre: number } {
  return cls === "spontaneous"
    ? { trunkRatio: rng.uniform(0.3, 0.75), envExp: rng.uniform(1, 1.8), trunkBendCentre: rng.uniform(0.2, 0.45) }
    : { trunkRatio: rng.uniform(0, 0.15), envExp: rng.uniform(1.6, 2.6), trunkBendCentre: rng.uniform(0.55, 0.75) };
}

/** How much the trunk (sigma < TRUNK_END) takes part in the bend, by class: see `trunkGain`. */
function trunkGainFor(rng: Rng, cls: BoutClass): number {
  return cls === "spontaneous" ? rng.uniform(0.9, 1.3) : rng.uniform(0.1, 0.45);
}

/** Where a bout's kinematics come from: its recording's class, or one repertoire for both classes. */
export type KinematicsSource = "by_class" | "shared";

/**
 * Draws one bout's kinematics for its class; `t0` is filled in by the caller. With probability
 * `ambiguity` the tail's kinematics (bout type, frequency, amplitude, duration, bend) come
 * from the other class's repertoire, while the trunk keeps its own class's involvement: such
 * bouts fool the tail features but not a look at the trunk.
 */
export function sampleBout(rng: Rng, recordingClass: BoutClass, ambiguity: number, kinematics: KinematicsSource = "by_class"): BoutKinematics {
  // Shared kinematics (the artifact-only control): every bout, trunk included, draws its class's
  // repertoire by a coin flip, so that nothing in the fish's motion tells the recording's class.
  const cls: BoutClass = kinematics === "shared" ? (rng.chance(0.5) ? "prey" : "spontaneous") : recordingClass;
  const side = rng.sign();
  const repertoire: BoutClass = rng.chance(ambiguity) ? (cls === "spontaneous" ? "prey" : "spontaneous") : cls;
  const { trunkRatio, envExp, trunkBendCentre } = envelope(rng, repertoire);
  const common = {
    cls, t0: 0, side, phase: 0, waveRise: rng.uniform(0.006, 0.012), trunkGain: trunkGainFor(rng, cls),
    trunkSway: cls === "spontaneous" ? rng.uniform(0.05, 0.14) : 0, trunkSwayPhase: rng.uniform(0, TAU),
  };
  if (repertoire === "spontaneous") {
    if (rng.chance(0.65)) {
      // Slow swim: symmetric travelling wave, many half-beats, small one-sided bias.
      const duration = rng.uniform(0.1, 0.22);
      return {
        ...common, type: "slow_swim", duration,
        freqHz: rng.uniform(20, 32), waveAmp: rng.uniform(0.3, 0.9), wavelength: rng.uniform(0.8, 1.2),
        trunkRatio, envExp, waveDecay: rng.uniform(0.12, 0.4), waveFall: 0.025,
        bendAmp: rng.uniform(0, 0.15), bendCentre: rng.uniform(0.3, 0.6), bendWidth: 0.35,
        bendDelay: 0, bendRise: 0.015, bendHold: duration * 0.5, bendFall: duration * 0.3,
      };
    }
    // Routine turn: a large first bend to one side, then a few fast beats.
    return {
      ...common, type: "routine_turn", duration: rng.uniform(0.08, 0.16),
      freqHz: rng.uniform(24, 35), waveAmp: rng.uniform(0.35, 0.85), wavelength: rng.uniform(0.8, 1.2),
      trunkRatio, envExp, waveDecay: rng.uniform(0.06, 0.15), waveFall: 0.02,
      bendAmp: rng.uniform(0.4, 0.85), bendCentre: trunkBendCentre, bendWidth: rng.uniform(0.3, 0.45),
      bendDelay: 0, bendRise: rng.uniform(0.008, 0.015), bendHold: rng.uniform(0, 0.01), bendFall: rng.uniform(0.02, 0.04),
    };
  }
  if (rng.chance(0.55)) {
    // J-turn: a slow, held bend of the caudal tail to one side, small caudal undulations.
    const bendRise = rng.uniform(0.012, 0.025);
    const bendHold = rng.uniform(0.02, 0.05);
    const bendFall = rng.uniform(0.03, 0.05);
    const freqHz = rng.uniform(25, 40);
    const wavelength = rng.uniform(0.5, 0.8);
    return {
      ...common, type: "j_turn", duration: bendRise + bendHold + bendFall,
      // The undulation's fastest phase near the tip falls where the bend stops rising, so the tail never pauses.
      phase: -TAU * (freqHz * bendRise - 0.85 / wavelength),
      freqHz, waveAmp: rng.uniform(0.4, 0.7), wavelength,
      trunkRatio: trunkRatio * 0.3, envExp: envExp + 0.5, waveDecay: rng.uniform(0.1, 0.3), waveFall: 0.02,
      bendAmp: rng.uniform(0.7, 1.4),
      bendCentre: rng.uniform(0.65, 0.85), bendWidth: rng.uniform(0.15, 0.25),
      bendDelay: 0, bendRise, bendHold, bendFall,
    };
  }
  // Approach swim: low-amplitude caudal waves, few half-beats, often a one-sided bias.
  const duration = rng.uniform(0.07, 0.18);
  return {
    ...common, type: "approach_swim", duration,
    freqHz: rng.uniform(20, 30), waveAmp: rng.uniform(0.45, 0.8), wavelength: rng.uniform(0.6, 1.0),
    trunkRatio, envExp, waveDecay: rng.uniform(0.15, 0.5), waveFall: 0.025,
    bendAmp: rng.uniform(0, 0.3), bendCentre: rng.uniform(0.65, 0.85), bendWidth: 0.2,
    bendDelay: 0, bendRise: 0.02, bendHold: duration * 0.4, bendFall: duration * 0.3,
  };
}

/** Wave amplitude W(tau) (tangent-angle amplitude, rad); 0 outside the bout. */
export function waveAmplitude(b: BoutKinematics, tau: number): number {
  if (tau <= 0 || tau >= b.duration) return 0;
  const rise = tau < b.waveRise ? Math.sin((Math.PI / 2) * (tau / b.waveRise)) : 1;
  return b.waveAmp * rise * Math.exp(-tau / b.waveDecay) * smoothstep((b.duration - tau) / b.waveFall);
}

/** One-sided bend amplitude B(tau) (total bend, rad, before `side`); 0 outside the bout. */
export function bendAmplitude(b: BoutKinematics, tau: number): number {
  const t = tau - b.bendDelay;
  if (t <= 0 || tau >= b.duration || b.bendAmp === 0) return 0;
  let a: number;
  if (t < b.bendRise) a = Math.sin((Math.PI / 2) * (t / b.bendRise));
  else if (t < b.bendRise + b.bendHold) a = 1;
  else a = 1 - smoothstep((t - b.bendRise - b.bendHold) / b.bendFall);
  // Never outlive the bout.
  return b.bendAmp * a * smoothstep((b.duration - tau) / 0.01);
}

/**
 * Evaluates bouts on a sampled body: `sigma` holds the free-body coordinate of each sample
 * point (0 for the rigid part). Precomputes the spatial profiles once per bout.
 */
export class MidlineModel {
  readonly sigma: Float64Array;
  private readonly env: Float64Array[];
  private readonly bump: Float64Array[];
  private readonly kappa: Float64Array;
  /** Doublet profile of the trunk sway, normalised so that its first lobe integrates to 1. */
  private readonly sway: Float64Array;

  constructor(sigma: Float64Array, readonly bouts: BoutKinematics[], readonly restCurvature: number) {
    this.sigma = sigma;
    this.kappa = new Float64Array(sigma.length);
    this.sway = Float64Array.from(sigma, (s) => (s <= 0 ? 0 : Math.exp(-(((s - 0.1) / 0.07) ** 2)) - Math.exp(-(((s - 0.3) / 0.07) ** 2))));
    let lobe = 0;
    for (let k = 1; k < sigma.length; k++) if (sigma[k]! <= 0.2) lobe += 0.5 * (this.sway[k]! + this.sway[k - 1]!) * (sigma[k]! - sigma[k - 1]!);
    if (lobe > 0) for (let k = 0; k < this.sway.length; k++) this.sway[k] = this.sway[k]! / lobe;
    const gain = (b: BoutKinematics, s: number): number => 1 + (b.trunkGain - 1) * (1 - smoothstep((s - 0.15) / 0.25));
    this.env = bouts.map((b) => Float64Array.from(sigma, (s) => (s <= 0 ? 0 : gain(b, s) * (b.trunkRatio + (1 - b.trunkRatio) * Math.pow(s, b.envExp)))));
    // The bump's curvature integrates to bendAmp over the free body.
    this.bump = bouts.map((b) => {
      const g = Float64Array.from(sigma, (s) => (s <= 0 ? 0 : Math.exp(-(((s - b.bendCentre) / b.bendWidth) ** 2))));
      let area = 0;
      for (let k = 1; k < sigma.length; k++) area += 0.5 * (g[k]! + g[k - 1]!) * (sigma[k]! - sigma[k - 1]!);
      if (area > 0) for (let k = 0; k < g.length; k++) g[k] = (g[k]! / area) * gain(b, sigma[k]!);
      return g;
    });
  }

  /** The bout active at time t (seconds), or -1. */
  activeBout(t: number): number {
    for (let i = 0; i < this.bouts.length; i++) {
      const b = this.bouts[i]!;
      if (t > b.t0 && t < b.t0 + b.duration) return i;
    }
    return -1;
  }

  /**
   * Tangent angles theta (rad, relative to the body axis) at the sample points at time t,
   * written into `theta` (same length as sigma). Returns the active bout's index or -1.
   */
  angles(t: number, theta: Float64Array): number {
    const { sigma, kappa } = this;
    const n = sigma.length;
    const bi = this.activeBout(t);
    for (let k = 0; k < n; k++) kappa[k] = sigma[k]! > 0 ? this.restCurvature : 0;
    if (bi >= 0) {
      const b = this.bouts[bi]!;
      const tau = t - b.t0;
      const w = ((waveAmplitude(b, tau) * TAU) / b.wavelength) * b.side;
      const phase0 = TAU * b.freqHz * tau + b.phase;
      const env = this.env[bi]!;
      if (w !== 0) {
        const k2 = TAU / b.wavelength;
        for (let k = 0; k < n; k++) if (env[k]! > 0) kappa[k] = kappa[k]! + w * env[k]! * Math.sin(phase0 - k2 * sigma[k]!);
      }
      if (b.trunkSway !== 0) {
        const a = (waveAmplitude(b, tau) / b.waveAmp) * b.trunkSway * Math.sin(TAU * b.freqHz * tau + b.trunkSwayPhase);
        const sway = this.sway;
        for (let k = 0; k < n; k++) kappa[k] = kappa[k]! + a * sway[k]!;
      }
      const bend = bendAmplitude(b, tau) * b.side;
      if (bend !== 0) {
        const bump = this.bump[bi]!;
        for (let k = 0; k < n; k++) kappa[k] = kappa[k]! + bend * bump[k]!;
      }
    }
    // theta(sigma) = integral of kappa d sigma (trapezoids).
    theta[0] = 0;
    for (let k = 1; k < n; k++) theta[k] = theta[k - 1]! + 0.5 * (kappa[k]! + kappa[k - 1]!) * (sigma[k]! - sigma[k - 1]!);
    return bi;
  }
}

/**
 * Integrates tangent angles into points: starting at (u0, 0) in body coordinates (u along the
 * body axis, w lateral, both in mm), spacing `ds` mm. Writes u, w into `out` as [u0, w0, u1, w1, ...].
 */
export function integrateMidline(theta: Float64Array, u0: number, ds: number, out: Float64Array): void {
  let u = u0;
  let w = 0;
  out[0] = u;
  out[1] = w;
  for (let k = 1; k < theta.length; k++) {
    const a = 0.5 * (theta[k]! + theta[k - 1]!);
    u += ds * Math.cos(a);
    w += ds * Math.sin(a);
    out[2 * k] = u;
    out[2 * k + 1] = w;
  }
}

/**
 * Turns a prey bout into one of issue 12's rig (synthesize's `caudal_prey`): the same timing and
 * beat, but the wave and the bend confined to the caudal tail (the last fifth of the body) and the
 * trunk still. Draws nothing, so the other bouts of a recording stay as they were.
 */
export function confineToCaudalTail(b: BoutKinematics): void {
  b.trunkRatio = 0;
  b.envExp = Math.max(b.envExp, 1.6) + 2;
  b.trunkGain = 0.02;
  b.bendCentre = 0.85 + 0.3 * (b.bendCentre - 0.75);
  b.bendWidth = Math.min(b.bendWidth, 0.12);
}
