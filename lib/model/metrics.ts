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
    for (let c = 0; c < classes; c++) e.sum[c] += logProbs[i * classes + c]!;
  });
  const out = { labels: [] as number[], predicted: [] as number[] };
  for (const e of events.values()) {
    out.labels.push(e.label);
    out.predicted.push(e.sum.indexOf(Math.max(...e.sum)));
  }
  return out;
}
