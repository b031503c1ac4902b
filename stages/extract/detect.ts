/**
 * extract's bout detection, by `motion.method`: the paper's fixed thresholds on normalised frames
 * (lib/detect/motion.ts) or the adaptive detector on the frames as recorded (lib/detect/bouts.ts).
 * Either way: the events, what decided them (a per-frame statistic and its threshold, for the
 * preview and the run's contact image), and, when no bout was found, why.
 */
import type { JsonObject } from "../../engine/stage-api.js";
import { adaptiveProfile, detectBouts } from "../../lib/detect/bouts.js";
import { classifyMotion, cutEvents, motionProfile, motionRuns, placeEvents, type DroppedEvent, type SwimEvent } from "../../lib/detect/motion.js";
import type { Video } from "../../lib/video/types.js";
import type { Resolved } from "./params.js";

export interface Detection {
  events: SwimEvent[];
  dropped: DroppedEvent[];
  noBout: boolean;
  /** Why nothing was found, in the detector's terms ("no run of 6 (or 3) moving frames"). */
  noBoutReason: string;
  /** The statistic per frame, its threshold, and the frames counted as moving. */
  trace: { statistic: string; threshold: number; values: Float64Array };
  moving: Uint8Array;
  /** The report's `motion` section: parameters and what they gave. */
  report: JsonObject;
}

const round = (v: number, d = 4): number => Math.round(v * 10 ** d) / 10 ** d;

/** `normalised`: the crop with each frame min-max normalised (the paper's input); `raw`: as recorded. */
export async function detect(
  raw: Video, normalised: Video, tailRow: number, p: Resolved, progress: (done: number, total: number) => void,
): Promise<Detection> {
  if (p.method === "paper") {
    // Mirroring changes no count: blur and threshold are symmetric, so motion is the same either way.
    const profile = await motionProfile(normalised, p.motion, progress);
    const moving = classifyMotion(profile, p.motion);
    const cut = cutEvents(moving, normalised.count, p.events);
    const runs = motionRuns(moving);
    const retry = p.events.fallbackMinRun > 0 ? ` (or ${p.events.fallbackMinRun})` : "";
    return {
      events: cut.events, dropped: cut.dropped, noBout: cut.noBout, noBoutReason: `no run of ${p.events.minRun}${retry} moving frames`,
      trace: { statistic: "changed fraction", threshold: p.motion.changeFraction, values: profile.changed },
      moving,
      report: {
        method: "paper", threshold: p.motion.threshold, change_fraction: p.motion.changeFraction, blur: p.motion.blurSize, hold_duplicates: p.motion.holdDuplicates,
        moving_frames: moving.reduce((a, b) => a + b, 0),
        duplicate_frames: profile.duplicate.reduce((a, b) => a + b, 0),
        runs: runs.length,
        longest_run: runs.reduce((m, r) => Math.max(m, r.length), 0),
        min_run_used: cut.minRunUsed,
      },
    };
  }
  const a = p.adaptive;
  const profile = adaptiveProfile(raw, a, tailRow);
  progress(1, 1);
  const found = detectBouts(profile, a);
  const placed = placeEvents(found.bouts, raw.count, p.events);
  const moving = new Uint8Array(raw.count);
  for (const b of found.bouts) moving.fill(1, b.onset, b.offset + 1);
  return {
    ...placed, noBout: found.bouts.length === 0,
    noBoutReason: `no ${a.minDuration} frames with more than ${round(found.threshold, 1)} changed pixels in the tail band`,
    trace: { statistic: "changed pixels in the tail band", threshold: found.threshold, values: profile.count },
    moving,
    report: {
      method: "adaptive", pixel_sigmas: a.pixelSigmas, min_change: a.minChange, frame_sigmas: a.frameSigmas, min_pixels: a.minPixels,
      low_fraction: a.lowFraction, onset_fraction: a.onsetFraction,
      band_rows: profile.band, hold_duplicates: a.holdDuplicates, min_duration_frames: a.minDuration, merge_gap_frames: a.mergeGap,
      noise_sigma: round(profile.sigma), pixel_threshold: round(profile.pixelThreshold),
      rest_median: found.rest.median, rest_deviation: round(found.rest.deviation), threshold: round(found.threshold, 2), low: round(found.low, 2),
      moving_frames: moving.reduce((s, v) => s + v, 0),
      duplicate_frames: profile.duplicate.reduce((s, v) => s + v, 0),
      bouts: found.bouts.map((b) => ({ onset: b.onset, offset: b.offset })),
      too_short: found.tooShort.length,
    },
  };
}
