/**
 * A bout detector that adapts to the recording (`motion.method: adaptive`), beside the paper's
 * fixed thresholds (motion.ts). Issue 12: on a rig where prey bouts bend only the thin caudal
 * tail, the paper's binary threshold at 200 never sees the tail move, and loosening it adds
 * false events from camera noise. Here every threshold is measured on the recording itself:
 *
 * 1. Each cropped frame, as recorded, is blurred (3x3 box) and differenced with the previous one,
 *    less the band's mean difference (a flicker of the lamp moves nothing).
 * 2. The camera noise of a difference, sigma, is estimated robustly: the median |difference| over
 *    the band's pixels in about 300 frames spread over the recording (the tail covers few of
 *    them) is 0.6745 sigma for Gaussian noise.
 * 3. Per frame, the statistic is the number of pixels in the tail band (the crop's rows within
 *    `band` of the tail's resting row; the corners with the agarose stay out) whose difference
 *    exceeds `pixel_sigmas` x sigma (and `min_change` grey levels): noise rarely reaches it, a moving edge does,
 *    however faint the tail.
 * 4. A frame moves when its count exceeds the rest level by `frame_sigmas` robust deviations
 *    (median and MAD of the still frames' counts, found by clipping from the lower quartile:
 *    dense bouts move in about half the frames), and at least `min_pixels`. Hysteresis: a bout
 *    starts at a frame above that, and extends backwards and forwards over frames above
 *    `low_fraction` of it, so that its slow start and end belong to it.
 * 5. Runs shorter than `min_duration` are dropped; bouts closer than `merge_gap` are one bout.
 * 6. The onset is the bout's first frame that reaches `onset_fraction` of its median count: the
 *    real Stytra clip has a small twitch (145 changed pixels, then 30) two to four frames before
 *    each bout (about 1,000 per frame), which is not where the bout starts.
 *
 * Repeated frames (cameras that deliver fewer distinct frames than their rate, the Stytra
 * example) hold the previous statistic when `holdDuplicates` is set, as the paper's detector does.
 */
import { frameSize, type Video } from "../video/types.js";
import type { Trigger } from "./motion.js";

export interface AdaptiveParams {
  /** A pixel changed when its |difference| exceeds this many noise sigmas ... */
  pixelSigmas: number;
  /** ... and this many grey levels (a quantised, compressed video's rest differences are 0 or 1 level: sigma says little there). */
  minChange: number;
  /** A frame moves when its count of changed pixels exceeds the rest level by this many robust deviations. */
  frameSigmas: number;
  /** ... and by at least this many pixels. */
  minPixels: number;
  /** Hysteresis: a bout extends over frames above this fraction of the frame threshold. */
  lowFraction: number;
  /**
   * The onset is the bout's first frame with at least this fraction of its median count: a small
   * precursor (a twitch before the bout, as in the Stytra clip) is not its onset. 0: the first
   * frame above the low threshold.
   */
  onsetFraction: number;
  /** Half-height of the tail band, as a fraction of the crop's height (0.5: the whole crop). */
  band: number;
  /** Bouts separated by fewer still frames than this are one bout. */
  mergeGap: number;
  /** Bouts of fewer frames than this are dropped. */
  minDuration: number;
  holdDuplicates: boolean;
}

export const ADAPTIVE_DEFAULTS: Readonly<Omit<AdaptiveParams, "mergeGap" | "minDuration">> = Object.freeze({
  pixelSigmas: 4,
  minChange: 2,
  frameSigmas: 6,
  minPixels: 6,
  lowFraction: 0.4,
  onsetFraction: 0.2,
  band: 0.35,
  holdDuplicates: false,
});

export interface AdaptiveProfile {
  /** Changed pixels in the tail band per frame ([0] = 0). */
  count: Float64Array;
  /** 1 where the frame is byte-identical to the previous one. */
  duplicate: Uint8Array;
  /** Noise sigma of a frame difference (grey levels) and the pixel threshold it gave. */
  sigma: number;
  pixelThreshold: number;
  /** Rows of the tail band [top, bottom). */
  band: [number, number];
}

export interface AdaptiveDetection {
  bouts: (Trigger & { offset: number })[];
  /** The frame threshold (changed pixels) and the hysteresis' low one. */
  threshold: number;
  low: number;
  /** The rest level: median count and its robust deviation. */
  rest: { median: number; deviation: number };
  /** Runs above the threshold that were too short. */
  tooShort: { onset: number; length: number }[];
}

/**
 * 3x3 box blur (sum, not mean: the scale cancels in the ratio to sigma) of rows [top, bottom)
 * into `out`; `tmp` holds the horizontal pass.
 */
function boxBlur(src: Uint8Array, rows: number, cols: number, top: number, bottom: number, out: Float32Array, tmp: Float32Array): void {
  for (let y = Math.max(0, top - 1); y < Math.min(rows, bottom + 1); y++) {
    const o = y * cols;
    for (let x = 0; x < cols; x++) tmp[o + x] = src[o + Math.max(0, x - 1)]! + src[o + x]! + src[o + Math.min(cols - 1, x + 1)]!;
  }
  for (let y = top; y < bottom; y++) {
    const up = Math.max(0, y - 1) * cols;
    const down = Math.min(rows - 1, y + 1) * cols;
    const o = y * cols;
    for (let x = 0; x < cols; x++) out[o + x] = tmp[up + x]! + tmp[o + x]! + tmp[down + x]!;
  }
}

function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Visits the blurred |difference| of each distinct frame i with frame i - 1 over the band's rows
 * (box-sum units: 9 x grey levels), for every `stride`-th frame. Returns the repeated frames.
 */
function bandDifferences(video: Video, band: [number, number], stride: number, visit: (i: number, d: Float32Array) => void): Uint8Array {
  const { rows, cols, count } = video;
  const size = frameSize(video);
  const duplicate = new Uint8Array(count);
  let prev = new Float32Array(size);
  let cur = new Float32Array(size);
  const tmp = new Float32Array(size);
  const blur = (i: number, out: Float32Array): void => boxBlur(frame(i), rows, cols, band[0], band[1], out, tmp);
  const d = new Float32Array((band[1] - band[0]) * cols);
  const frame = (i: number): Buffer => Buffer.from(video.frames.buffer, video.frames.byteOffset + i * size, size);
  // Frame i - 1 is already blurred in `prev` when every frame is visited (a repeat equals its predecessor).
  if (stride === 1) blur(0, prev);
  for (let i = 1; i < count; i++) {
    if (frame(i).equals(frame(i - 1))) {
      duplicate[i] = 1;
      continue;
    }
    if (i % stride !== 0) continue;
    if (stride !== 1) blur(i - 1, prev);
    blur(i, cur);
    // A change of the whole frame's brightness (lamp flicker) is no motion: remove the band's mean
    // change (a moving tail darkens as many pixels as it brightens, so it barely shifts the mean).
    let offset = 0;
    for (let k = 0, p = band[0] * cols; k < d.length; k++, p++) offset += cur[p]! - prev[p]!;
    offset /= d.length;
    for (let k = 0, p = band[0] * cols; k < d.length; k++, p++) d[k] = Math.abs(cur[p]! - prev[p]! - offset);
    visit(i, d);
    if (stride === 1) [prev, cur] = [cur, prev];
  }
  return duplicate;
}

/**
 * Changed pixels per frame in the tail band. `tailRow`: the tail's resting row in the crop (the
 * bladder's row; default the middle row).
 */
export function adaptiveProfile(video: Video, options: Pick<AdaptiveParams, "pixelSigmas" | "minChange" | "band">, tailRow?: number): AdaptiveProfile {
  const { rows, count } = video;
  const centre = tailRow ?? (rows - 1) / 2;
  const half = Math.max(1, Math.round(options.band * rows));
  const band: [number, number] = [Math.max(0, Math.round(centre - half)), Math.min(rows, Math.round(centre + half) + 1)];
  const counts = new Float64Array(count);
  if (count < 2 || frameSize(video) === 0) return { count: counts, duplicate: new Uint8Array(count), sigma: 0, pixelThreshold: 0, band };

  // The noise: median |difference| over about 300 frames spread over the recording.
  const histogram = new Float64Array(256 * 9 + 1);
  bandDifferences(video, band, Math.max(1, Math.floor(count / 300)), (_, d) => {
    for (let k = 0; k < d.length; k++) histogram[Math.round(d[k]!)]!++;
  });
  const total = histogram.reduce((a, b) => a + b, 0);
  let med = 0;
  for (let v = 0, seen = 0; v < histogram.length; v++) {
    seen += histogram[v]!;
    if (seen >= total / 2) {
      med = v;
      break;
    }
  }
  // Bins are whole box-sum units (1/9 grey level); a median in bin 0 means almost no noise.
  const sigma = Math.max(0.5, med) / 0.6745;
  const pixelThreshold = Math.max(options.pixelSigmas * sigma, 9 * options.minChange);
  const duplicate = bandDifferences(video, band, 1, (i, d) => {
    let n = 0;
    for (let k = 0; k < d.length; k++) if (d[k]! > pixelThreshold) n++;
    counts[i] = n;
  });
  return { count: counts, duplicate, sigma: sigma / 9, pixelThreshold: pixelThreshold / 9, band };
}

/**
 * The counts of still frames: their median and robust deviation (1.4826 MAD), and the frame
 * threshold above them. A recording may move in more than half its frames (dense bouts), so the
 * rest is not the median of all frames: start from the lower quartile and clip the frames above
 * the threshold until the rest set no longer changes.
 */
function restLevel(counts: number[], p: Pick<AdaptiveParams, "frameSigmas" | "minPixels">): { restMedian: number; deviation: number; threshold: number } {
  const sorted = Float64Array.from(counts).sort();
  const quantile = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
  let restMedian = quantile(0.25);
  let deviation = 1.4826 * median(counts.filter((v) => v <= quantile(0.5)).map((v) => Math.abs(v - restMedian)));
  let threshold = restMedian + Math.max(p.frameSigmas * deviation, p.minPixels);
  for (let iteration = 0; iteration < 10; iteration++) {
    const rest = counts.filter((v) => v <= threshold);
    const m = median(rest);
    const d = 1.4826 * median(rest.map((v) => Math.abs(v - m)));
    const t = m + Math.max(p.frameSigmas * d, p.minPixels);
    if (t === threshold) break;
    [restMedian, deviation, threshold] = [m, d, t];
  }
  return { restMedian, deviation, threshold };
}

/** Bouts from the profile: noise-adaptive threshold, hysteresis, merging and a minimum duration. */
export function detectBouts(profile: AdaptiveProfile, p: Omit<AdaptiveParams, "pixelSigmas" | "minChange" | "band">): AdaptiveDetection {
  const n = profile.count.length;
  // Repeated frames carry no information: hold the previous frame's count over them.
  const s = Float64Array.from(profile.count);
  for (let i = 1; i < n; i++) if (p.holdDuplicates && profile.duplicate[i]) s[i] = s[i - 1]!;
  const { restMedian, deviation, threshold } = restLevel(Array.from(profile.count).filter((_, i) => i > 0 && !profile.duplicate[i]), p);
  const low = restMedian + p.lowFraction * (threshold - restMedian);

  // Cores above the threshold, grown over frames above the low one; too short ones dropped
  // before merging, so that two noise blips never make a bout together.
  const above = (i: number, level: number): boolean => s[i]! > level;
  const bouts: AdaptiveDetection["bouts"] = [];
  const tooShort: AdaptiveDetection["tooShort"] = [];
  for (let i = 1; i < n; i++) {
    if (!above(i, threshold)) continue;
    let a = i;
    while (a > 1 && above(a - 1, low)) a--;
    let b = i;
    while (b + 1 < n && above(b + 1, low)) b++;
    i = b;
    if (b - a + 1 < p.minDuration) {
      tooShort.push({ onset: a, length: b - a + 1 });
      continue;
    }
    const last = bouts.at(-1);
    if (last && a - last.offset - 1 < p.mergeGap) {
      last.offset = b;
      last.length = b - last.onset + 1;
    } else bouts.push({ onset: a, length: b - a + 1, offset: b });
  }
  for (const b of bouts) {
    const level = p.onsetFraction * median(s.subarray(b.onset, b.offset + 1));
    while (b.onset < b.offset && s[b.onset]! < level) b.onset++;
    b.length = b.offset - b.onset + 1;
  }
  return { bouts, threshold, low, rest: { median: restMedian, deviation }, tooShort };
}
