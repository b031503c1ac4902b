/**
 * What the explain stage leaves: group means and region shares, occlusion, the Clever Hans
 * warnings (summary.json and meta), the figures (PNG); files.ts and markdown.ts write the rest.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ArtifactOut, JsonObject, StageContext } from "../../engine/stage-api.js";
import { frameChart, panelGrid, type Panel, type PanelRow } from "../../lib/explain/figures.js";
import { METHOD_NAMES } from "../../lib/explain/methods.js";
import { GroupMean, regionShares, topFrames, type RegionShare } from "../../lib/explain/shares.js";
import type { Rect } from "../../lib/image/ops.js";
import { STREAMS, type Stream } from "../../lib/model/architecture.js";
import type { ExplainParams } from "./index.js";
import { samplesCsv, writeHeatmaps } from "./files.js";
import { markdown } from "./markdown.js";
import type { Explained, StreamMaps } from "./part.js";
import { fishBand, inputRegions } from "./regions.js";

const OUTCOMES = ["TP", "TN", "FP", "FN"] as const;
type Outcome = (typeof OUTCOMES)[number];

function outcomeOf(label: number, predicted: number): Outcome {
  if (label === 1) return predicted === 1 ? "TP" : "FN";
  return predicted === 1 ? "FP" : "TN";
}

export interface ClassSummary {
  samples: number;
  explained: number;
  regions: RegionShare[];
  fish: RegionShare;
  background: number;
  /** Temporal only: share of each flow frame, and the frames holding most. */
  frames?: { frame: number; share: number }[];
  top_frames?: { frame: number; share: number }[];
}

export type StreamSummary = {
  classes: Record<string, ClassSummary>;
  unexplained: number;
  /** Relevance methods: mean of (relevance reaching each layer's input) / evidence. */
  conservation?: { layer: string; ratio: number }[];
};

function groupMean(maps: StreamMaps, backgrounds: Float32Array, members: number[], side: number): GroupMean {
  const plane = side * side;
  const frames = maps.frames.length / maps.evidence.length;
  const g = new GroupMean(side, frames);
  for (const i of members) {
    if (maps.reasons[i] !== null) continue;
    g.add({ pixels: maps.normalised.subarray(i * plane, (i + 1) * plane), frames: maps.frames.subarray(i * frames, (i + 1) * frames) }, backgrounds.subarray(i * plane, (i + 1) * plane));
  }
  return g;
}

function panel(g: GroupMean, title: string): Panel | null {
  if (g.count === 0) return null;
  const m = g.mean();
  return { title: `${title} (${g.count})`, heat: m.pixels, background: m.background };
}

const round = (x: number, digits = 4): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : Number.NaN);

export async function writeOutputs(ctx: StageContext, params: ExplainParams, e: Explained): Promise<Record<string, ArtifactOut>> {
  const side = e.arch.input_size;
  const n = e.samples.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const byLabel = e.classNames.map((_, c) => all.filter((i) => e.samples[i]!.example.label === c));
  const { list: regionList, regions } = inputRegions(params, e.geometry);
  const fish = fishBand(params, e.geometry);
  const bandRect = fish.rect;
  const outside = regions.filter((r) => r.rect && overlap(r.rect, bandRect) < 0.5 * r.rect.width * r.rect.height);

  const summary: Record<string, Record<Stream, StreamSummary>> = {};
  const warnings: string[] = [];
  const figures: Record<string, string> = {};
  const heatmapFiles: Record<string, string> = {};
  const meta: JsonObject = {};

  for (const name of METHOD_NAMES.filter((m) => m in e.maps)) {
    summary[name] = {} as Record<Stream, StreamSummary>;
    const rows: PanelRow[] = [];
    const negativesRows: PanelRow[] = [];
    for (const stream of STREAMS) {
      const maps = e.maps[name]![stream];
      const classes: Record<string, ClassSummary> = {};
      const classPanels: (Panel | null)[] = [];
      e.classNames.forEach((className, c) => {
        const g = groupMean(maps, e.backgrounds, byLabel[c]!, side);
        const mean = g.mean();
        const [fishShare] = regionShares(mean.pixels, side, [fish]);
        const s: ClassSummary = {
          samples: byLabel[c]!.length, explained: g.count,
          regions: regionShares(mean.pixels, side, regions).map((r) => ({ ...r, area: round(r.area), relevance: round(r.relevance), ratio: round(r.ratio, 3) })),
          fish: { ...fishShare!, area: round(fishShare!.area), relevance: round(fishShare!.relevance), ratio: round(fishShare!.ratio, 3) },
          background: round(1 - fishShare!.relevance),
        };
        if (stream === "temporal") {
          s.frames = [...mean.frames].map((share, k) => ({ frame: e.frameIndex[k]!, share: round(share) }));
          s.top_frames = topFrames(mean.frames, e.frameIndex, 3).map((f) => ({ frame: f.frame, share: round(f.share) }));
        }
        classes[className] = s;
        classPanels.push(panel(g, className));
        for (const r of s.regions) {
          const region = outside.find((o) => o.name === r.name);
          // Gradients (saliency, guided backprop) say how sensitive, not how much evidence: no warning.
          if (region && g.count > 0 && maps.layerTotals.length > 0 && r.ratio > params.clever_hans_ratio) {
            warnings.push(
              `Clever Hans: ${name} puts ${(100 * r.relevance).toFixed(1)} % of the ${stream} relevance of class ${className} in ${r.name}, ` +
                `${r.ratio.toFixed(1)} times its ${(100 * r.area).toFixed(1)} % of the image, outside the fish: the network may use a cue there. ` +
                "Mask it (mask.regions) and compare the runs (dag compare)",
            );
          }
        }
        for (const r of s.regions) setMeta(meta, [name, stream, className, r.name], r.ratio);
      });
      const outcomePanels = e.classNames.length === 2
        ? OUTCOMES.map((o) => panel(groupMean(maps, e.backgrounds, all.filter((i) => outcomeOf(e.samples[i]!.example.label, e.samples[i]!.streams[stream].predicted) === o), side), `${o}: ${outcomeTitle(o, e.classNames)}`))
        : [];
      rows.push({ label: stream.toUpperCase(), panels: [...classPanels, ...outcomePanels] });
      negativesRows.push({ label: stream.toUpperCase(), panels: negativeWindows(e, maps, stream, params.window) });
      const unexplained = maps.reasons.filter((r) => r !== null).length;
      summary[name][stream] = {
        classes, unexplained,
        ...(maps.layerTotals.length ? { conservation: maps.layerTotals.map((l) => ({ layer: l.layer, ratio: round(l.count ? l.sum / l.count : Number.NaN) })) } : {}),
      };
      if (unexplained) ctx.log(`${name} ${stream}: ${unexplained} of ${n} samples unexplained (samples.csv says why)`);
    }
    const caption = "MEAN ABS RELEVANCE PER PIXEL, SHARE OF EACH SAMPLE TOTAL";
    figures[`${name}_classes`] = `${name}-classes.png`;
    writeFileSync(join(ctx.outDir, figures[`${name}_classes`]!), panelGrid(`${name.toUpperCase()}: MEAN HEATMAPS BY CLASS AND OUTCOME OVER THE MEAN INPUT FRAME`, rows, side, caption));
    figures[`${name}_frames`] = `${name}-frames.png`;
    const colours: [number, number, number][] = [[33, 102, 172], [214, 96, 77], [90, 174, 97], [153, 112, 171]];
    writeFileSync(
      join(ctx.outDir, figures[`${name}_frames`]!),
      frameChart(`${name.toUpperCase()}: TEMPORAL RELEVANCE PER FLOW FRAME`, e.classNames.map((c, k) => ({ label: c.toUpperCase(), colour: colours[k % colours.length]!, values: Float32Array.from(summary[name]!.temporal.classes[c]!.frames!.map((f) => f.share)) })), e.frameIndex, "SHARE OF EACH SAMPLE TEMPORAL RELEVANCE, MEAN PER CLASS"),
    );
    figures[`${name}_negatives`] = `${name}-negatives.png`;
    writeFileSync(join(ctx.outDir, figures[`${name}_negatives`]!), panelGrid(`${name.toUpperCase()}: PREDICTED ${e.classNames[0]!.toUpperCase()}, BY CONFIDENCE, ${params.window} PER WINDOW`, negativesRows, side, caption));
    heatmapFiles[name] = `heatmaps-${name}.h5`;
    await writeHeatmaps(join(ctx.outDir, heatmapFiles[name]!), e, name, params);
  }

  // Occlusion: how each stream's accuracy on a class changes when a region's input is zeroed.
  const occlusion = e.occlusion.map((o) => ({
    region: o.region,
    streams: Object.fromEntries(STREAMS.map((stream) => [stream, Object.fromEntries(e.classNames.map((className, c) => {
      const members = byLabel[c]!;
      const share = (hit: (i: number) => boolean) => round(members.length ? members.filter(hit).length / members.length : Number.NaN);
      const summary = {
        samples: members.length,
        accuracy: share((i) => e.samples[i]!.streams[stream].predicted === c),
        occluded: share((i) => o.predicted[stream][i] === c),
        changed: share((i) => o.predicted[stream][i] !== e.samples[i]!.streams[stream].predicted),
      };
      setMeta(meta, ["occlusion", stream, className, o.region], summary.occluded);
      if (outside.some((r) => r.name === o.region) && summary.changed > params.clever_hans_changed) {
        warnings.push(
          `Clever Hans: zeroing ${o.region}, outside the fish, changes the ${stream} stream's prediction for ${(100 * summary.changed).toFixed(0)} % of class ${className}'s samples ` +
            `(accuracy ${summary.accuracy} -> ${summary.occluded}): the network uses what is there. Mask it (mask.regions) and compare the runs (dag compare)`,
        );
      }
      return [className, summary];
    }))])),
  }));
  for (const w of warnings) ctx.warn(w);
  const json = {
    splits: [...new Set(e.samples.map((s) => s.split))],
    samples: n,
    target: params.target,
    backend: e.backend,
    geometry: { ...e.geometry, note: "the network's input is a centre crop of the sample's frame, resized to `input` pixels; regions are given in frame pixels and measured in input pixels" },
    regions: regions.map((r, i) => ({ name: r.name, region: regionList[i], input_rect: r.rect, outside_fish: outside.includes(r) })),
    fish_band: { ...params.fish_band, input_rect: bandRect },
    clever_hans_ratio: params.clever_hans_ratio,
    clever_hans_changed: params.clever_hans_changed,
    methods: summary,
    occlusion,
    warnings,
    occlusion_note: "Each stream's accuracy per class (by label) as it is and with the region's content taken away (no flow in the temporal stream; the region's own mean grey in the spatial), and the share of predictions that change",
    shares: "Relevance is |R| per pixel (summed over flow channels), normalised to sum 1 per sample, averaged over a class's explained samples; ratio = relevance share / area share (1 = even spread)",
  };
  writeFileSync(join(ctx.outDir, "summary.json"), `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(join(ctx.outDir, "samples.csv"), samplesCsv(e));
  writeFileSync(join(ctx.outDir, "report.md"), markdown(json, e, figures));
  meta["warnings"] = warnings.length;
  meta["samples"] = n;
  return {
    heatmaps: { files: heatmapFiles, meta: { samples: n, methods: Object.keys(heatmapFiles) } },
    report: { files: { summary: "summary.json", report: "report.md", samples: "samples.csv", ...figures }, meta },
  };
}

function overlap(a: Rect, b: Rect | null): number {
  if (!b) return 0;
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

function setMeta(meta: JsonObject, path: string[], value: number): void {
  let node = meta;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as JsonObject;
  node[path.at(-1)!] = Number.isFinite(value) ? value : null;
}

function outcomeTitle(o: Outcome, names: string[]): string {
  const [neg, pos] = [names[0]!, names[1]!];
  return { TP: `${pos} as ${pos}`, TN: `${neg} as ${neg}`, FP: `${neg} as ${pos}`, FN: `${pos} as ${neg}` }[o];
}

/** Panels of the samples the stream predicts as class 0, most confident first, `window` at a time (at most 8 windows). */
function negativeWindows(e: Explained, maps: StreamMaps, stream: Stream, window: number): (Panel | null)[] {
  const side = e.arch.input_size;
  const negatives = e.samples
    .map((s, i) => ({ i, v: s.streams[stream] }))
    .filter(({ i, v }) => v.predicted === 0 && maps.reasons[i] === null)
    .sort((a, b) => b.v.confidence - a.v.confidence);
  const panels: (Panel | null)[] = [];
  for (let start = 0; start < negatives.length && panels.length < 8; start += window) {
    const part = negatives.slice(start, start + window);
    const g = groupMean(maps, e.backgrounds, part.map((p) => p.i), side);
    const p = panel(g, `P ${part[0]!.v.confidence.toFixed(2)}-${part.at(-1)!.v.confidence.toFixed(2)}`);
    panels.push(p);
  }
  return panels.length ? panels : [null];
}
