/** What split puts in each split, per class: the `counts` of splits.json and the stage's summary line. */
import { SPLIT_NAMES, type SplitName } from "../../lib/splits.js";
import { CLASS_NAMES } from "../../lib/classes.js";
import type { RecordingInfo } from "./assign.js";

export type ClassName = (typeof CLASS_NAMES)[number];

export type Tally = {
  recordings: number;
  events: number;
};
export type SplitCounts = Tally & Record<ClassName, Tally>;

function tally(recordings: RecordingInfo[]): Tally {
  return { recordings: recordings.length, events: recordings.reduce((a, r) => a + r.events, 0) };
}

/** Recordings and events per split, in total and per class. */
export function countSplits(recordings: RecordingInfo[], assignment: Map<string, SplitName>): Record<SplitName, SplitCounts> {
  const of = (s: SplitName): SplitCounts => {
    const mine = recordings.filter((r) => assignment.get(r.id) === s);
    return { ...tally(mine), spontaneous: tally(mine.filter((r) => r.label === 0)), prey: tally(mine.filter((r) => r.label === 1)) };
  };
  return { train: of("train"), validation: of("validation"), test: of("test") };
}

/**
 * One line a person reads: per split, recordings and events, each with its class counts, so a
 * lopsided split (10 spontaneous events against 2 prey in test) shows in the log.
 */
export function summaryLine(counts: Record<SplitName, SplitCounts>): string {
  const byClass = (c: SplitCounts, of: keyof Tally): string => CLASS_NAMES.map((cls) => `${cls} ${c[cls][of]}`).join(", ");
  return SPLIT_NAMES.map((s) => {
    const c = counts[s];
    return `${s} ${c.recordings} recordings (${byClass(c, "recordings")}), ${c.events} events (${byClass(c, "events")})`;
  }).join(" · ");
}
