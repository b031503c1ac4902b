/**
 * The whole SVM baseline on a feature table: held-out test recordings, stratified k-fold grid
 * search on the rest, the best grid point retrained on all training events and scored on the test
 * set. Used by the svm stage and by bench/svm-compare.ts (which hands the same table, split and
 * folds to scikit-learn).
 */
import { Rng } from "../random.js";
import type { SplitName } from "../splits.js";
import { stratifiedFolds } from "./folds.js";
import { fitPredict, gridPoints, gridSearch, type GridPoint, type Trainer } from "./grid.js";
import { testFigures, type TestFigures } from "./metrics.js";
import { splitFromFile, stratifiedRecordingSplit, type Row, type Split } from "./split.js";

export interface BaselineOptions {
  folds: number;
  testFraction: number;
  C: number[];
  gamma: number[];
  kernels: ("rbf" | "linear")[];
  standardise: boolean;
  seed: number;
  /** The CNN's split (lib/splits.ts) and a name for messages. */
  splits?: { assignment: ReadonlyMap<string, SplitName>; what: string };
}

export interface BaselineResult {
  split: Split;
  /** Per row: its CV fold (0..k-1), or -1 for a test row. */
  fold: number[];
  grid: GridPoint[];
  best: GridPoint;
  test: TestFigures;
  /** Per row: the best model's prediction for a test row, null for a training row. */
  predicted: (number | null)[];
}

function classCounts(rows: Row[], idx: number[]): [number, number] {
  const c: [number, number] = [0, 0];
  for (const i of idx) c[rows[i]!.label]++;
  return c;
}

export function runBaseline(train: Trainer, rows: Row[], o: BaselineOptions, onPoint?: (done: number, total: number) => void): BaselineResult {
  const seeds = new Rng(o.seed);
  const splitSeed = seeds.u32();
  const foldSeed = seeds.u32();
  const split = o.splits ? splitFromFile(rows, o.splits.assignment, o.splits.what) : stratifiedRecordingSplit(rows, o.testFraction, splitSeed);
  if (split.test.length === 0) throw new Error(`svm: the test set is empty (${split.source}): give the splits file test recordings that have fitted events`);
  const counts = classCounts(rows, split.train);
  if (counts[0] < o.folds || counts[1] < o.folds) {
    throw new Error(`svm: the training set holds ${counts[0]} spontaneous and ${counts[1]} prey events; ${o.folds}-fold stratified cross-validation needs at least ${o.folds} of each: give more events or lower folds`);
  }
  const x = split.train.map((i) => rows[i]!.x);
  const y = split.train.map((i) => rows[i]!.label);
  const trainFolds = stratifiedFolds(y, o.folds, foldSeed);
  const grid = gridPoints(o.kernels, o.C, o.gamma);
  if (grid.length === 0) throw new Error("svm: the grid is empty: give at least one kernel and one C");
  const { points, best } = gridSearch(train, x, y, trainFolds, o.folds, grid, o.standardise, (done) => onPoint?.(done, grid.length));

  const xTest = split.test.map((i) => rows[i]!.x);
  const yTest = split.test.map((i) => rows[i]!.label);
  const predictedTest = fitPredict(train, x, y, xTest, best, o.standardise);

  const fold = new Array<number>(rows.length).fill(-1);
  split.train.forEach((i, j) => (fold[i] = trainFolds[j]!));
  const predicted = new Array<number | null>(rows.length).fill(null);
  split.test.forEach((i, j) => (predicted[i] = predictedTest[j]!));
  return { split, fold, grid: points, best, test: testFigures(yTest, predictedTest), predicted };
}
