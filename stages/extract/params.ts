/**
 * extract's parameters: the schema (every default is a number of the paper, FACTS.md) and their
 * translation into lib/detect's options, with durations turned into frames at a recording's rate.
 */
import type { JsonSchema } from "../../engine/stage-api.js";
import type { BladderOptions, Orientation } from "../../lib/detect/bladder.js";
import type { EventParams, MotionParams } from "../../lib/detect/motion.js";

/** A duration as a number of frames, or in milliseconds (converted at each recording's fps). */
export type Duration = { frames: number } | { ms: number };

export interface ExtractParams {
  orientation: Orientation | null;
  mirror_head_right: boolean;
  crop_size: number;
  on_missing_bladder: "fail" | "centre";
  bladder: { threshold: number; gamma_divisor: number; blur: number; min_area_fraction: number; offset: number };
  motion: { threshold: number; change_fraction: number; blur: number; hold_duplicates: boolean };
  events: { length: Duration; buffer: Duration; min_run: Duration; fallback_min_run: Duration; fallback_window: boolean };
  gzip: number;
}

function duration(frames: number, description: string, minimum = 0): JsonSchema {
  return {
    type: "object",
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      frames: { type: "integer", minimum, description: "in frames" },
      ms: { type: "number", minimum: 0, description: "in milliseconds, converted to round(ms x fps / 1000) frames at each recording's frame rate" },
    },
    default: { frames },
    description: `${description} Either { frames: N } or { ms: T } (T ms = round(T x fps / 1000) frames).`,
  };
}

const odd = (d: number, description: string): JsonSchema => ({ type: "integer", minimum: 1, default: d, description });

export const PARAMS_SCHEMA: JsonSchema = {
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
      type: "integer", minimum: 8, default: 256,
      description: "Side of the square crop (pixels; the paper: 256). A frame smaller than that in a direction keeps its whole extent there (the crop is then not square).",
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
      description: "Which frames move: on cropped, normalised frames, blur, threshold, and count the pixels that changed side of the threshold since the previous frame.",
      properties: {
        threshold: { type: "integer", minimum: 0, maximum: 254, default: 200, description: "Binary threshold (grey level 0..255) separating the tail from the background (the paper: 200; a grey background wants lower, e.g. 160 for Stytra)." },
        change_fraction: { type: "number", minimum: 0, exclusiveMaximum: 1, default: 0.0038, description: "A frame moves when more than this fraction of its pixels changed side (the paper: 0.0038 = 0.38 %)." },
        blur: odd(5, "Gaussian blur kernel before the threshold (pixels, odd; the paper: 5)."),
        hold_duplicates: { type: "boolean", default: false, description: "A frame byte-identical to its predecessor keeps the predecessor's state instead of counting as still (cameras that repeat frames, as in the Stytra example; the paper: false)." },
      },
    },
    events: {
      type: "object", additionalProperties: false, default: {},
      description: "Cutting events from the moving frames.",
      properties: {
        length: duration(150, "Event length (the paper: 150 frames = 500 ms at 300 fps).", 1),
        buffer: duration(15, "Kept before the first moving frame (the paper: 15 frames = 50 ms at 300 fps)."),
        min_run: duration(6, "Consecutive moving frames that start an event (the paper: 6 frames = 20 ms at 300 fps).", 1),
        fallback_min_run: duration(3, "Used when no run reaches min_run in the whole recording (the paper: 3 frames). { frames: 0 }: no retry."),
        fallback_window: {
          type: "boolean", default: false,
          description: "When no bout is detected in a recording: false (ours), no event and a warning; true (the paper), one event from frame 0, flagged `fallback: true` in its meta. A window without a bout teaches a classifier \"bout or no bout\" instead of the bout's class.",
        },
      },
    },
    gzip: { type: "integer", minimum: 0, maximum: 9, default: 4, description: "gzip level of the event files (0 = none, 9 = smallest)." },
  },
};

/** Frames for a duration at `fps`, and how it was given (for the report). */
export function toFrames(d: Duration, fps: number): { frames: number; given: string } {
  if ("frames" in d) return { frames: d.frames, given: `${d.frames} frames` };
  return { frames: Math.round((d.ms * fps) / 1000), given: `${d.ms} ms at ${fps} fps` };
}

export interface Resolved {
  orientation: Orientation;
  bladder: BladderOptions;
  motion: MotionParams;
  events: EventParams;
  /** Each duration: frames used and how it was given. */
  durations: Record<Exclude<keyof ExtractParams["events"], "fallback_window">, { frames: number; given: string }>;
}

/** lib/detect's options for one recording, or an error saying which duration came out too short. */
export function resolve(p: ExtractParams, fps: number, metaOrientation: unknown): Resolved {
  const orientation: Orientation = p.orientation ?? (metaOrientation === "head-right" ? "head-right" : "head-left");
  const durations = {
    length: toFrames(p.events.length, fps),
    buffer: toFrames(p.events.buffer, fps),
    min_run: toFrames(p.events.min_run, fps),
    fallback_min_run: toFrames(p.events.fallback_min_run, fps),
  };
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
      cropSize: p.crop_size,
      orientation,
    },
    motion: { threshold: p.motion.threshold, changeFraction: p.motion.change_fraction, blurSize: p.motion.blur, holdDuplicates: p.motion.hold_duplicates },
    events: {
      length: durations.length.frames, buffer: durations.buffer.frames, minRun: durations.min_run.frames, fallbackMinRun: durations.fallback_min_run.frames,
      fallbackWindow: p.events.fallback_window,
    },
    durations,
  };
}
