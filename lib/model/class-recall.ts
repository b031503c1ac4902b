/**
 * Recall of every class from a confusion matrix (rows true class, columns predicted): what a
 * stream that predicts one class for everything shows at once (1 and 0), where its accuracy
 * merely equals the majority class's share. NaN for a class with no samples.
 */
export function classRecalls(confusion: number[][]): number[] {
  return confusion.map((row, c) => row[c]! / row.reduce((a, b) => a + b, 0));
}

/** Balanced accuracy: the mean of the classes' recalls (0.5 for a constant predictor of two classes). */
export function balancedAccuracy(confusion: number[][]): number {
  const recalls = classRecalls(confusion).filter((r) => !Number.isNaN(r));
  return recalls.reduce((a, b) => a + b, 0) / recalls.length;
}
