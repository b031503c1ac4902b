/**
 * The five features of Semmelhack et al. (2014) over one event, in the paper's order of importance
 * (Breier & Onken 2020, appendix; FACTS.md "The SVM baseline"). Where the authors' code differs from
 * the paper's text we follow the text: the mean of the absolute tip angle (their code: signed), and
 * the tip position as the mean of the last eight points along the body axis as a fraction of the
 * tail length (their code: mean x in pixels of the points from 30 % of the tail to its end).
 */
import { frameAngles } from "./angles.js";
import { countPeaks } from "./peaks.js";

export const FEATURE_NAMES = ["max_curvature_deg", "angle_peaks", "mean_tip_angle_deg", "max_tail_angle_deg", "mean_tip_position"] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export type TailFeatures = Record<FeatureName, number>;

export interface FrameSeries {
  angle: number[];
  sumangle: number[];
  tipangle: number[];
  tipPosition: number[];
}

/**
 * Features of an event: `xy` is frames x n x (x, y); `axisDeg` the body axis; `peakDelta` the
 * peak detection threshold on the tail angle (deg; 4 in the paper).
 */
export function eventFeatures(xy: ArrayLike<number>, frames: number, n: number, axisDeg: number, peakDelta = 4): { features: TailFeatures; series: FrameSeries } {
  if (frames < 1) throw new RangeError("tail features need at least one frame");
  if (xy.length !== frames * n * 2) throw new RangeError(`tail points hold ${xy.length} numbers, not ${frames} frames x ${n} points x 2`);
  const series: FrameSeries = { angle: [], sumangle: [], tipangle: [], tipPosition: [] };
  let maxCurvature = 0;
  let maxAngle = 0;
  let tipSum = 0;
  let positionSum = 0;
  for (let f = 0; f < frames; f++) {
    const a = frameAngles(xy, f * n * 2, n, axisDeg);
    series.angle.push(a.angle);
    series.sumangle.push(a.sumangle);
    series.tipangle.push(a.tipangle);
    series.tipPosition.push(a.tipPosition);
    maxCurvature = Math.max(maxCurvature, Math.abs(a.sumangle));
    maxAngle = Math.max(maxAngle, Math.abs(a.angle));
    tipSum += Math.abs(a.tipangle);
    positionSum += a.tipPosition;
  }
  return {
    features: {
      max_curvature_deg: maxCurvature,
      angle_peaks: countPeaks(series.angle, peakDelta),
      mean_tip_angle_deg: tipSum / frames,
      max_tail_angle_deg: maxAngle,
      mean_tip_position: positionSum / frames,
    },
    series,
  };
}

/** The features as a vector in FEATURE_NAMES order. */
export function featureVector(f: TailFeatures): number[] {
  return FEATURE_NAMES.map((name) => f[name]);
}
