/**
 * The synthesize stage's parameters: JSON Schema (with defaults, units and descriptions), the
 * per-recording parameters that `split` hands to each task, and the derivation of each
 * recording's seed and class from the dataset's seed and the recording's index.
 */
import type { ParamsOf } from "../../engine/stage-api.js";
import { hash32 } from "../random.js";

export type Orientation = "head-left" | "head-right";
export type ClassName = "spontaneous" | "prey";
export type VideoFormat = "hdf5" | "avi";

export interface ArtifactRegionMm {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What json-schema-to-ts reads of a numeric param's schema: its type, and that it has a default. */
type NumberSchema<T extends "number" | "integer"> = { readonly type: T; readonly description: string; readonly default: number; readonly minimum?: number; readonly maximum?: number };

const num = (description: string, def: number, min?: number, max?: number, extra: Partial<NumberSchema<"number">> = {}): NumberSchema<"number"> => ({
  type: "number", description, default: def, ...(min !== undefined ? { minimum: min } : {}), ...(max !== undefined ? { maximum: max } : {}), ...extra,
});
const int = (description: string, def: number, min?: number, max?: number): NumberSchema<"integer"> => ({ ...num(description, def, min, max), type: "integer" });

export const ARTIFACT_REGION_DEFAULT: ArtifactRegionMm = { x: -0.13, y: -1.68, width: 1.12, height: 1.12 };

export const PARAMS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    seed: int("Seed of the dataset (integer). Each recording's own seed is derived from it and the recording's index, so adding recordings leaves the others unchanged.", 1, 0),
    recordings: int("Number of recordings (videos) to render; each holds bouts of one class.", 24, 1, 100_000),
    prey_fraction: num("Fraction of recordings of class prey (label 1); the rest are spontaneous (label 0). The paper had 43.9 % prey events.", 0.44, 0, 1),
    format: { type: "string", enum: ["hdf5", "avi"], default: "hdf5", description: "Video file format: hdf5 (dataset `video`, frames x rows x columns uint8, root attribute `framerate`, gzip, one frame per chunk) or avi (uncompressed 8-bit grey, lossless)." },
    gzip: int("gzip level of the HDF5 video (0 = none, 1 fastest .. 9 smallest); ignored for avi.", 1, 0, 9),
    fps: num("Frame rate (frames/s); the paper's camera ran at 300 frames/s.", 300, 30, 5000),
    width: int("Frame width (pixels, columns).", 200, 32),
    height: int("Frame height (pixels, rows).", 160, 32),
    px_per_mm: num("Image scale (pixels/mm). 38 fits a 4-mm larva's tail into a 128-pixel crop; about 76 for the paper's 256-pixel crops.", 38, 5),
    fish_length_mm: num("Mean body length of the larvae (mm, snout to tail tip); 5-7 dpf larvae are about 4 mm.", 4, 1, 10),
    size_jitter: num("Per-recording random change of body length (fraction, uniform in +/- this).", 0.05, 0, 0.5),
    position_jitter_px: num("Per-recording random shift of the fish (pixels, uniform in +/- this, both axes).", 4, 0),
    angle_jitter_deg: num("Per-recording random rotation of the body axis (degrees, uniform in +/- this).", 3, 0, 45),
    orientation: { type: "string", enum: ["head-left", "head-right"], default: "head-left", description: "head-left: head on the left, tail extending to the right (the paper's videos); head-right: the mirror image (as in the Stytra example). The artifact region is mirrored too." },
    crop_px: int("Size (pixels) of the square crop that the extraction stage takes right of the bladder (paper 256). Only used to place the fish: the bladder's tail-side end is put where such a crop fits in the frame.", 128, 8),
    crop_offset_px: int("Columns of that crop on the head's side of the bladder point (paper 10 for 256): left = x - offset.", 5, 0),
    bouts_min: int("Fewest bouts per recording.", 4, 1),
    bouts_max: int("Most bouts per recording.", 6, 1),
    lead_in_ms: num("Rest before the first bout (ms); the actual lead-in is uniform in [1, 2] x this.", 150, 0),
    rest_ms_min: num("Shortest rest between the end of a bout and the next onset (ms).", 250, 0),
    rest_ms_max: num("Longest rest between the end of a bout and the next onset (ms).", 600, 0),
    min_onset_spacing_ms: num("Least time between two bout onsets (ms): keep it above the extraction's event length (150 frames = 500 ms at 300 fps) so that events do not overlap; the recording also ends at least this long after the last onset.", 560, 0),
    ambiguity: num("Fraction of bouts whose tail kinematics are drawn from the other class's repertoire while the trunk keeps its own class's involvement (steady in prey, swaying in spontaneous bouts). 0: the tail features separate the classes almost perfectly; 0.1: about 90 % with the five tail features of Semmelhack et al. (2014).", 0.1, 0, 1),
    kinematics: {
      type: "string", enum: ["by_class", "shared"], default: "by_class",
      description: "by_class: each class has its own repertoire of bouts (the real task). shared: every bout draws a class's repertoire by a coin flip whatever its recording's class, so only the artifact tells the classes apart: the control of the Clever Hans experiment (a network above chance on it has learnt the artifact).",
    },
    brightness_min: num("Lowest mean background grey level of a recording (0..255).", 222, 0, 255),
    brightness_max: num("Highest mean background grey level of a recording (0..255).", 236, 0, 255),
    contrast_jitter: num("Per-recording random change of the fish's darkness (fraction, uniform in +/- this); the bladder stays darkest.", 0.1, 0, 0.5),
    noise_min: num("Lowest camera noise of a recording (grey levels, standard deviation per pixel and frame).", 1, 0),
    noise_max: num("Highest camera noise of a recording (grey levels).", 2, 0),
    drift: num("Amplitude of the slow illumination drift (fraction of the brightness; periods of 3-10 s).", 0.015, 0, 0.2),
    agarose_contrast: num("Relative contrast of the agarose texture around the head (fraction of the brightness).", 0.06, 0, 0.3),
    artifact_strength_px: num("Largest displacement of the agarose in the artifact region during bouts of the artifact's class (pixels; sub-pixel to about 1 px in the paper's data). 0 turns the artifact off.", 0.75, 0),
    artifact_class: { type: "string", enum: ["spontaneous", "prey"], default: "spontaneous", description: "Class whose bouts move the agarose (the paper: spontaneous)." },
    artifact_region_mm: {
      type: "object",
      additionalProperties: false,
      description: "The region whose agarose moves, in mm relative to the bladder's tail-side end (x towards the tail, y downwards; mirrored with head-right). The default is the top-left third of the paper's crop (85 of 256 pixels) at any scale.",
      default: ARTIFACT_REGION_DEFAULT,
      properties: {
        x: num("Left edge (mm from the bladder's tail-side end, positive towards the tail).", ARTIFACT_REGION_DEFAULT.x),
        y: num("Top edge (mm from the bladder's end, positive downwards).", ARTIFACT_REGION_DEFAULT.y),
        width: num("Width (mm).", ARTIFACT_REGION_DEFAULT.width, 0),
        height: num("Height (mm).", ARTIFACT_REGION_DEFAULT.height, 0),
      },
    },
    caudal_prey: {
      type: "boolean", default: false,
      description: "Prey bouts bend only the thin caudal part of the tail, the trunk still (waves and bends concentrated in the last fifth of the body): the rig of issue 12, where the paper's motion threshold missed most prey bouts. false: the default repertoire.",
    },
    tail_contrast: num("Darkness of the free tail (behind the agarose) relative to the default (fraction): below 1 the tail is fainter against the camera noise, as on rigs with weaker contrast; the head, eyes and bladder keep theirs.", 1, 0.05, 1),
  },
} as const;

/** The stage's parameters, from the schema. */
export type SynthesizeParams = ParamsOf<typeof PARAMS_SCHEMA>;

/** Everything one recording depends on (the params of one split item): the stage's, less the dataset's size, with its index and class. */
export type RecordingParams = Omit<SynthesizeParams, "recordings" | "prey_fraction"> & { index: number; class: ClassName; label: 0 | 1 };

/** The defaults, from the schema. */
export function defaultParams(): SynthesizeParams {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(PARAMS_SCHEMA.properties)) out[key] = structuredClone((spec as { default: unknown }).default);
  return out as SynthesizeParams;
}

/** Fills in defaults (for callers outside the engine, which applies the schema itself). */
export function withDefaults(params: Partial<SynthesizeParams> = {}): SynthesizeParams {
  const p = { ...defaultParams(), ...stripUndefined(params) } as SynthesizeParams;
  p.artifact_region_mm = { ...ARTIFACT_REGION_DEFAULT, ...(params.artifact_region_mm ?? {}) };
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Seed of recording `index`: a hash of the dataset's seed and the index. */
export function recordingSeed(seed: number, index: number): number {
  return hash32(seed, index, "synthesize/recording");
}

/**
 * Class of recording `index`: a Beatty sequence, label_i = floor((i + 1) p + phi) - floor(i p + phi),
 * with a phase phi from the seed. It depends only on the seed, the fraction and the index (so
 * adding recordings never changes earlier ones), and every prefix of n recordings holds
 * round(n p) prey recordings give or take one.
 */
export function recordingLabel(seed: number, index: number, preyFraction: number): 0 | 1 {
  const phi = hash32(seed, "synthesize/class-phase") / 4294967296;
  const p = Math.min(1, Math.max(0, preyFraction));
  return (Math.floor((index + 1) * p + phi) - Math.floor(index * p + phi)) as 0 | 1;
}

export function recordingId(index: number): string {
  return `rec${String(index).padStart(3, "0")}`;
}

/** Checks what the schema cannot (ranges that depend on each other); throws a RangeError that says what to change. */
export function checkParams(p: Omit<SynthesizeParams, "recordings" | "prey_fraction"> | RecordingParams): void {
  const pairs: [string, number, string, number][] = [
    ["bouts_min", p.bouts_min, "bouts_max", p.bouts_max],
    ["rest_ms_min", p.rest_ms_min, "rest_ms_max", p.rest_ms_max],
    ["noise_min", p.noise_min, "noise_max", p.noise_max],
    ["brightness_min", p.brightness_min, "brightness_max", p.brightness_max],
  ];
  for (const [a, va, b, vb] of pairs) if (va > vb) throw new RangeError(`synthesize: ${a} (${va}) is larger than ${b} (${vb}): make ${a} <= ${b}`);
  if (p.brightness_max * (1 + p.drift) + 4 * p.noise_max > 255) {
    throw new RangeError(`synthesize: brightness_max ${p.brightness_max} with drift ${p.drift} and noise ${p.noise_max} saturates at 255: lower brightness_max`);
  }
}

/** The per-recording params of recording `index`. */
export function recordingParams(params: SynthesizeParams, index: number): RecordingParams {
  const { recordings: _recordings, prey_fraction, seed, ...rest } = params;
  const label = recordingLabel(seed, index, prey_fraction);
  return {
    ...rest,
    artifact_region_mm: { ...params.artifact_region_mm },
    index,
    seed: recordingSeed(seed, index),
    class: label === 1 ? "prey" : "spontaneous",
    label,
  };
}
