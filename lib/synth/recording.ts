/**
 * One synthetic recording: draws a larva, a mount and a sequence of bouts from the recording's
 * seed, renders every frame and records the ground truth (midline points per frame, bouts with
 * their onsets, offsets and kinematics, the artifact's displacement per frame).
 */
import { makeBody, type Body } from "./body.js";
import { confineToCaudalTail, integrateMidline, MidlineModel, sampleBout, type BoutKinematics } from "./kinematics.js";
import { checkParams, type RecordingParams } from "./params.js";
import { expose, noiseTable, poseAt, Scene, toImage, type PixelRect, type Pose } from "./render.js";
import { hash32, Rng } from "../random.js";
import { boutFeatures, tailAngles, trunkMotion } from "./truth-stats.js";
import type { Video } from "../video/types.js";

/** Segments of the tail polyline, from the bladder's tail-side end to the tip (points = + 1). */
export const TAIL_SEGMENTS = 40;

const DEG = 180 / Math.PI;

export interface BoutTruth {
  /** First frame that differs from rest, last frame that does (inclusive). */
  onset: number;
  offset: number;
  type: BoutKinematics["type"];
  class: BoutKinematics["cls"];
  /** -1 / +1: the side of the first bend and of a one-sided bend (+1: towards +w, image +y for head-left). */
  side: number;
  duration_ms: number;
  frequency_hz: number;
  /** Nominal half-beats of the travelling wave: 2 x frequency x duration. */
  half_beats: number;
  wave_amplitude_deg: number;
  wavelength: number;
  trunk_ratio: number;
  envelope_exponent: number;
  trunk_gain: number;
  trunk_sway_deg: number;
  bend_deg: number;
  bend_centre: number;
  /** Measured on the rendered midline over the bout's frames. */
  measured: {
    tail_angle_peaks: number;
    max_tail_angle_deg: number;
    max_curvature_deg: number;
    mean_abs_tip_angle_deg: number;
    trunk_motion_deg: number;
    tip_amplitude_mm: number;
  };
  /** Whether this bout moves the agarose. */
  artifact: boolean;
}

export interface RecordingTruth {
  id?: string;
  class: RecordingParams["class"];
  label: 0 | 1;
  fps: number;
  frames: number;
  rows: number;
  cols: number;
  px_per_mm: number;
  orientation: RecordingParams["orientation"];
  fish: {
    length_mm: number;
    bladder_end_mm: number;
    fixed_until_mm: number;
    /** The bladder's tail-side end in the image (px, pixel centres at integers). */
    bladder_end_px: [number, number];
    /** The still head: eye centres (px). */
    eyes_px: [number, number][];
    /** Body axis direction in the image (unit vector, head to tail). */
    axis: [number, number];
    /** Body-to-image transform: image = origin + M (u, w), mm. */
    pose: Pose;
    contrast: number;
  };
  scene: { brightness: number; noise_sigma: number; drift: number; agarose_end_mm: number };
  artifact: {
    active: boolean;
    strength_px: number;
    class: RecordingParams["artifact_class"];
    /** Clamped to the frame; null when off. */
    region_px: PixelRect | null;
    direction: [number, number];
  };
  /** Points per frame in `midline` (from the bladder's end to the tail tip, equal arc lengths). */
  midline_points: number;
  bouts: BoutTruth[];
}

export interface RecordingResult {
  video: Video;
  truth: RecordingTruth;
  /** frames x points x 2 (x, y in px). */
  midline: Float32Array;
  /** frames x points x 2 (u, w in mm, body coordinates). */
  midlineBody: Float32Array;
  /** frames x 2: the artifact's displacement (px) at the centre of its region. */
  artifactShift: Float32Array;
  /** Per frame: tail angle (deg, Semmelhack et al.'s `angle`). */
  tailAngle: Float32Array;
}

export interface RenderOptions {
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
  /** Render without camera noise (for tests of stillness); the truth is unchanged. */
  noNoise?: boolean;
  /** Render only the first `maxFrames` frames (for benchmarks); the truth covers them only. */
  maxFrames?: number;
  /**
   * Where to put the frames: a buffer of at least frames x rows x cols bytes that the caller
   * reuses between recordings (the result's video is then a view of it). Fresh memory costs a
   * page fault per 4 KiB on first write, which slows rendering by a factor of about two.
   */
  buffer?: Uint8Array;
  /** Compute the ground truth only: no image is rendered and the video holds no frames (fast). */
  truthOnly?: boolean;
}

interface Layout {
  body: Body;
  pose: Pose;
  bladderX: number;
  bladderY: number;
  mirrored: boolean;
  contrast: number;
}

/** Draws the larva and places it so that the bladder's end plus the extraction's crop fits the frame. */
function layout(p: RecordingParams): Layout {
  const rng = new Rng(hash32(p.seed, "fish"));
  const length = p.fish_length_mm * (1 + p.size_jitter * rng.uniform(-1, 1));
  const contrast = 1 + p.contrast_jitter * rng.uniform(-1, 1);
  const body = makeBody(rng, { length, contrast, tailContrast: p.tail_contrast });
  const ppm = p.px_per_mm;
  const pj = p.position_jitter_px;
  const mirrored = p.orientation === "head-right";
  // Head-left frame: the crop [x - offset, x - offset + crop) must fit in [0, width).
  const xNominal = p.width - p.crop_px + p.crop_offset_px - 2 - pj;
  const headReach = body.bladderEnd * ppm + 3;
  const tailReach = (body.length - body.bladderEnd) * ppm + 2;
  if (xNominal - pj - headReach < 0) {
    throw new RangeError(
      `synthesize: a ${p.width}-pixel-wide frame cannot hold the head (${headReach.toFixed(0)} px) left of a ${p.crop_px}-pixel crop: ` +
        `widen the frame (width >= ${Math.ceil(headReach + p.crop_px - p.crop_offset_px + 2 + 2 * pj)}) or lower px_per_mm or crop_px`,
    );
  }
  if (xNominal + pj + tailReach > p.width) {
    throw new RangeError(`synthesize: the tail (${tailReach.toFixed(0)} px) does not fit right of the bladder in a ${p.width}-pixel-wide frame: widen the frame or lower px_per_mm`);
  }
  if (p.height < p.crop_px + 2 * pj + 2) {
    throw new RangeError(`synthesize: frames ${p.height} px high cannot hold a ${p.crop_px}-pixel crop around the bladder: set height >= ${p.crop_px + 2 * Math.ceil(pj) + 2} or lower crop_px`);
  }
  let bladderX = xNominal + rng.uniform(-pj, pj);
  const bladderY = (p.height - 1) / 2 + rng.uniform(-pj, pj);
  if (mirrored) bladderX = p.width - 1 - bladderX;
  const angle = ((p.angle_jitter_deg * Math.PI) / 180) * rng.uniform(-1, 1);
  const pose = poseAt(body.bladderEnd, bladderX, bladderY, angle, ppm, mirrored);
  return { body, pose, bladderX, bladderY, mirrored, contrast };
}

/** Bouts with their onsets, and the recording's length in frames. */
function timeline(p: RecordingParams): { bouts: BoutKinematics[]; onsets: number[]; frames: number } {
  const rng = new Rng(hash32(p.seed, "bouts"));
  const fps = p.fps;
  const count = rng.int(p.bouts_min, p.bouts_max);
  const spacing = Math.ceil((p.min_onset_spacing_ms / 1000) * fps);
  let onset = Math.max(1, Math.round((p.lead_in_ms / 1000) * fps * rng.uniform(1, 2)));
  const bouts: BoutKinematics[] = [];
  const onsets: number[] = [];
  let end = 0;
  for (let i = 0; i < count; i++) {
    const b = sampleBout(rng, p.class, p.ambiguity, p.kinematics);
    // Motion starts half a frame before the onset frame: that frame is the first that moves.
    b.t0 = (onset - 0.5) / fps;
    bouts.push(b);
    if (p.caudal_prey && b.cls === "prey") confineToCaudalTail(b);
    onsets.push(onset);
    const motion = Math.ceil(b.duration * fps) + 1;
    const rest = Math.round((rng.uniform(p.rest_ms_min, p.rest_ms_max) / 1000) * fps);
    const next = onset + Math.max(spacing, motion + rest);
    end = next;
    onset = next;
  }
  return { bouts, onsets, frames: end };
}

function smoothstep(x: number): number {
  const c = x < 0 ? 0 : x > 1 ? 1 : x;
  return c * c * (3 - 2 * c);
}

/** Artifact rise and decay times (s). */
const ARTIFACT_RISE_S = 0.015;
const ARTIFACT_DECAY_S = 0.06;

/** The artifact's displacement factor (0..1) at time t: follows the active bout of its class, then decays. */
function artifactFactor(bouts: BoutKinematics[], active: boolean[], t: number): number {
  for (let i = 0; i < bouts.length; i++) {
    if (!active[i]) continue;
    const b = bouts[i]!;
    const tau = t - b.t0;
    if (tau <= 0 || tau >= b.duration + ARTIFACT_DECAY_S) continue;
    const env = smoothstep(tau / ARTIFACT_RISE_S) * (1 - smoothstep((tau - b.duration) / ARTIFACT_DECAY_S));
    return env * (0.65 + 0.35 * Math.sin(2 * Math.PI * b.freqHz * tau));
  }
  return 0;
}

function abortError(): Error {
  const e = new Error("synthesize: cancelled");
  e.name = "AbortError";
  return e;
}

/** The number of frames a recording will have (cheap: draws the timeline only). */
export function recordingFrames(p: RecordingParams): number {
  return timeline(p).frames;
}

/** Renders one recording in memory. */
export function renderRecording(p: RecordingParams, options: RenderOptions = {}): RecordingResult {
  checkParams(p);
  const { body, pose, bladderX, bladderY, mirrored, contrast } = layout(p);
  const { bouts, onsets, frames: fullFrames } = timeline(p);
  const frames = Math.min(fullFrames, options.maxFrames ?? Infinity);
  const rng = new Rng(hash32(p.seed, "scene-draws"));
  const ppm = p.px_per_mm;
  const brightness = rng.uniform(p.brightness_min, p.brightness_max);
  const sigmaNoise = options.noNoise ? 0 : rng.uniform(p.noise_min, p.noise_max);
  const driftPeriods = [rng.uniform(3, 10), rng.uniform(1, 3)];
  const driftPhases = [rng.uniform(0, 2 * Math.PI), rng.uniform(0, 2 * Math.PI)];
  const k = body.length / 4;
  const agaroseEnd = body.bladderEnd + rng.uniform(1.2, 1.5) * k;
  const restCurvature = rng.uniform(-0.06, 0.06);
  const psi = rng.uniform(0, 2 * Math.PI);
  const direction: [number, number] = [Math.cos(psi), Math.sin(psi)];

  const artifactOn = p.artifact_strength_px > 0 && p.artifact_class === p.class;
  const r = p.artifact_region_mm;
  const rx0 = mirrored ? bladderX - (r.x + r.width) * ppm : bladderX + r.x * ppm;
  const region: PixelRect = { x0: Math.round(rx0), x1: Math.round(rx0 + r.width * ppm), y0: Math.round(bladderY + r.y * ppm), y1: Math.round(bladderY + (r.y + r.height) * ppm) };
  const sceneOptions = {
    width: p.width, height: p.height, pxPerMm: ppm, pose, body, brightness,
    agaroseContrast: p.agarose_contrast, agaroseEnd, artifactRegion: artifactOn ? region : null, seed: p.seed,
  };
  const scene = options.truthOnly ? null : new Scene(sceneOptions);
  const regionUsed = scene ? scene.artifactRegion : artifactOn ? clampRect(region, p.width, p.height) : null;

  // The tail polyline: equal arc lengths from the bladder's end to the tip.
  const nPts = TAIL_SEGMENTS + 1;
  const ds = (body.length - body.bladderEnd) / TAIL_SEGMENTS;
  const sArr = Float64Array.from({ length: nPts }, (_, i) => body.bladderEnd + i * ds);
  const sigma = Float64Array.from(sArr, (s) => Math.max(0, (s - body.fixedUntil) / (body.length - body.fixedUntil)));
  const model = new MidlineModel(sigma, bouts, restCurvature);
  const theta = new Float64Array(nPts);
  const uw = new Float64Array(2 * nPts);
  const xy = new Float64Array(2 * nPts);
  const prevXY = new Float64Array(2 * nPts).fill(NaN);

  const size = p.width * p.height;
  const videoFrames = options.truthOnly ? 0 : frames;
  const video = options.buffer && options.buffer.length >= videoFrames * size ? options.buffer.subarray(0, videoFrames * size) : new Uint8Array(videoFrames * size);
  const clamped = new Uint8ClampedArray(video.buffer, video.byteOffset, video.length);
  const noise = sigmaNoise > 0 ? noiseTable(sigmaNoise) : null;
  const midline = new Float32Array(frames * nPts * 2);
  const midlineBody = new Float32Array(frames * nPts * 2);
  const artifactShift = new Float32Array(frames * 2);
  const tailAngle = new Float32Array(frames);
  const activeForArtifact = bouts.map(() => artifactOn);
  let prevShift = NaN;
  const noiseBase = hash32(p.seed, "noise");

  for (let f = 0; f < frames; f++) {
    if ((f & 31) === 0) {
      if (options.signal?.aborted) throw abortError();
      options.progress?.(f, frames);
    }
    const t = f / p.fps;
    model.angles(t, theta);
    integrateMidline(theta, body.bladderEnd, ds, uw);
    let same = true;
    for (let i = 0; i < nPts; i++) {
      const u = uw[2 * i]!;
      const w = uw[2 * i + 1]!;
      const x = pose.ox + pose.m00 * u + pose.m01 * w;
      const y = pose.oy + pose.m10 * u + pose.m11 * w;
      xy[2 * i] = x;
      xy[2 * i + 1] = y;
      if (x !== prevXY[2 * i] || y !== prevXY[2 * i + 1]) same = false;
    }
    const shift = artifactOn ? p.artifact_strength_px * artifactFactor(bouts, activeForArtifact, t) : 0;
    if (shift !== prevShift) same = false;
    if (scene) {
      if (!same) {
        scene.setArtifactShift(shift * direction[0], shift * direction[1]);
        scene.compose(xy, sArr, nPts);
        prevXY.set(xy);
        prevShift = shift;
      }
      const gain = 1 + p.drift * (0.7 * Math.sin((2 * Math.PI * t) / driftPeriods[0]! + driftPhases[0]!) + 0.3 * Math.sin((2 * Math.PI * t) / driftPeriods[1]! + driftPhases[1]!));
      expose(scene.current, gain, noise, hash32(noiseBase, f), clamped.subarray(f * size, (f + 1) * size));
    }
    for (let i = 0; i < 2 * nPts; i++) {
      midline[f * 2 * nPts + i] = xy[i]!;
      midlineBody[f * 2 * nPts + i] = uw[i]!;
    }
    artifactShift[2 * f] = shift * direction[0];
    artifactShift[2 * f + 1] = shift * direction[1];
  }
  for (let f = 0; f < frames; f++) tailAngle[f] = tailAngles(midlineBody.subarray(f * 2 * nPts, (f + 1) * 2 * nPts), nPts).angle;
  options.progress?.(frames, frames);

  // Ground truth per bout: nominal kinematics and what the rendered midline did.
  const trunkPoint = Math.max(1, Math.round((body.fixedUntil - body.bladderEnd + 0.3 * (body.length - body.fixedUntil)) / ds));
  const boutTruth: BoutTruth[] = [];
  bouts.forEach((b, i) => {
    const onset = onsets[i]!;
    const offset = Math.ceil(onset - 0.5 + b.duration * p.fps) - 1;
    if (onset >= frames) return;
    const lo = Math.max(0, onset - 1);
    const hi = Math.min(frames, offset + 2);
    const feats = boutFeatures(midlineBody, nPts, lo, hi);
    let tipLo = Infinity;
    let tipHi = -Infinity;
    for (let f = lo; f < hi; f++) {
      const w = midlineBody[f * 2 * nPts + 2 * nPts - 1]!;
      tipLo = Math.min(tipLo, w);
      tipHi = Math.max(tipHi, w);
    }
    boutTruth.push({
      onset, offset: Math.min(offset, frames - 1), type: b.type, class: b.cls, side: b.side,
      duration_ms: round(b.duration * 1000, 2), frequency_hz: round(b.freqHz, 3),
      half_beats: round(2 * b.freqHz * b.duration, 2), wave_amplitude_deg: round(b.waveAmp * DEG, 2),
      wavelength: round(b.wavelength, 3), trunk_ratio: round(b.trunkRatio, 3), envelope_exponent: round(b.envExp, 3),
      trunk_gain: round(b.trunkGain, 3), trunk_sway_deg: round(b.trunkSway * DEG, 2),
      bend_deg: round(b.bendAmp * DEG, 2), bend_centre: round(b.bendCentre, 3),
      measured: {
        tail_angle_peaks: feats.peaks,
        max_tail_angle_deg: round(feats.maxAngle, 3),
        max_curvature_deg: round(feats.maxCurvature, 3),
        mean_abs_tip_angle_deg: round(feats.meanTipAngle, 3),
        trunk_motion_deg: round(trunkMotion(midlineBody, nPts, trunkPoint, lo, hi), 3),
        tip_amplitude_mm: round(tipHi - tipLo, 4),
      },
      artifact: artifactOn,
    });
  });

  const axis = toImage(pose, 1, 0);
  const origin = toImage(pose, 0, 0);
  const axisLen = Math.hypot(axis[0] - origin[0], axis[1] - origin[1]);
  const truth: RecordingTruth = {
    class: p.class, label: p.label, fps: p.fps, frames, rows: p.height, cols: p.width, px_per_mm: ppm, orientation: p.orientation,
    fish: {
      length_mm: round(body.length, 4), bladder_end_mm: round(body.bladderEnd, 4), fixed_until_mm: round(body.fixedUntil, 4),
      bladder_end_px: [round(bladderX, 3), round(bladderY, 3)],
      eyes_px: body.eyes.map((e) => toImage(pose, e.u, e.w).map((v) => round(v, 3)) as [number, number]),
      axis: [round((axis[0] - origin[0]) / axisLen, 6), round((axis[1] - origin[1]) / axisLen, 6)],
      pose, contrast: round(contrast, 4),
    },
    scene: { brightness: round(brightness, 3), noise_sigma: round(sigmaNoise, 4), drift: p.drift, agarose_end_mm: round(agaroseEnd, 4) },
    artifact: { active: artifactOn, strength_px: p.artifact_strength_px, class: p.artifact_class, region_px: regionUsed, direction: [round(direction[0], 6), round(direction[1], 6)] },
    midline_points: nPts,
    bouts: boutTruth,
  };
  return { video: { frames: video, count: videoFrames, rows: p.height, cols: p.width, fps: p.fps }, truth, midline, midlineBody, artifactShift, tailAngle };
}

function clampRect(r: PixelRect, width: number, height: number): PixelRect | null {
  const c = { x0: Math.max(0, r.x0), y0: Math.max(0, r.y0), x1: Math.min(width, r.x1), y1: Math.min(height, r.y1) };
  return c.x1 > c.x0 && c.y1 > c.y0 ? c : null;
}

function round(v: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(v * m) / m;
}
