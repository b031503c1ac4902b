/**
 * From per-subsample log-probabilities to one row per event and one per recording. An event's
 * class per stream is the argmax of its subsamples' summed log-probabilities (evaluate's rule);
 * its probability is the softmax of their mean, a normalised geometric mean of the subsamples'.
 */
import type { ItemIn } from "../../engine/stage-api.js";
import { eventOf } from "../../lib/model/metrics.js";
import type { Predictions } from "../../lib/model/predict.js";
import { recordingOf } from "../../lib/splits.js";

export const STREAMS = ["fused", "spatial", "temporal"] as const;
type Stream = (typeof STREAMS)[number];

export interface StreamCall {
  class: string;
  label: number;
  p: number;
}

export interface EventRow {
  recording: string;
  event: string;
  /** The first moving frame, in the recording; null for a frame-0 fallback window. */
  onset_frame: number | null;
  onset_s: number | null;
  /** The detected run of moving frames, in seconds. */
  duration_s: number | null;
  start: number | null;
  end: number | null;
  fused: StreamCall;
  spatial: StreamCall;
  temporal: StreamCall;
  subsamples: number;
  /** Subsamples whose own fused class is the event's. */
  agree: number;
  uncertain: boolean;
  /** The true class, when the samples are labelled. */
  truth: string | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const round = (v: number | null, d = 4): number | null => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);

/** Softmax of a row of mean log-probabilities: (class, its probability). */
function call(mean: Float64Array, classes: readonly string[]): StreamCall {
  const top = Math.max(...mean);
  const exp = Array.from(mean, (v) => Math.exp(v - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  const label = exp.indexOf(Math.max(...exp));
  return { class: classes[label] ?? String(label), label, p: exp[label]! / sum };
}

export function eventRows(items: ItemIn[], p: Predictions, classes: readonly string[], uncertainBelow: number): EventRow[] {
  const k = p.classes;
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = eventOf(item.id);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const rows: EventRow[] = [];
  for (const [event, members] of groups) {
    const meta = items[members[0]!]!.meta;
    const mean = (s: Stream): Float64Array => {
      const m = new Float64Array(k);
      for (const i of members) for (let c = 0; c < k; c++) m[c]! += p[s][i * k + c]! / members.length;
      return m;
    };
    const [fused, spatial, temporal] = STREAMS.map((s) => call(mean(s), classes)) as [StreamCall, StreamCall, StreamCall];
    const agree = members.filter((i) => call(Float64Array.from(p.fused.subarray(i * k, (i + 1) * k)), classes).label === fused.label).length;
    const fps = num(meta["fps"]);
    const onset = num(meta["onset"]);
    const run = num(meta["run"]);
    const label = num(meta["label"]);
    rows.push({
      recording: recordingOf(items[members[0]!]!), event, onset_frame: onset,
      onset_s: onset !== null && fps ? round(onset / fps) : null,
      duration_s: run !== null && fps ? round(run / fps) : null,
      start: num(meta["start"]), end: num(meta["end"]),
      fused, spatial, temporal, subsamples: members.length, agree,
      uncertain: spatial.label !== temporal.label || fused.p < uncertainBelow,
      truth: label === null ? null : (classes[label] ?? String(label)),
    });
  }
  return rows;
}

export interface RecordingRow {
  recording: string;
  events: number;
  /** Events per predicted class. */
  bouts: Record<string, number>;
  uncertain: number;
  /** The recording's length (from extract's report), seconds; null without it. */
  duration_s: number | null;
  /** Bouts per minute, in all and per class; null without the recording's length. */
  rate_per_min: number | null;
  rate_per_min_by_class: Record<string, number> | null;
}

export function recordingRows(events: EventRow[], classes: readonly string[], durations: Map<string, number>): RecordingRow[] {
  const byRecording = new Map<string, EventRow[]>();
  for (const e of events) byRecording.set(e.recording, [...(byRecording.get(e.recording) ?? []), e]);
  for (const r of durations.keys()) if (!byRecording.has(r)) byRecording.set(r, []);
  return [...byRecording].map(([recording, rows]) => {
    const bouts = Object.fromEntries(classes.map((c) => [c, rows.filter((e) => e.fused.class === c).length]));
    const seconds = durations.get(recording) ?? null;
    const perMinute = (n: number): number => round((60 * n) / seconds!, 3)!;
    return {
      recording, events: rows.length, bouts, uncertain: rows.filter((e) => e.uncertain).length, duration_s: round(seconds, 3),
      rate_per_min: seconds ? perMinute(rows.length) : null,
      rate_per_min_by_class: seconds ? Object.fromEntries(classes.map((c) => [c, perMinute(bouts[c]!)])) : null,
    };
  });
}

const field = (v: string | number | boolean | null): string => (v === null ? "" : typeof v === "string" ? (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v) : String(v));

/** The per-event table as CSV, one header; `truth` only when the samples are labelled. */
export function eventsCsv(rows: EventRow[], withTruth: boolean): string {
  const header = ["recording", "event", "onset_frame", "onset_s", "duration_s", "class", "p", "spatial_class", "p_spatial", "temporal_class", "p_temporal", "subsamples", "agree", "uncertain", ...(withTruth ? ["truth"] : [])];
  const lines = rows.map((e) => [
    e.recording, e.event, e.onset_frame, e.onset_s, e.duration_s, e.fused.class, round(e.fused.p), e.spatial.class, round(e.spatial.p), e.temporal.class, round(e.temporal.p), e.subsamples, e.agree, e.uncertain,
    ...(withTruth ? [e.truth] : []),
  ].map(field).join(","));
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

export function recordingsCsv(rows: RecordingRow[], classes: readonly string[]): string {
  const header = ["recording", "events", ...classes.map((c) => `bouts_${c}`), "uncertain", "duration_s", "rate_per_min", ...classes.map((c) => `rate_per_min_${c}`)];
  const lines = rows.map((r) => [r.recording, r.events, ...classes.map((c) => r.bouts[c]!), r.uncertain, r.duration_s, r.rate_per_min, ...classes.map((c) => r.rate_per_min_by_class?.[c] ?? null)].map(field).join(","));
  return `${[header.join(","), ...lines].join("\n")}\n`;
}
