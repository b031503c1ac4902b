/** The explain stage's report.md: warnings, shares per method, stream and class, occlusion, figures. */
import { STREAMS, type Stream } from "../../lib/model/architecture.js";
import type { StreamSummary } from "./outputs.js";
import type { Explained } from "./part.js";

type Json = ReturnType<typeof JSON.parse>;

export function markdown(json: Json, e: Explained, figures: Record<string, string>): string {
  const out = [
    "# What the network looked at",
    "",
    `${json.samples} samples of the ${json.splits.join(", ")} split(s), each stream explained on its own for the class it ${json.target === "label" ? "should predict (the label)" : "predicts"}, on the ${json.backend} backend. ${json.shares}.`,
    "",
  ];
  if (json.warnings.length) out.push("## Warnings", "", ...json.warnings.map((w: string) => `- **${w}**`), "");
  else out.push(`No region outside the fish holds more than ${json.clever_hans_ratio} times its area share of any class's relevance, and zeroing none changes more than ${100 * json.clever_hans_changed} % of a class's predictions.`, "");
  for (const [method, streams] of Object.entries(json.methods as Record<string, Record<Stream, StreamSummary>>)) {
    out.push(`## ${method}`, "", `| stream | class | explained | ${json.regions.map((r: { name: string }) => `${r.name}: share (x area)`).join(" | ")} | fish band: share (x area) | top flow frames |`);
    out.push(`|---|---|---|${json.regions.map(() => "---|").join("")}---|---|`);
    for (const stream of STREAMS) {
      for (const [className, c] of Object.entries(streams[stream].classes)) {
        const cells = c.regions.map((r) => `${(100 * r.relevance).toFixed(1)} % (${r.ratio.toFixed(2)})`);
        const frames = c.top_frames ? c.top_frames.map((f) => `${f.frame} (${(100 * f.share).toFixed(1)} %)`).join(", ") : "";
        out.push(`| ${stream} | ${className} | ${c.explained} of ${c.samples} | ${cells.join(" | ")} | ${(100 * c.fish.relevance).toFixed(1)} % (${c.fish.ratio.toFixed(2)}) | ${frames} |`);
      }
    }
    const conservation = STREAMS.flatMap((s) => (streams[s].conservation ? [`${s}: ${streams[s].conservation![0]!.ratio}`] : []));
    if (conservation.length) out.push("", `Conservation (input relevance / explained evidence, mean): ${conservation.join(", ")}.`);
    const unexplained = STREAMS.map((s) => `${s} ${streams[s].unexplained}`).join(", ");
    out.push("", `Unexplained samples (samples.csv says why): ${unexplained}.`, "");
    for (const kind of ["classes", "frames", "negatives"]) if (figures[`${method}_${kind}`]) out.push(`![${method} ${kind}](${figures[`${method}_${kind}`]})`, "");
  }
  out.push("## Occlusion", "", `${json.occlusion_note}.`, "", "| region | stream | class | accuracy | with the region zeroed | predictions changed |", "|---|---|---|---|---|---|");
  for (const o of json.occlusion as { region: string; streams: Record<string, Record<string, { accuracy: number; occluded: number; changed: number }>> }[]) {
    for (const [stream, classes] of Object.entries(o.streams)) {
      for (const [className, v] of Object.entries(classes)) out.push(`| ${o.region} | ${stream} | ${className} | ${v.accuracy} | ${v.occluded} | ${v.changed} |`);
    }
  }
  out.push("", `Classes: ${e.classNames.map((c, i) => `${i} = ${c}`).join(", ")}; class 1 is positive in TP, TN, FP, FN.`, "");
  return `${out.join("\n")}\n`;
}
