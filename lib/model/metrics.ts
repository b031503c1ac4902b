/** Binary classification metrics, class 1 (prey) as the positive class. */

export interface BinaryMetrics {
  n: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Rows: true class 0, 1; columns: predicted class 0, 1. [[TN, FP], [FN, TP]]. */
  confusion: [[number, number], [number, number]];
}

/** NaN where a ratio has no denominator (no positive predictions, no positive samples, no samples). */
export function binaryMetrics(labels: number[], predicted: number[]): BinaryMetrics {
  if (labels.length !== predicted.length) throw new Error(`${labels.length} labels but ${predicted.length} predictions`);
  const confusion: [[number, number], [number, number]] = [[0, 0], [0, 0]];
  labels.forEach((y, i) => {
    if ((y !== 0 && y !== 1) || (predicted[i] !== 0 && predicted[i] !== 1)) throw new Error(`binary metrics need classes 0 and 1, got label ${y}, prediction ${predicted[i]}`);
    confusion[y][predicted[i]!]++;
  });
  const [[tn, fp], [fn, tp]] = confusion;
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  return {
    n: labels.length,
    accuracy: (tp + tn) / labels.length,
    precision,
    recall,
    f1: (2 * precision * recall) / (precision + recall),
    confusion,
  };
}
