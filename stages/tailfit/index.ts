/**
 * tailfit: per event, points along the tail in every frame (Semmelhack et al. 2014), or a reason
 * why the tail could not be fitted. See README.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InputsOf, OutputValue, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { fitOptions, TAILFIT_SCHEMA } from "./params.js";

const PREVIEW_FRAMES = 6;

const tailfit = {
  name: "tailfit",
  version: 1,
  description: "Per event: points along the tail in every frame (Semmelhack et al. 2014's tail fitting), or the reason it failed",
  params: TAILFIT_SCHEMA,
  inputs: {
    events: {
      type: "collection", each: true,
      description: "events of extract (NOT masked: the mask can hide the tip): HDF5 `frames` [frames, crop, crop] uint8; or HDF5 files from a glob (their only 3-D uint8 dataset)",
    },
  },
  outputs: {
    tails: {
      type: "collection",
      description: "per event: `fit` (JSON: status, reason, points) and, when fitted, `points` (JSON tail-points/1); meta `tailfit` ok | failed, `reason`",
    },
  },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>): Promise<Record<string, OutputValue>> {
    const event = inputs.events;
    // extract's events carry `frames`; an HDF5 file fed by a glob is its item's only file (its only 3-D uint8 dataset is read).
    const path = mainFile(event, "frames");
    if (!path) {
      throw new Error(`tailfit: event ${event.id} has no "frames" file (it has: ${fileNames(event)}): feed the events of extract`);
    }
    const dataset = event.files["frames"] ? "frames" : undefined;
    const { readHdf5Video } = await import("../../lib/video/hdf5.js");
    const { fitTail } = await import("../../lib/tail/fit.js");
    const { writeTailPoints } = await import("../../lib/tail/points-file.js");
    const fps = typeof event.meta["fps"] === "number" ? event.meta["fps"] : 300;
    const video = await readHdf5Video(path, { dataset, fps }).catch((error: Error) => {
      throw new Error(`tailfit: event ${event.id}: ${error.message}`);
    });
    const options = fitOptions(params, video.rows, video.cols);
    if (options.startX > video.cols - 1) {
      throw new Error(`tailfit: event ${event.id}: start_x_px ${params.start_x_px} lies outside the ${video.cols}-px-wide crop: lower start_x_px`);
    }
    const fit = fitTail(video.frames, video.count, video.rows, video.cols, options, ctx.signal);
    ctx.progress(1, 1);
    const summary = {
      status: fit.ok ? "ok" : "failed",
      ...(fit.ok ? {} : { reason: fit.reason, frame: fit.frame }),
      frames: video.count,
      points: fit.points,
      step_px: Number(options.step.toFixed(4)),
      start_px: [options.startX, options.startY],
      axis_deg: options.directionDeg,
      ...(fit.ok ? { frames_with_lost_points: fit.framesWithLostPoints, lost_points: fit.lost.reduce((a, b) => a + b, 0) } : {}),
    };
    writeFileSync(join(ctx.outDir, "fit.json"), `${JSON.stringify(summary, null, 2)}\n`);
    if (!fit.ok) {
      ctx.log(`tailfit ${event.id}: failed: ${fit.reason}`);
      return { tails: { files: { fit: "fit.json" }, meta: { tailfit: "failed", reason: fit.reason } } };
    }

    const lost: [number, number][] = [];
    fit.lost.forEach((v, i) => {
      if (v) lost.push([Math.floor(i / fit.points), i % fit.points]);
    });
    writeTailPoints(join(ctx.outDir, "points.json"), {
      source: "tailfit", frames: fit.frames, points: fit.points, axisDeg: options.directionDeg, stepPx: options.step, xy: Float64Array.from(fit.xy), lost,
    });
    const files: Record<string, string> = { fit: "fit.json", points: "points.json" };
    if (params.preview) {
      const { tailPreview } = await import("../../lib/tail/preview.js");
      const { encodeRgbPng } = await import("../../lib/video/png.js");
      const size = video.rows * video.cols;
      const chosen = Array.from({ length: Math.min(PREVIEW_FRAMES, video.count) }, (_, i) => Math.round((i * (video.count - 1)) / Math.max(1, PREVIEW_FRAMES - 1)));
      const sheet = tailPreview(
        chosen.map((f) => ({ pixels: video.frames.subarray(f * size, (f + 1) * size), xy: fit.xy.subarray(f * fit.points * 2, (f + 1) * fit.points * 2) })),
        video.rows, video.cols,
      );
      writeFileSync(join(ctx.outDir, "preview.png"), encodeRgbPng(sheet.pixels, sheet.width, sheet.height));
      files.preview = "preview.png";
    }
    return { tails: { files, meta: { tailfit: "ok", tail_points: fit.points } } };
  },
} as const;

export default tailfit satisfies StageKind;
