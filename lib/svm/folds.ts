/**
 * Stratified k-fold assignment (in the spirit of scikit-learn's shuffled StratifiedKFold): the events of
 * each class, in a seeded random order, are dealt to folds 0..k-1 in turn, so every fold holds
 * each class in proportion. As in the paper, folds are over events: one recording's events may
 * sit in different folds (the held-out test set never shares a recording with them).
 */
import { Rng, shuffle } from "../random.js";

export function stratifiedFolds(labels: number[], k: number, seed: number): number[] {
  const folds = new Array<number>(labels.length).fill(-1);
  const rng = new Rng(seed);
  let next = 0;
  for (const c of [...new Set(labels)].sort((a, b) => a - b)) {
    const members = shuffle(labels.flatMap((l, i) => (l === c ? [i] : [])), rng);
    // Continue dealing where the previous class stopped, so fold sizes differ by at most one.
    for (const i of members) folds[i] = next++ % k;
  }
  return folds;
}
