/**
 * Binary classification metrics, the one definition for the CNN (evaluate) and the SVM. The
 * convention, stated wherever the figures are printed: precision = TP / (TP + FP) and recall =
 * TP / (TP + FN) are undefined (NaN; null in JSON, "-" in tables) when their denominator is 0 (no
 * prediction of the class, no sample of it); F1 = 2 TP / (2 TP + FP + FN), which equals
 * 2PR / (P + R) where both are defined, is 0 when TP is 0 and the class was missed or wrongly
 * predicted, and undefined only when the class is in neither the labels nor the predictions.
 * scikit-learn's zero_division=0 gives 0 instead of undefined.
 */

export interface BinaryMetrics {
  n: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Rows: true class 0, 1; columns: predicted class 0, 1. [[TN, FP], [FN, TP]]. */
  confusion: [[number, number], [number, number]];
}

/** Metrics of class `positive` (default 1, prey) against the other; the confusion matrix is the same either way. */
export function binaryMetrics(labels: number[], predicted: number[], positive: 0 | 1 = 1): BinaryMetrics {
  if (labels.length !== predicted.length) throw new Error(`${labels.length} labels but ${predicted.length} predictions`);
  const confusion: [[number, number], [number, number]] = [[0, 0], [0, 0]];
  labels.forEach((y, i) => {
    if ((y !== 0 && y !== 1) || (predicted[i] !== 0 && predicted[i] !== 1)) throw new Error(`binary metrics need classes 0 and 1, got label ${y}, prediction ${predicted[i]}`);
    confusion[y][predicted[i]!]++;
  });
  const other = (1 - positive) as 0 | 1;
  const tp = confusion[positive][positive];
  const fp = confusion[other][positive];
  const fn = confusion[positive][other];
  return {
    n: labels.length,
    accuracy: (confusion[0][0] + confusion[1][1]) / labels.length,
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    f1: (2 * tp) / (2 * tp + fp + fn),
    confusion,
  };
}

/** An item's event: its id without the last part (`rec003/ev01/s2` -> `rec003/ev01`). */
export const eventOf = (id: string): string => id.split("/").slice(0, -1).join("/") || id;

/**
 * Per event: its samples' log-probabilities summed (the product of their probabilities) and the
 * argmax taken, so that each event counts once however many subsamples it has.
 */
export function eventPredictions(ids: string[], labels: number[], logProbs: Float32Array, classes: number): { labels: number[]; predicted: number[] } {
  const events = new Map<string, { label: number; sum: Float64Array }>();
  ids.forEach((id, i) => {
    const key = eventOf(id);
    let e = events.get(key);
    if (!e) events.set(key, (e = { label: labels[i]!, sum: new Float64Array(classes) }));
    if (e.label !== labels[i]) throw new Error(`event ${key}: its samples have different labels (${e.label}, ${labels[i]})`);
    for (let c = 0; c < classes; c++) e.sum[c]! += logProbs[i * classes + c]!;
  });
  const out = { labels: [] as number[], predicted: [] as number[] };
  for (const e of events.values()) {
    out.labels.push(e.label);
    out.predicted.push(e.sum.indexOf(Math.max(...e.sum)));
  }
  return out;
}
