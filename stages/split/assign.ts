/**
 * Recordings into train / validation / test: whole recordings (no recording's events in two
 * splits, so no augmented copy leaks), class by class (stratified), as close to the fractions
 * as whole recordings allow, in a seeded random order.
 */
import { SPLIT_NAMES, type SplitName } from "../../lib/splits.js";
import { Rng, shuffle } from "../../lib/random.js";
import { CLASS_NAMES } from "../../lib/classes.js";

export type Fractions = Record<SplitName, number>;

export interface RecordingInfo {
  id: string;
  label: 0 | 1;
  /** Its events (or samples): the weight when balancing by events. */
  events: number;
}

/**
 * Each recording, in shuffled order, goes to the split furthest below its share of the class
 * (by events, or by recordings); once only as many recordings are left as splits are still
 * empty, they go to those, so every split with a fraction above 0 gets each class.
 */
export function assignRecordings(recordings: RecordingInfo[], fractions: Fractions, seed: number, balance: "events" | "recordings"): Map<string, SplitName> {
  const total = SPLIT_NAMES.reduce((a, s) => a + fractions[s], 0);
  if (!(total > 0)) throw new Error("the split fractions add up to 0: give train, validation and test fractions (e.g. 0.77, 0.13, 0.10)");
  const active = SPLIT_NAMES.filter((s) => fractions[s] > 0);
  const result = new Map<string, SplitName>();
  for (const label of [0, 1] as const) {
    const ofClass = recordings.filter((r) => r.label === label).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (ofClass.length === 0) continue;
    if (ofClass.length < active.length) {
      throw new Error(
        `class ${CLASS_NAMES[label]} has ${ofClass.length} recording${ofClass.length > 1 ? "s" : ""} (${ofClass.map((r) => r.id).join(", ")}), too few to put one in each of the ${active.length} splits with a fraction above 0 (${active.join(", ")}): ` +
          `add recordings of that class, or set a split's fraction to 0`,
      );
    }
    // One stream per class: adding recordings of one class leaves the other's assignment alone.
    const order = shuffle(ofClass, new Rng(seed ^ (label === 0 ? 0x5f0a : 0x9e11)));
    const weight = (r: RecordingInfo): number => (balance === "events" ? r.events : 1);
    const classTotal = order.reduce((a, r) => a + weight(r), 0);
    const have = new Map<SplitName, number>(active.map((s) => [s, 0]));
    const count = new Map<SplitName, number>(active.map((s) => [s, 0]));
    order.forEach((rec, k) => {
      const left = order.length - k;
      const empty = active.filter((s) => count.get(s) === 0);
      const candidates = left <= empty.length ? empty : active;
      let best = candidates[0]!;
      let bestDeficit = -Infinity;
      for (const s of candidates) {
        const deficit = (fractions[s] / total) * classTotal - have.get(s)!;
        if (deficit > bestDeficit) [best, bestDeficit] = [s, deficit];
      }
      result.set(rec.id, best);
      have.set(best, have.get(best)! + weight(rec));
      count.set(best, count.get(best)! + 1);
    });
  }
  return result;
}
