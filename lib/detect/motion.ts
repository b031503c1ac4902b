/**
 * The paper's motion detection and event cutting, on cropped, per-frame min-max normalised
 * frames (see cropVideo / normalizeFrames).
 *
 * A frame i > 0 "moves" when, after a 5x5 Gaussian blur and a binary threshold at 200 of
 * frames i-1 and i, more than 0.38 % of the binary difference's "pixel range" is set. The paper
 * measures sum(|b_i - b_{i-1}|) / (rows x cols x 255); both images are 0/255, so that is the
 * fraction of pixels that changed side of the threshold, which is what we count.
 *
 * Which side of the threshold is kept does not matter: |b_i - b_{i-1}| is the same for an
 * image and its inverse. What matters is that the threshold runs between the tail and its
 * background. In the paper's normalised frames the background is near white and 200 lies
 * below it; for a grey background (the Stytra example, background about 208 after
 * normalisation) a lower threshold is needed: it is a parameter.
 */
import { loadOpenCV } from "../cv/opencv.js";
import { frameSize, type Video } from "../video/types.js";

export interface MotionParams {
  /** Gaussian blur kernel (odd), 5 in the paper. */
  blurSize: number;
  /** Binary threshold on the blurred frame (cv.threshold THRESH_BINARY: v > threshold). */
  threshold: number;
  /** A frame moves when more than this fraction of its pixels changed side (0.38 %). */
  changeFraction: number;
  /**
   * Cameras that repeat frames (the Stytra example repeats every second or third one) break
   * every run of motion into single frames. true: a frame identical to its predecessor
   * takes the predecessor's state instead of "still". false in the paper.
   */
  holdDuplicates: boolean;
}

export const MOTION_DEFAULTS: Readonly<MotionParams> = Object.freeze({
  blurSize: 5,
  threshold: 200,
  changeFraction: 0.0038,
  holdDuplicates: false,
});

export interface EventParams {
  /** Consecutive moving frames that make an event (6 in the paper). */
  minRun: number;
  /** Used when no run reaches minRun anywhere in the video (3; 0 = no retry). */
  fallbackMinRun: number;
  /** Frames kept before the first moving frame (15). */
  buffer: number;
  /** Event length in frames (150). */
  length: number;
  /**
   * When no run reaches either length: one event at frame 0 (the paper), or none (false, ours:
   * a window without a bout teaches a classifier "bout or no bout", not the bout's class).
   */
  fallbackWindow: boolean;
}

export const EVENT_DEFAULTS: Readonly<EventParams> = Object.freeze({
  minRun: 6,
  fallbackMinRun: 3,
  buffer: 15,
  length: 150,
  fallbackWindow: false,
});

/** Per frame: the fraction of pixels that changed since the previous frame ([0] = 0). */
export interface MotionProfile {
  changed: Float64Array;
  /** 1 where the frame is byte-identical to the previous one. */
  duplicate: Uint8Array;
}

export interface SwimEvent {
  /** Frames [start, end). */
  start: number;
  end: number;
  /** First moving frame of the run that triggered the event; null for the frame-0 fallback. */
  onset: number | null;
  /** Length of that run (0 for the fallback). */
  run: number;
}

export interface DroppedEvent {
  onset: number | null;
  run: number;
  reason: string;
}

export interface CutResult {
  events: SwimEvent[];
  dropped: DroppedEvent[];
  /** The run length that found events: minRun, fallbackMinRun, or 0 when neither did. */
  minRunUsed: number;
  /** No bout was detected: the events are empty, or the frame-0 fallback window when asked for. */
  noBout: boolean;
}

/** A detected bout: its first moving frame and how many frames it lasts. */
export interface Trigger {
  onset: number;
  length: number;
}

function checked<T extends object>(defaults: Readonly<T>, options: Partial<T>): T {
  const params = { ...defaults } as T;
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (params as Record<string, unknown>)[k] = v;
  return params;
}

export function motionParams(options: Partial<MotionParams> = {}): MotionParams {
  const p = checked(MOTION_DEFAULTS, options);
  if (p.blurSize < 1 || p.blurSize % 2 !== 1) throw new RangeError(`motion blurSize must be odd and positive, got ${p.blurSize}`);
  if (!(p.changeFraction >= 0 && p.changeFraction < 1)) throw new RangeError(`changeFraction must be in [0, 1), got ${p.changeFraction}`);
  return p;
}

export function eventParams(options: Partial<EventParams> = {}): EventParams {
  const p = checked(EVENT_DEFAULTS, options);
  if (typeof p.fallbackWindow !== "boolean") throw new RangeError(`event fallbackWindow must be true or false, got ${String(p.fallbackWindow)}`);
  for (const k of ["minRun", "fallbackMinRun", "buffer", "length"] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new RangeError(`event ${k} must be a non-negative integer, got ${p[k]}`);
  }
  if (p.minRun < 1 || p.length < 1) throw new RangeError(`event minRun and length must be at least 1`);
  return p;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Blur, threshold and difference every pair of consecutive frames (one set of Mats for all). */
export async function motionProfile(
  video: Video, options: Partial<MotionParams> = {}, progress?: (done: number, total: number) => void,
): Promise<MotionProfile> {
  const p = motionParams(options);
  const { rows, cols, count } = video;
  const size = frameSize(video);
  const changed = new Float64Array(count);
  const duplicate = new Uint8Array(count);
  if (count === 0 || size === 0) return { changed, duplicate };

  const cv = await loadOpenCV();
  const mats = [0, 1, 2, 3, 4].map(() => new cv.Mat(rows, cols, cv.CV_8UC1));
  const [input, blurred, diff] = mats as [typeof mats[0], typeof mats[0], typeof mats[0]];
  let [prev, cur] = [mats[3]!, mats[4]!];
  const ksize = new cv.Size(p.blurSize, p.blurSize);
  try {
    for (let i = 0; i < count; i++) {
      const frame = video.frames.subarray(i * size, (i + 1) * size);
      // A repeated frame cannot differ from its predecessor: skip the image work.
      if (i > 0 && sameBytes(frame, video.frames.subarray((i - 1) * size, i * size))) {
        duplicate[i] = 1;
        continue;
      }
      input.data.set(frame);
      cv.GaussianBlur(input, blurred, ksize, 0, 0, cv.BORDER_DEFAULT);
      cv.threshold(blurred, cur, p.threshold, 255, cv.THRESH_BINARY);
      if (i > 0) {
        cv.absdiff(prev, cur, diff);
        changed[i] = cv.countNonZero(diff) / size;
      }
      [prev, cur] = [cur, prev];
      if (progress && i % 64 === 63) progress(i + 1, count);
    }
  } finally {
    for (const m of mats) m.delete();
  }
  progress?.(count, count);
  return { changed, duplicate };
}

/** 1 for a moving frame: changed > changeFraction (or, with holdDuplicates, a repeat of one). */
export function classifyMotion(profile: MotionProfile, options: Partial<MotionParams> = {}): Uint8Array {
  const p = motionParams(options);
  const moving = new Uint8Array(profile.changed.length);
  for (let i = 1; i < moving.length; i++) {
    moving[i] = p.holdDuplicates && profile.duplicate[i] ? moving[i - 1]! : profile.changed[i]! > p.changeFraction ? 1 : 0;
  }
  return moving;
}

/** Per frame i > 0: does frame i differ enough from frame i-1? ([0] is always 0.) */
export async function movingFrames(video: Video, options: Partial<MotionParams> = {}): Promise<Uint8Array> {
  return classifyMotion(await motionProfile(video, options), options);
}

/** Runs of consecutive moving frames: [onset, length]. */
export function motionRuns(moving: ArrayLike<number | boolean>): { onset: number; length: number }[] {
  const runs: { onset: number; length: number }[] = [];
  for (let i = 0; i < moving.length; i++) {
    if (!moving[i]) continue;
    const onset = i;
    while (i < moving.length && moving[i]) i++;
    runs.push({ onset, length: i - onset });
  }
  return runs;
}

/**
 * Cuts events out of a video of `count` frames. Each run of at least minRun moving frames
 * (else fallbackMinRun) triggers an event (placeEvents). When no run reaches either, there is
 * no bout: no event, or with fallbackWindow one event at frame 0 (the paper's last resort).
 */
export function cutEvents(moving: ArrayLike<number | boolean>, count: number, options: Partial<EventParams> = {}): CutResult {
  const p = eventParams(options);
  if (moving.length > count) throw new RangeError(`motion flags cover ${moving.length} frames, the video only ${count}`);
  const runs = motionRuns(moving);
  for (const minRun of [p.minRun, p.fallbackMinRun]) {
    if (minRun < 1) continue;
    const triggers = runs.filter((r) => r.length >= minRun);
    if (triggers.length > 0) return { ...placeEvents(triggers, count, p), minRunUsed: minRun, noBout: false };
  }
  return { ...placeEvents([], count, p), minRunUsed: 0, noBout: true };
}

/**
 * Events from detected bouts (in order of onset): each starts `buffer` frames before its onset
 * and is `length` frames long. Events never overlap: a bout whose onset lies inside an earlier
 * event is dropped; when only its buffer reaches into the earlier event, the event starts where
 * that one ends (a shorter buffer; the paper's code let them overlap). An event running past the
 * end is shifted back to fit, and dropped if that makes it overlap. No bout: no event, unless
 * `fallbackWindow` asks for one at frame 0.
 */
export function placeEvents(triggers: Trigger[], count: number, options: Partial<EventParams> = {}): { events: SwimEvent[]; dropped: DroppedEvent[] } {
  const p = eventParams(options);
  const events: SwimEvent[] = [];
  const dropped: DroppedEvent[] = [];
  if (count < p.length) {
    const reason = `the video has ${count} frames, fewer than the event length ${p.length}`;
    if (triggers.length === 0 && p.fallbackWindow) dropped.push({ onset: null, run: 0, reason });
    for (const t of triggers) dropped.push({ onset: t.onset, run: t.length, reason });
    return { events, dropped };
  }
  if (triggers.length === 0) return { events: p.fallbackWindow ? [{ start: 0, end: p.length, onset: null, run: 0 }] : [], dropped };

  let previousEnd = 0;
  for (const t of triggers) {
    const previous = events.at(-1);
    if (previous && t.onset < previousEnd) {
      dropped.push({ onset: t.onset, run: t.length, reason: `onset inside event [${previous.start}, ${previous.end})` });
      continue;
    }
    let start = Math.max(0, t.onset - p.buffer, previousEnd);
    if (start + p.length > count) {
      start = count - p.length;
      if (previous && start < previousEnd) {
        dropped.push({ onset: t.onset, run: t.length, reason: `shifted back to fit the video's end, it would overlap event [${previous.start}, ${previous.end})` });
        continue;
      }
    }
    events.push({ start, end: start + p.length, onset: t.onset, run: t.length });
    previousEnd = start + p.length;
  }
  return { events, dropped };
}
