/**
 * The SVM's figures: its test set per class (from the one binary metrics definition,
 * lib/model/metrics.ts, with its convention for undefined ratios) and the mean and sd of fold
 * accuracies.
 */
import { binaryMetrics } from "../model/metrics.js";

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

export function testFigures(truth: number[], predicted: number[]): TestFigures {
  const of = (c: 0 | 1): ClassFigures => {
    const m = binaryMetrics(truth, predicted, c);
    return { precision: m.precision, recall: m.recall, f1: m.f1, support: m.confusion[c][0] + m.confusion[c][1] };
  };
  const { confusion, accuracy } = binaryMetrics(truth, predicted);
  return { n: truth.length, correct: confusion[0][0] + confusion[1][1], accuracy, confusion, per_class: { "0": of(0), "1": of(1) } };
}
