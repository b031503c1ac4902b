/**
 * Samples that come from extract's fallback window (a recording where no bout was detected, cut
 * from frame 0 only with `events.fallback_window: true`). Events, and everything made from them,
 * carry `fallback: true` in their meta. A classifier trained on them learns "bout or no bout":
 * evaluate and svm say how many of their samples are such windows.
 */
import type { JsonObject } from "../../engine/stage-api.js";

export function isFallbackSample(meta: JsonObject): boolean {
  return meta["fallback"] === true;
}

/** A sentence for the log, or "" when no sample is a fallback window. */
export function fallbackNote(fallback: number, total: number, what: string): string {
  return fallback > 0 ? `; WARNING: ${fallback} of ${total} ${what} come from fallback windows (no detected bout): their class may be told from "no bout", not the bout` : "";
}
