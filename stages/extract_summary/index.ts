/**
 * extract_summary: the whole run's bout detection at a glance. Reads every recording's extract
 * report: a table per class, warnings for recordings without a detected bout and for classes
 * that differ in how often that happens, and one contact image of all motion traces with their
 * events. See README.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CollectionIn, InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import type { ExtractReport } from "./summary.js";

function readReport(item: CollectionIn["items"][number]): ExtractReport {
  const path = item.files["report"];
  if (!path) throw new Error(`extract_summary: ${item.id} has no "report" file (it has: ${Object.keys(item.files).join(", ") || "none"}): feed extract.reports`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ExtractReport;
  } catch (error) {
    throw new Error(`extract_summary: cannot read the report of ${item.id} (${(error as Error).message}): run extract again`);
  }
}

const extractSummary = {
  name: "extract_summary",
  version: 1,
  description: "The run's bout detection at a glance: per class events, recordings without a detected bout, durations; warnings; one contact image of every motion trace",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      confound_gap: {
        type: "number", minimum: 0, maximum: 1, default: 0.1,
        description: "Warn of a class confound when the classes' shares of recordings without a detected bout differ by more than this (0..1).",
      },
    },
  },
  inputs: { reports: { type: "collection", description: "extract.reports: one report.json per recording" } },
  outputs: { summary: { type: "artifact", description: "summary.json and summary.md (a table per class, warnings), contact.png (every recording's motion trace and events)" } },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const items = inputs.reports.items;
    if (items.length === 0) throw new Error("extract_summary: no reports: feed extract.reports of a run that extracted at least one recording");
    const [{ summarise, summaryMarkdown }, { drawContact }] = await Promise.all([import("./summary.js"), import("./contact.js")]);
    const reports = items.map(readReport);
    const summary = summarise(reports, params.confound_gap);
    writeFileSync(join(ctx.outDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    writeFileSync(join(ctx.outDir, "summary.md"), summaryMarkdown(summary));
    writeFileSync(join(ctx.outDir, "contact.png"), drawContact(reports).png());
    for (const c of summary.classes) {
      const d = c.duration_ms ? `, bouts ${c.duration_ms.median} ms (${c.duration_ms.min}-${c.duration_ms.max})` : "";
      ctx.log(`${c.class}: ${c.recordings} recordings, ${c.events} events (${c.events_per_recording} per recording), no bout in ${c.no_bout_recordings.length}${d}`);
    }
    for (const w of summary.warnings) ctx.log(`warning: ${w}`);
    return {
      summary: {
        files: { summary: "summary.json", table: "summary.md", contact: "contact.png" },
        meta: {
          recordings: reports.length,
          events: summary.classes.reduce((n, c) => n + c.events, 0),
          no_bout_recordings: summary.classes.reduce((n, c) => n + c.no_bout_recordings.length, 0),
          warnings: summary.warnings.length,
        },
      },
    };
  },
} as const;

export type ExtractSummaryParams = ParamsOf<typeof extractSummary.params>;
export default extractSummary satisfies StageKind;
