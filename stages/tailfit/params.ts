/** The tailfit stage's parameters: JSON Schema with defaults and units, and their mapping onto the fitter's options. */
import type { ParamsOf } from "../../engine/stage-api.js";
import type { TailFitOptions } from "../../lib/tail/fit.js";

/** The paper's crop is 256 px wide with points 5 px apart: the default step scales with the crop. */
export const PAPER_CROP_PX = 256;
export const PAPER_STEP_PX = 5;

export const TAILFIT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    start_x_px: {
      type: "number", minimum: 0, default: 8,
      description: "Column of the tail's start point in the crop (px, pixel centres at integers): just right of the swim bladder (the paper: 8 in a 256-px crop).",
    },
    start_y_fraction: {
      type: "number", minimum: 0, maximum: 1, default: 0.5,
      description: "Row of the start point as a fraction of the crop's height (0.5: crop/2, the bladder's row, as in the paper's y = 128 of 256). The row is re-centred on the tail in every frame.",
    },
    direction_deg: {
      type: "number", minimum: -180, maximum: 180, default: 0,
      description: "Direction of the resting tail and body axis (deg; 0 = +x, to the right, 90 = down in the image). Tail angles are measured from it.",
    },
    step_px: {
      type: ["number", "null"], exclusiveMinimum: 0, default: null,
      description: "Distance between consecutive tail points (px). null: 5 px at the paper's scale, i.e. 5 x crop width / 256 (2.5 px in a 128-px crop).",
    },
    profile_half_width_steps: {
      type: "number", exclusiveMinimum: 0, default: 4,
      description: "Half the length of the line read across the tail at each step (in steps): it must reach past the tail's edges near its base (the tail is about 4 steps wide there).",
    },
    blur_sigma_steps: {
      type: "number", minimum: 0, default: 0.2,
      description: "Sigma of the Gaussian blur applied to each frame before sampling (in steps; 0 = none).",
    },
    max_turn_deg: {
      type: "number", exclusiveMinimum: 0, maximum: 90, default: 40,
      description: "Largest change of direction between consecutive segments (deg): the half-width of the arc searched ahead of the previous direction.",
    },
    tip_contrast: {
      type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2,
      description: "The tail ends where its darkness (background minus intensity at its centre) falls below this fraction of its darkness at the base.",
    },
    min_contrast_sigmas: {
      type: "number", minimum: 0, default: 3,
      description: "...or below this many noise sigmas of the frame (1.4826 x its median absolute deviation from the median, at least 1 grey level), whichever is larger.",
    },
    start_contrast_sigmas: {
      type: "number", minimum: 0, default: 6,
      description: "Darkness (in noise sigmas) the tail needs at the start point; less: the frame has no tail there and the event fails.",
    },
    min_points: {
      type: "integer", minimum: 3, default: 10,
      description: "Fewest points the first frame's tail must have; fewer fail the event (too few points).",
    },
    max_points: { type: "integer", minimum: 3, default: 200, description: "Most points per frame (a guard against tracing into the background)." },
    max_lost_fraction: {
      type: "number", minimum: 0, maximum: 1, default: 0.2,
      description: "Fraction of a later frame's points that may lack contrast (they continue straight on); more fail the event (tail lost).",
    },
    preview: {
      type: "boolean", default: false,
      description: "Also write preview.png: six frames of the event with the fitted points (red, base green), enlarged 2x.",
    },
  },
} as const;

export type TailfitParams = ParamsOf<typeof TAILFIT_SCHEMA>;

/** Fitter options for a crop of rows x cols. */
export function fitOptions(p: TailfitParams, rows: number, cols: number): TailFitOptions {
  const step = p.step_px ?? (PAPER_STEP_PX * cols) / PAPER_CROP_PX;
  return {
    startX: p.start_x_px,
    startY: p.start_y_fraction * rows,
    directionDeg: p.direction_deg,
    step,
    halfWidth: p.profile_half_width_steps * step,
    blurSigma: p.blur_sigma_steps * step,
    maxTurnDeg: p.max_turn_deg,
    tipContrast: p.tip_contrast,
    minContrastSigmas: p.min_contrast_sigmas,
    startContrastSigmas: p.start_contrast_sigmas,
    minPoints: p.min_points,
    maxPoints: p.max_points,
    maxLostFraction: p.max_lost_fraction,
  };
}

/** The defaults, from the schema (for tests and benchmarks that call the fitter directly). */
export function defaultTailfitParams(): TailfitParams {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(TAILFIT_SCHEMA.properties)) out[key] = (spec as { default: unknown }).default;
  return out as TailfitParams;
}
