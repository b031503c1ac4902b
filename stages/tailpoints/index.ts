/**
 * tailpoints: per DeepLabCut or SLEAP CSV of tracked tail points, the same tail points file that
 * tailfit writes, so that `features` and `svm` run on them. See README.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import type { InputsOf, JsonObject, OutputValue, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { fileNames, mainFile } from "../../lib/main-file.js";

const tailpoints = {
  name: "tailpoints",
  version: 1,
  description: "Per CSV of tail points tracked with DeepLabCut or SLEAP: tail points in tailfit's format (for features)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      format: { type: "string", enum: ["auto", "deeplabcut", "sleap"], default: "auto", description: "CSV flavour; auto: DeepLabCut when the first cell is `scorer`, SLEAP when a `frame_idx` column exists." },
      bodyparts: {
        type: ["array", "null"], items: { type: "string" }, minItems: 3, default: null,
        description: "Body parts (SLEAP: nodes) along the tail from its base to its tip; null: all of them, in the file's column order.",
      },
      individual: { type: ["string", "null"], default: null, description: "DeepLabCut multi-animal individual or SLEAP track to read; null: the file's only one." },
      min_likelihood: {
        type: "number", minimum: 0, maximum: 1, default: 0.6,
        description: "Points with a lower likelihood (DeepLabCut) or score (SLEAP) count as missing and are interpolated over time from the same body part.",
      },
      max_missing_fraction: {
        type: "number", minimum: 0, maximum: 1, default: 0.1,
        description: "An event with more missing points than this fraction of all its points fails (tail lost), as a failed tail fit does.",
      },
      axis_deg: {
        type: ["number", "null"], default: null,
        description: "Body axis in the video (deg; 0 = +x, 90 = down): tail angles are measured from it. null: the resting tail's direction in the event's first frame.",
      },
    },
  },
  inputs: {
    tracks: { type: "collection", each: true, description: "CSV exports of tracked tail points, one event per file (e.g. `{ glob: \"tracks/*.csv\" }`)" },
    labels: { type: "artifact", optional: true, description: "CSV `file,label[,recording]` (label 0 spontaneous, 1 prey): what svm learns; recording defaults to the file's name" },
  },
  outputs: {
    tails: { type: "collection", description: "per CSV: `points` (JSON tail-points/1) and `fit` (JSON); meta `tailfit` ok | failed, `reason`, `label`, `recording`" },
  },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>): Promise<Record<string, OutputValue>> {
    const item = inputs.tracks;
    const path = mainFile(item, "data");
    if (!path) throw new Error(`tailpoints: ${item.id} has no CSV file (it has: ${fileNames(item)}): feed CSV files with { glob: "tracks/*.csv" }`);
    const { readTracks } = await import("../../lib/tail/tracks-csv.js");
    const { tracksToTailPoints } = await import("../../lib/tail/tracks-points.js");
    const { writeTailPoints } = await import("../../lib/tail/points-file.js");
    const { readLabels, labelFor } = await import("./labels.js");

    const meta: JsonObject = {};
    const labelsIn = inputs.labels;
    const labelsPath = labelsIn ? mainFile(labelsIn, "data") : undefined;
    if (labelsIn && !labelsPath) throw new Error(`tailpoints: the labels input holds no one CSV file (it has: ${fileNames(labelsIn)}): give it as labels: { file: labels.csv }`);
    if (labelsPath) {
      const found = labelFor(readLabels(labelsPath), item.id);
      if (!found) throw new Error(`tailpoints: the labels file has no row for ${item.id}: add a row "${basename(item.id)},<0|1>" (0 spontaneous, 1 prey)`);
      meta.label = found.label;
      meta.class = found.label === 1 ? "prey" : "spontaneous";
      if (found.recording) meta.recording = found.recording;
    }
    meta.recording ??= basename(item.id, extname(item.id));

    const what = `tailpoints: ${item.id}`;
    const tracks = readTracks(readFileSync(path, "utf8"), { bodyparts: params.bodyparts, individual: params.individual }, params.format, what);
    const result = tracksToTailPoints(tracks, { minScore: params.min_likelihood, maxMissingFraction: params.max_missing_fraction, axisDeg: params.axis_deg });
    const summary = {
      status: result.ok ? "ok" : "failed",
      ...(result.ok ? {} : { reason: result.reason }),
      format: tracks.format, frames: tracks.frames, points: tracks.parts.length, bodyparts: tracks.parts, missing_points: result.missing,
      ...(result.ok ? { axis_deg: Number(result.tail.axisDeg.toFixed(3)) } : {}),
    };
    writeFileSync(join(ctx.outDir, "fit.json"), `${JSON.stringify(summary, null, 2)}\n`);
    ctx.progress(1, 1);
    if (!result.ok) {
      ctx.log(`${what}: failed: ${result.reason}`);
      return { tails: { files: { fit: "fit.json" }, meta: { ...meta, tailfit: "failed", reason: result.reason } } };
    }
    writeTailPoints(join(ctx.outDir, "points.json"), result.tail);
    return { tails: { files: { fit: "fit.json", points: "points.json" }, meta: { ...meta, tailfit: "ok", tail_points: tracks.parts.length } } };
  },
} as const;

export type TailpointsParams = ParamsOf<typeof tailpoints.params>;
export default tailpoints satisfies StageKind;
