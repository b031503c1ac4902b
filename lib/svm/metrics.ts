/** Classification figures for labels 0 (spontaneous) and 1 (prey). */

export interface ClassFigures {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface TestFigures {
  n: number;
  correct: number;
  accuracy: number;
  /** Rows: true label 0, 1; columns: predicted 0, 1. */
  confusion: [[number, number], [number, number]];
  per_class: { "0": ClassFigures; "1": ClassFigures };
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Population standard deviation (ddof 0), as scikit-learn's std_test_score. */
export function sd(values: number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
}

export function accuracy(truth: number[], predicted: number[]): number {
  let correct = 0;
  truth.forEach((t, i) => {
    if (t === predicted[i]) correct++;
  });
  return truth.length ? correct / truth.length : NaN;
}

export function testFigures(truth: number[], predicted: number[]): TestFigures {
  const m: [[number, number], [number, number]] = [[0, 0], [0, 0]];
  truth.forEach((t, i) => m[t as 0 | 1][predicted[i] as 0 | 1]++);
  const figures = (c: 0 | 1): ClassFigures => {
    const tp = m[c][c];
    const fp = m[1 - c as 0 | 1][c];
    const fn = m[c][1 - c as 0 | 1];
    const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
    const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
    return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0, support: tp + fn };
  };
  const correct = m[0][0] + m[1][1];
  return { n: truth.length, correct, accuracy: truth.length ? correct / truth.length : NaN, confusion: m, per_class: { "0": figures(0), "1": figures(1) } };
}
