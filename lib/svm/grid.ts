/**
 * Grid search with k-fold cross-validation: every grid point is trained on k-1 folds and scored on
 * the remaining one, the features standardised with the training folds' mean and sd only (so no
 * statistic of a validation fold leaks into its model). Grid order: RBF with C outermost and gamma
 * inner, then linear by C, as scikit-learn's ParameterGrid orders {C, gamma, kernel}; the best is
 * the first grid point with the highest mean accuracy.
 */
import { applyScaler, fitScaler } from "./scale.js";
import type { SvmModel, SvmParams } from "./libsvm.js";
import { binaryMetrics } from "../model/metrics.js";
import { mean, sd } from "./metrics.js";

export type Trainer = (samples: number[][], labels: number[], p: SvmParams) => SvmModel;

export interface GridPoint extends SvmParams {
  cvMean: number;
  cvSd: number;
  folds: number[];
}

export function gridPoints(kernels: ("rbf" | "linear")[], cs: number[], gammas: number[]): SvmParams[] {
  const out: SvmParams[] = [];
  if (kernels.includes("rbf")) for (const C of cs) for (const gamma of gammas) out.push({ kernel: "rbf", C, gamma });
  if (kernels.includes("linear")) for (const C of cs) out.push({ kernel: "linear", C });
  return out;
}

/** Trains on (x, y) with standardisation fitted on x (when asked) and predicts `xTest`. */
export function fitPredict(train: Trainer, x: number[][], y: number[], xTest: number[][], p: SvmParams, standardise: boolean): number[] {
  const scaler = standardise ? fitScaler(x) : null;
  const model = train(scaler ? applyScaler(scaler, x) : x, y, p);
  try {
    return model.predict(scaler ? applyScaler(scaler, xTest) : xTest);
  } finally {
    model.free();
  }
}

export function crossValidate(train: Trainer, x: number[][], y: number[], folds: number[], k: number, p: SvmParams, standardise: boolean): number[] {
  const scores: number[] = [];
  for (let f = 0; f < k; f++) {
    const tr = folds.flatMap((g, i) => (g === f ? [] : [i]));
    const va = folds.flatMap((g, i) => (g === f ? [i] : []));
    const predicted = fitPredict(train, tr.map((i) => x[i]!), tr.map((i) => y[i]!), va.map((i) => x[i]!), p, standardise);
    scores.push(binaryMetrics(va.map((i) => y[i]!), predicted).accuracy);
  }
  return scores;
}

export function gridSearch(train: Trainer, x: number[][], y: number[], folds: number[], k: number, grid: SvmParams[], standardise: boolean, onPoint?: (done: number) => void): { points: GridPoint[]; best: GridPoint } {
  const points = grid.map((p, i) => {
    const scores = crossValidate(train, x, y, folds, k, p, standardise);
    onPoint?.(i + 1);
    return { ...p, cvMean: mean(scores), cvSd: sd(scores), folds: scores };
  });
  const best = points.reduce((a, b) => (b.cvMean > a.cvMean ? b : a));
  return { points, best };
}
