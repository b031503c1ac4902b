/**
 * Standardisation (z-scores) fitted on training rows only and applied to others, as scikit-learn's
 * StandardScaler: population standard deviation; a constant feature is only centred.
 */
export interface Scaler {
  mean: number[];
  scale: number[];
}

export function fitScaler(x: number[][]): Scaler {
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= x.length;
  for (const row of x) for (let j = 0; j < d; j++) scale[j]! += (row[j]! - mean[j]!) ** 2;
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j]! / x.length);
    scale[j] = sd > 0 ? sd : 1;
  }
  return { mean, scale };
}

export function applyScaler(s: Scaler, x: number[][]): number[][] {
  return x.map((row) => row.map((v, j) => (v - s.mean[j]!) / s.scale[j]!));
}
