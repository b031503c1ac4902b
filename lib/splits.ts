/**
 * The splits file (`splits.json`, written by the split stage): which of train, validation and
 * test each recording belongs to. The one reader and validator of it, for train, evaluate,
 * explain and svm alike.
 */
import { readFileSync } from "node:fs";
import type { ItemIn } from "../engine/stage-api.js";

export const SPLIT_NAMES = ["train", "validation", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/**
 * The recording an item belongs to, the key of the splits file: its `recording` meta (events
 * and everything made of them carry it), else the item itself (a recording item is its own).
 * One rule for split, which writes the keys, and train, evaluate, explain and svm, which look
 * them up: a fallback of their own (an id's first segment, or all but its last) would miss.
 */
export function recordingOf(item: Pick<ItemIn, "id" | "meta">): string {
  const recording = item.meta["recording"];
  return typeof recording === "string" && recording !== "" ? recording : item.id;
}

const SHAPE = `{ "recordings": { "<id>": "train" | "validation" | "test" } }`;

/** A parsed splits document, checked; `what` names it in messages (a path). */
export function parseSplits(data: unknown, what: string): Map<string, SplitName> {
  const recordings = (data as { recordings?: unknown } | null)?.recordings;
  if (!recordings || typeof recordings !== "object" || Array.isArray(recordings)) throw new Error(`${what} has no "recordings" object (${SHAPE}): feed split.splits`);
  const out = new Map<string, SplitName>();
  for (const [rec, side] of Object.entries(recordings)) {
    if (!(SPLIT_NAMES as readonly unknown[]).includes(side)) throw new Error(`${what}: recording ${rec} is in split ${JSON.stringify(side)}; splits are ${SPLIT_NAMES.join(", ")}`);
    out.set(rec, side as SplitName);
  }
  return out;
}

export function readSplits(path: string): Map<string, SplitName> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the splits file ${path} (${(error as Error).message}): feed split.splits`);
  }
  return parseSplits(data, path);
}
