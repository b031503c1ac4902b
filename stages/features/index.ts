/**
 * features: per event, the five tail features of Semmelhack et al. (2014) from its tail points
 * (tailfit, or tailpoints for DeepLabCut / SLEAP tracks). See README.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";

const features = {
  name: "features",
  version: 1,
  description: "Per event: the five tail features of Semmelhack et al. (2014) (curvature, tail-angle peaks, tip angle, tail angle, tip position)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      peak_delta_deg: {
        type: "number", exclusiveMinimum: 0, default: 4,
        description: "Peak detection threshold on the tail angle (deg): an extremum counts once the angle has moved this far back from it (the paper: 4).",
      },
      series: {
        type: "boolean", default: true,
        description: "Also write the per-frame tail angle, curvature, tip angle and tip position into features.json (for plots; about 5 KB per event).",
      },
    },
  },
  inputs: {
    tails: { type: "collection", each: true, description: "tail points per event: tailfit.tails or tailpoints.tails (`points`: JSON tail-points/1; failed items pass through)" },
  },
  outputs: {
    features: { type: "collection", description: "per event: `features` JSON (names, vector, features by name; or status failed with the reason)" },
  },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const item = inputs.tails;
    const out = join(ctx.outDir, "features.json");
    if (item.meta["tailfit"] === "failed") {
      const reason = String(item.meta["reason"] ?? "tail fitting failed");
      writeFileSync(out, `${JSON.stringify({ id: item.id, status: "failed", reason }, null, 2)}\n`);
      return { features: { files: { features: "features.json" } } };
    }
    const path = item.files["points"];
    if (!path) {
      throw new Error(`features: ${item.id} has no "points" file (it has: ${Object.keys(item.files).join(", ") || "none"}): feed tailfit.tails or tailpoints.tails`);
    }
    const { readTailPoints } = await import("../../lib/tail/points-file.js");
    const { eventFeatures, featureVector, FEATURE_NAMES } = await import("../../lib/tail/features.js");
    const tail = readTailPoints(path, `features: ${item.id}`);
    if (tail.points < 3) throw new Error(`features: ${item.id} has ${tail.points} tail points per frame; the features need at least 3 (base, middle, tip)`);
    const { features: f, series } = eventFeatures(tail.xy, tail.frames, tail.points, tail.axisDeg, params.peak_delta_deg);
    const round = (v: number): number => Number(v.toPrecision(6));
    const body = {
      id: item.id,
      status: "ok",
      names: FEATURE_NAMES,
      vector: featureVector(f),
      features: f,
      frames: tail.frames,
      points: tail.points,
      source: tail.source,
      ...(params.series
        ? { series: { angle_deg: series.angle.map(round), sumangle_deg: series.sumangle.map(round), tipangle_deg: series.tipangle.map(round), tip_position: series.tipPosition.map(round) } }
        : {}),
    };
    writeFileSync(out, `${JSON.stringify(body)}\n`);
    ctx.progress(1, 1);
    return { features: { files: { features: "features.json" }, meta: { tailfit: "ok" } } };
  },
} as const;

export type FeaturesParams = ParamsOf<typeof features.params>;
export default features satisfies StageKind;
