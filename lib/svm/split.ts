/**
 * The held-out test set, always whole recordings (no recording has events on both sides): either
 * the CNN's split (a splits file: test = its "test" recordings, the SVM trains on "train" and
 * "validation", which it needs no separate set for) or a stratified split by recording.
 */
import type { SplitName } from "../splits.js";
import { Rng, shuffle } from "../random.js";

export interface Row {
  id: string;
  recording: string;
  label: 0 | 1;
  x: number[];
}

export interface Split {
  /** Indices into the rows. */
  train: number[];
  test: number[];
  source: string;
}

/** Events per class in each recording, recordings sorted by id (so that the result does not depend on row order). */
function byRecording(rows: Row[]): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const rec of [...new Set(rows.map((r) => r.recording))].sort()) map.set(rec, [0, 0]);
  for (const r of rows) map.get(r.recording)![r.label]!++;
  return map;
}

/**
 * Greedy stratified split by recording: recordings in a seeded random order go to the test set
 * while that brings its events per class closer to `testFraction` of each class.
 */
export function stratifiedRecordingSplit(rows: Row[], testFraction: number, seed: number): Split {
  const recordings = byRecording(rows);
  if (recordings.size < 2) {
    throw new Error(`svm: all ${rows.length} events come from one recording (${[...recordings.keys()][0]}): a test set of other recordings is impossible; give more recordings or a splits file`);
  }
  const totals = [0, 1].map((c) => rows.filter((r) => r.label === c).length);
  const target = totals.map((n) => testFraction * n);
  const counts = [0, 0];
  const test = new Set<string>();
  const distance = (a: number[]): number => Math.abs(a[0]! - target[0]!) + Math.abs(a[1]! - target[1]!);
  for (const rec of shuffle([...recordings.keys()], new Rng(seed))) {
    const c = recordings.get(rec)!;
    const next = [counts[0]! + c[0]!, counts[1]! + c[1]!];
    if (distance(next) < distance(counts)) {
      test.add(rec);
      counts[0] = next[0]!;
      counts[1] = next[1]!;
    }
  }
  if (test.size === 0) test.add([...recordings.keys()].sort((a, b) => sum(recordings.get(a)!) - sum(recordings.get(b)!))[0]!);
  if (test.size === recordings.size) test.delete([...test].at(-1)!);
  return {
    train: indices(rows, (r) => !test.has(r.recording)),
    test: indices(rows, (r) => test.has(r.recording)),
    source: `stratified by recording, ${Math.round(100 * (1 - testFraction))} / ${Math.round(100 * testFraction)}, seed ${seed}`,
  };
}

/** The CNN's split (a splits file read by lib/splits.ts; `what` names it). */
export function splitFromFile(rows: Row[], assignment: ReadonlyMap<string, SplitName>, what: string): Split {
  const missing = [...byRecording(rows).keys()].filter((rec) => !assignment.has(rec));
  if (missing.length) {
    throw new Error(`svm: ${what} does not assign recording${missing.length > 1 ? "s" : ""} ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}: make the splits from the same recordings as the features`);
  }
  return {
    train: indices(rows, (r) => assignment.get(r.recording) !== "test"),
    test: indices(rows, (r) => assignment.get(r.recording) === "test"),
    source: `splits file (test = its test recordings; train = its train + validation recordings)`,
  };
}

function indices(rows: Row[], keep: (r: Row) => boolean): number[] {
  const out: number[] = [];
  rows.forEach((r, i) => {
    if (keep(r)) out.push(i);
  });
  return out;
}

function sum(a: number[]): number {
  return a.reduce((x, y) => x + y, 0);
}
