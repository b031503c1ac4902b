/**
 * The run's detection in numbers: per class, recordings, events per recording, recordings
 * without a detected bout (and fallback windows cut from them), bout durations; and the warning
 * when the classes differ in how often no bout is found (a confound a classifier would learn).
 */

/** What extract's report.json holds that the summary reads. */
export interface ExtractReport {
  recording: string;
  class: string | null;
  label: number | null;
  fps: number;
  frames: number;
  no_bout: boolean;
  fallback: string | null;
  events: { start: number; end: number; onset: number | null; run: number; fallback?: boolean }[];
  dropped: { onset: number | null }[];
  trace?: { statistic: string; threshold: number; values: number[] };
  crop?: { tail?: { length_px: number | null; past_crop: boolean } };
}

export interface ClassSummary {
  class: string;
  recordings: number;
  events: number;
  events_per_recording: number;
  no_bout_recordings: string[];
  no_bout_rate: number;
  fallback_windows: number;
  dropped_detections: number;
  /** Of the detected bouts (the run of moving frames that triggered each event), ms. */
  duration_ms: { median: number; min: number; max: number } | null;
}

export interface Summary {
  classes: ClassSummary[];
  warnings: string[];
}

const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function className(r: ExtractReport): string {
  return r.class ?? (r.label === 0 || r.label === 1 ? `label ${r.label}` : "unlabelled");
}

export function summarise(reports: ExtractReport[], confoundGap: number): Summary {
  const byClass = new Map<string, ExtractReport[]>();
  for (const r of reports) byClass.set(className(r), [...(byClass.get(className(r)) ?? []), r]);
  const classes: ClassSummary[] = [...byClass].sort(([a], [b]) => a.localeCompare(b)).map(([cls, rs]) => {
    const events = rs.flatMap((r) => r.events);
    const durations = rs.flatMap((r) => r.events.filter((e) => e.onset !== null).map((e) => (1000 * e.run) / r.fps));
    const noBout = rs.filter((r) => r.no_bout).map((r) => r.recording);
    return {
      class: cls,
      recordings: rs.length,
      events: events.length,
      events_per_recording: round(events.length / rs.length),
      no_bout_recordings: noBout,
      no_bout_rate: round(noBout.length / rs.length),
      fallback_windows: events.filter((e) => e.onset === null).length,
      dropped_detections: rs.reduce((n, r) => n + r.dropped.length, 0),
      duration_ms: durations.length ? { median: round(median(durations), 1), min: round(Math.min(...durations), 1), max: round(Math.max(...durations), 1) } : null,
    };
  });

  const warnings: string[] = [];
  for (const c of classes) {
    if (c.no_bout_recordings.length === 0) continue;
    const what = c.fallback_windows > 0 ? `${c.fallback_windows} fallback window(s) from frame 0 were cut instead` : "they gave no event";
    warnings.push(`${c.class}: no bout detected in ${c.no_bout_recordings.length} of ${c.recordings} recordings (${c.no_bout_recordings.slice(0, 5).join(", ")}${c.no_bout_recordings.length > 5 ? ", ..." : ""}); ${what}`);
  }
  const rates = classes.map((c) => c.no_bout_rate);
  if (classes.length > 1 && Math.max(...rates) - Math.min(...rates) > confoundGap) {
    const listed = classes.map((c) => `${c.class} ${Math.round(100 * c.no_bout_rate)} %`).join(", ");
    warnings.push(
      `CLASS CONFOUND: the classes differ in how often no bout is detected (${listed}): a classifier can learn "bout or no bout" instead of the bout's class. ` +
        `Tune detection (motion.*; see contact.png) until every class's bouts are found`,
    );
  }
  return { classes, warnings };
}

export function summaryMarkdown(s: Summary): string {
  const lines = [
    "# Bout detection", "",
    "| class | recordings | events | events / recording | no bout detected | fallback windows | dropped detections | bout duration ms (median, min-max) |",
    "|---|---|---|---|---|---|---|---|",
    ...s.classes.map((c) => `| ${c.class} | ${c.recordings} | ${c.events} | ${c.events_per_recording} | ${c.no_bout_recordings.length} | ${c.fallback_windows} | ${c.dropped_detections} | ${c.duration_ms ? `${c.duration_ms.median} (${c.duration_ms.min}-${c.duration_ms.max})` : "-"} |`),
    "",
    ...(s.warnings.length ? ["## Warnings", "", ...s.warnings.map((w) => `- ${w}`), ""] : ["No warnings.", ""]),
    "`contact.png`: every recording's motion trace (grey bars; orange above the threshold, the yellow line), its events (blue bands, the onset a white tick), dropped detections (red ticks).", "",
  ];
  return lines.join("\n");
}
