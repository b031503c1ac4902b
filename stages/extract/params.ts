/**
 * extract's parameters: the schema (every default is a number of the paper, FACTS.md) and their
 * translation into lib/detect's options, with durations turned into frames at a recording's rate.
 */
import type { ParamsOf } from "../../engine/stage-api.js";
import type { BladderOptions, Orientation } from "../../lib/detect/bladder.js";
import type { AdaptiveParams } from "../../lib/detect/bouts.js";
import type { EventParams, MotionParams } from "../../lib/detect/motion.js";

/** A duration as a number of frames, or in milliseconds (converted at each recording's fps). */
export type Duration = { frames: number } | { ms: number };

function duration(def: number | Duration, description: string, minimum = 0) {
  return {
    type: "object",
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      frames: { type: "integer", minimum, description: "in frames" },
      ms: { type: "number", minimum: 0, description: "in milliseconds, converted to round(ms x fps / 1000) frames at each recording's frame rate" },
    },
    default: typeof def === "number" ? { frames: def } : def,
    description: `${description} Either { frames: N } or { ms: T } (T ms = round(T x fps / 1000) frames).`,
  } as const;
}

const odd = (d: number, description: string) => ({ type: "integer", minimum: 1, default: d, description }) as const;

export const PARAMS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    orientation: {
      type: ["string", "null"], enum: ["head-left", "head-right", null], default: null,
      description: "Where the head is: head-left (the paper) or head-right. null: the recording's meta `orientation` (read, synthesize), else head-left.",
    },
    mirror_head_right: {
      type: "boolean", default: true,
      description: "Mirror the events of head-right recordings left to right, so every event has the head on the left as in the paper (tail fitting and the mask's left corners assume it).",
    },
    crop_size: {
      oneOf: [{ type: "integer", minimum: 8 }, { type: "string", enum: ["auto"] }], default: 256,
      description: "Side of the square crop (pixels; the paper: 256). A frame smaller than that in a direction keeps its whole extent there (the crop is then not square). auto: per recording, the side that holds the resting tail (measured on the first frames: bladder.offset + tail length + auto_crop.margin), resized to auto_crop.output_size so that every recording's events have one size.",
    },
    auto_crop: {
      type: "object", additionalProperties: false, default: {},
      description: "crop_size: auto.",
      properties: {
        output_size: { type: "integer", minimum: 8, default: 128, description: "Side (pixels) the fitted crop is resized to (area averaging when smaller, bilinear when larger)." },
        margin: { type: "number", minimum: 0, default: 0.08, description: "Room past the resting tail tip, as a fraction of the tail's length (a bending tail stays inside)." },
      },
    },
    on_missing_bladder: {
      type: "string", enum: ["fail", "centre"], default: "fail",
      description: "When no dark blob passes the bladder threshold on the first frame: fail the recording (with the reason), or crop the frame's centre.",
    },
    bladder: {
      type: "object", additionalProperties: false, default: {},
      description: "Swim bladder detection on the first frame (the crop's anchor).",
      properties: {
        threshold: { type: "integer", minimum: 0, maximum: 254, default: 3, description: "Grey level (0..255, after normalisation, blur and gamma) at or below which a pixel may be the bladder (the paper: 3)." },
        gamma_divisor: { type: "number", exclusiveMinimum: 0, default: 4.3, description: "gamma = exp(-skewness / gamma_divisor) (the paper: 4.3)." },
        blur: odd(3, "Gaussian blur kernel before the threshold (pixels, odd; the paper: 3)."),
        min_area_fraction: { type: "number", minimum: 0, maximum: 1, default: 1e-4, description: "Dark blobs up to this fraction of the frame's area are noise (the paper: 1e-4 = 0.01 %)." },
        offset: { type: "integer", minimum: 0, default: 10, description: "Columns of the crop on the head's side of the bladder's tail-side end (pixels; the paper: 10, left = x - 10)." },
      },
    },
    motion: {
      type: "object", additionalProperties: false, default: {},
      description: "Which frames move. method paper: on cropped, normalised frames, blur, threshold, and count the pixels that changed side of the threshold since the previous frame; method adaptive: thresholds measured on each recording's own noise (motion.adaptive).",
      properties: {
        method: {
          type: "string", enum: ["paper", "adaptive"], default: "adaptive",
          description: "adaptive (ours, the default): changed pixels in the tail's band beyond the recording's own camera noise, hysteresis, a minimum bout duration (motion.adaptive); finds caudal-only and faint bouts the paper's misses (docs/benchmarks.md). paper: the paper's fixed thresholds (threshold, change_fraction, blur; runs of events.min_run frames), as FACTS.md describes.",
        },
        threshold: { type: "integer", minimum: 0, maximum: 254, default: 200, description: "Binary threshold (grey level 0..255) separating the tail from the background (the paper: 200; a grey background wants lower, e.g. 160 for Stytra)." },
        change_fraction: { type: "number", minimum: 0, exclusiveMaximum: 1, default: 0.0038, description: "A frame moves when more than this fraction of its pixels changed side (the paper: 0.0038 = 0.38 %)." },
        blur: odd(5, "Gaussian blur kernel before the threshold (pixels, odd; the paper: 5)."),
        hold_duplicates: { type: "boolean", default: false, description: "A frame byte-identical to its predecessor keeps the predecessor's state instead of counting as still (cameras that repeat frames, as in the Stytra example; the paper: false). Both methods." },
        adaptive: {
          type: "object", additionalProperties: false, default: {},
          description: "method adaptive (lib/detect/bouts.ts): on the cropped frames as recorded (3x3 box blur, difference with the previous frame), count the pixels of the tail's band whose change exceeds pixel_sigmas x the recording's noise; a frame moves when the count exceeds its rest level by frame_sigmas robust deviations and min_pixels.",
          properties: {
            pixel_sigmas: { type: "number", exclusiveMinimum: 0, default: 4, description: "A pixel changed when its blurred difference exceeds this many noise sigmas (the noise measured on the recording: median |difference| / 0.6745)." },
            min_change: { type: "number", minimum: 0, default: 2, description: "... and at least this many grey levels (3x3 mean): the floor for quantised or compressed videos, whose rest differences are mostly 0 (the Stytra clip)." },
            frame_sigmas: { type: "number", exclusiveMinimum: 0, default: 6, description: "A frame moves when its count of changed pixels exceeds the recording's rest level (the median count of its still frames) by this many robust deviations (1.4826 MAD) ..." },
            min_pixels: { type: "number", minimum: 0, default: 6, description: "... and by at least this many pixels." },
            low_fraction: { type: "number", minimum: 0, maximum: 1, default: 0.4, description: "Hysteresis: a bout extends backwards and forwards (its offset) over frames above this fraction of the frame threshold." },
            onset_fraction: { type: "number", minimum: 0, maximum: 1, default: 0.2, description: "The onset is the bout's first frame with at least this fraction of the bout's median count of changed pixels (a small twitch before the bout is not its onset); 0: the first frame above the low threshold." },
            band: { type: "number", exclusiveMinimum: 0, maximum: 0.5, default: 0.35, description: "Half-height of the tail's band, around the bladder's row, as a fraction of the crop's height (0.5: the whole crop). Keeps the left corners' agarose out." },
            min_duration: duration({ ms: 20 }, "Shortest bout (shorter runs of moving frames are noise; ours: 20 ms, the paper's 6 frames at 300 fps).", 1),
            merge_gap: duration({ ms: 20 }, "Bouts separated by fewer still frames are one bout (ours: 20 ms).", 0),
          },
        },
      },
    },
    events: {
      type: "object", additionalProperties: false, default: {},
      description: "Cutting events from the moving frames.",
      properties: {
        length: duration(150, "Event length (the paper: 150 frames = 500 ms at 300 fps).", 1),
        buffer: duration(15, "Kept before the first moving frame (the paper: 15 frames = 50 ms at 300 fps)."),
        min_run: duration(6, "method paper: consecutive moving frames that start an event (the paper: 6 frames = 20 ms at 300 fps).", 1),
        fallback_min_run: duration(3, "method paper: used when no run reaches min_run in the whole recording (the paper: 3 frames). { frames: 0 }: no retry."),
        fallback_window: {
          type: "boolean", default: false,
          description: "When no bout is detected in a recording: false (ours), no event and a warning; true (the paper), one event from frame 0, flagged `fallback: true` in its meta. A window without a bout teaches a classifier \"bout or no bout\" instead of the bout's class.",
        },
      },
    },
    gzip: { type: "integer", minimum: 0, maximum: 9, default: 4, description: "gzip level of the event files (0 = none, 9 = smallest)." },
  },
} as const;

/** A duration's schema (above): exactly one of frames or ms, which json-schema-to-ts cannot read from min/maxProperties. */
type DurationSchema = { readonly type: "object"; readonly maxProperties: 1; readonly properties: { readonly frames: unknown; readonly ms: unknown } };

export type ExtractParams = ParamsOf<typeof PARAMS_SCHEMA, { deserialize: [{ pattern: DurationSchema; output: Duration }] }>;

/** Frames for a duration at `fps`, and how it was given (for the report). */
export function toFrames(d: Duration, fps: number): { frames: number; given: string } {
  if ("frames" in d) return { frames: d.frames, given: `${d.frames} frames` };
  return { frames: Math.round((d.ms * fps) / 1000), given: `${d.ms} ms at ${fps} fps` };
}

export interface Resolved {
  orientation: Orientation;
  bladder: BladderOptions;
  method: "paper" | "adaptive";
  motion: MotionParams;
  adaptive: AdaptiveParams;
  events: EventParams;
  /** Each duration: frames used and how it was given. */
  durations: Record<Exclude<keyof ExtractParams["events"], "fallback_window"> | "min_duration" | "merge_gap", { frames: number; given: string }>;
}

/** lib/detect's options for one recording, or an error saying which duration came out too short. */
export function resolve(p: ExtractParams, fps: number, metaOrientation: unknown): Resolved {
  const orientation: Orientation = p.orientation ?? (metaOrientation === "head-right" ? "head-right" : "head-left");
  const durations = {
    length: toFrames(p.events.length, fps),
    buffer: toFrames(p.events.buffer, fps),
    min_run: toFrames(p.events.min_run, fps),
    fallback_min_run: toFrames(p.events.fallback_min_run, fps),
    min_duration: toFrames(p.motion.adaptive.min_duration, fps),
    merge_gap: toFrames(p.motion.adaptive.merge_gap, fps),
  };
  const a = p.motion.adaptive;
  for (const key of ["length", "min_run"] as const) {
    if (durations[key].frames < 1) throw new Error(`events.${key} is ${durations[key].given} = ${durations[key].frames} frames: it must be at least 1 frame; give a longer duration`);
  }
  for (const [name, size] of [["bladder.blur", p.bladder.blur], ["motion.blur", p.motion.blur]] as const) {
    if (size % 2 !== 1) throw new Error(`${name} must be odd (a Gaussian kernel has a centre pixel), got ${size}`);
  }
  return {
    orientation,
    bladder: {
      threshold: p.bladder.threshold,
      gammaDivisor: p.bladder.gamma_divisor,
      blurSize: p.bladder.blur,
      minAreaFraction: p.bladder.min_area_fraction,
      leftOffset: p.bladder.offset,
      cropSize: p.crop_size === "auto" ? p.auto_crop.output_size : p.crop_size,
      orientation,
    },
    method: p.motion.method,
    motion: { threshold: p.motion.threshold, changeFraction: p.motion.change_fraction, blurSize: p.motion.blur, holdDuplicates: p.motion.hold_duplicates },
    adaptive: {
      pixelSigmas: a.pixel_sigmas, minChange: a.min_change, frameSigmas: a.frame_sigmas, minPixels: a.min_pixels,
      lowFraction: a.low_fraction, onsetFraction: a.onset_fraction, band: a.band,
      minDuration: Math.max(1, durations.min_duration.frames), mergeGap: durations.merge_gap.frames, holdDuplicates: p.motion.hold_duplicates,
    },
    events: {
      length: durations.length.frames, buffer: durations.buffer.frames, minRun: durations.min_run.frames, fallbackMinRun: durations.fallback_min_run.frames,
      fallbackWindow: p.events.fallback_window,
    },
    durations,
  };
}
