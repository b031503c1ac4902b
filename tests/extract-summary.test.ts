/**
 * No silent fallback, run-wide: extract_summary warns of recordings without a detected bout and of
 * classes that differ in how often that happens (a confound a classifier learns), and draws one
 * contact image of every trace; svm counts the samples that come from fallback windows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, describe, expect, it } from "vitest";
import type { ArtifactOut, ItemIn } from "../engine/stage-api.js";
import extractSummary from "../stages/extract_summary/index.js";
import { summarise, type ExtractReport } from "../stages/extract_summary/summary.js";
import svm from "../stages/svm/index.js";
import { lcg, stageContext } from "./helpers/video-stage.js";

const dir = mkdtempSync(join(tmpdir(), "extract-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A recording's report: `onsets` detected bouts of 9 frames, or none (with or without the frame-0 window). */
function report(recording: string, cls: "spontaneous" | "prey", onsets: number[], window = false): ExtractReport {
  const values = Array.from({ length: 600 }, (_, i) => (onsets.some((o) => i >= o && i < o + 9) ? 0.01 : 0.0005));
  const events = onsets.length
    ? onsets.map((o) => ({ start: o - 15, end: o + 135, onset: o, run: 9 }))
    : window ? [{ start: 0, end: 150, onset: null, run: 0, fallback: true }] : [];
  return {
    recording, class: cls, label: cls === "prey" ? 1 : 0, fps: 300, frames: 600, no_bout: onsets.length === 0,
    fallback: onsets.length ? null : "no bout detected", events, dropped: [], trace: { statistic: "changed fraction", threshold: 0.0038, values },
  };
}

describe("extract_summary", () => {
  it("warns of a class confound when one class falls back more often, and not when both find their bouts", () => {
    const fine = summarise([report("a", "spontaneous", [50, 300]), report("b", "prey", [40]), report("c", "prey", [100, 400])], 0.1);
    expect(fine.warnings).toEqual([]);
    expect(fine.classes.map((c) => [c.class, c.events, c.events_per_recording, c.duration_ms?.median])).toEqual([["prey", 3, 1.5, 30], ["spontaneous", 2, 2, 30]]);

    const confounded = summarise([
      report("a", "spontaneous", [50]), report("b", "spontaneous", [60]),
      report("c", "prey", [], true), report("d", "prey", [70]),
    ], 0.1);
    expect(confounded.classes.find((c) => c.class === "prey")).toMatchObject({ no_bout_recordings: ["c"], no_bout_rate: 0.5, fallback_windows: 1 });
    expect(confounded.warnings[0]).toMatch(/^prey: no bout detected in 1 of 2 recordings \(c\); 1 fallback window/);
    expect(confounded.warnings[1]).toMatch(/CLASS CONFOUND: .*prey 50 %, spontaneous 0 %.*"bout or no bout"/);
  });

  it("as a stage: logs each class and the warnings, writes the table and one contact image with a row per recording", async () => {
    const reports = [report("rec000", "spontaneous", [50]), report("rec001", "prey", []), report("rec002", "prey", [80, 350])];
    const items: ItemIn[] = reports.map((r) => {
      const path = join(dir, `${r.recording}.json`);
      writeFileSync(path, JSON.stringify(r));
      return { id: r.recording, files: { report: path }, meta: {} };
    });
    const ctx = stageContext(dir);
    const out = (await extractSummary.run(ctx, { confound_gap: 0.1 }, { reports: { items } })).summary as ArtifactOut;
    expect(out.meta).toMatchObject({ recordings: 3, events: 3, no_bout_recordings: 1, warnings: 2 });
    const log = ctx.logs.join("\n");
    expect(log).toMatch(/prey: 2 recordings, 2 events \(1 per recording\), no bout in 1, bouts 30 ms/);
    expect(log).toMatch(/warning: prey: no bout detected in 1 of 2 recordings \(rec001\); they gave no event/);
    expect(log).toMatch(/warning: CLASS CONFOUND/);
    expect(readFileSync(join(ctx.outDir, "summary.md"), "utf8")).toMatch(/\| prey \| 2 \| 2 \| 1 \| 1 \| 0 \| 0 \| 30 \(30-30\) \|/);
    const png = PNG.sync.read(readFileSync(join(ctx.outDir, "contact.png")));
    expect(png.height).toBeGreaterThan(3 * 30);
    // Moving frames are drawn orange: a recording with bouts has some, in its own row.
    let orange = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === 255 && png.data[i + 1] === 150 && png.data[i + 2] === 0) orange++;
    expect(orange).toBeGreaterThan(0);
  });
});

describe("svm counts samples from fallback windows", () => {
  it("says how many of its fitted events are fallback windows, in the log, metrics and meta", async () => {
    const random = lcg(5);
    const items: ItemIn[] = [];
    for (let r = 0; r < 12; r++) {
      for (let e = 0; e < 4; e++) {
        const label = r % 2;
        const id = `rec${r}/ev${e}`;
        const path = join(dir, `f-${r}-${e}.json`);
        const vector = [0, 1, 2, 3, 4].map((j) => (j < 2 ? 3 * label : 0) + random());
        writeFileSync(path, JSON.stringify({ id, status: "ok", names: ["a", "b", "c", "d", "e"], vector }));
        // Recording 1's only event is the frame-0 window (its meta says so).
        items.push({ id, files: { features: path }, meta: { recording: `rec${r}`, label, fallback: r === 1 && e === 0 } });
      }
    }
    const ctx = stageContext(dir, undefined, 3);
    const params = { folds: 3, test_fraction: 0.25, C: [1], gamma: [0.1], kernels: ["rbf" as const], standardise: true };
    const out = (await svm.run(ctx, params, { features: { items } })).report as ArtifactOut;
    expect(out.meta).toMatchObject({ fallback_windows: 1 });
    expect(ctx.logs.join("\n")).toMatch(/WARNING: 1 of 48 fitted events come from fallback windows/);
    expect(JSON.parse(readFileSync(join(ctx.outDir, "metrics.json"), "utf8")).fallback_windows).toBe(1);
  });
});
