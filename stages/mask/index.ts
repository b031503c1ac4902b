/**
 * mask: per event, sets rectangles of every frame to one value (the paper's correction: the two
 * left 85 x 85 corners white). It reads only the events, so changing the mask never reruns
 * extract. See README.md.
 */
import { join } from "node:path";
import type { InputsOf, JsonObject, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import type { Rect } from "../../lib/image/ops.js";
import { describeRegion, PAPER_REGIONS, REGION_SCHEMA, regionRect } from "../../lib/image/regions.js";

/** Attributes extract writes, carried over from the event's meta (the same values). */
function carriedAttributes(meta: JsonObject, fps: number): Record<string, number | string | number[]> {
  const attrs: Record<string, number | string | number[]> = { fps };
  for (const key of ["start", "end", "run"] as const) if (typeof meta[key] === "number") attrs[key] = meta[key];
  if ("onset" in meta) attrs["onset"] = typeof meta["onset"] === "number" ? meta["onset"] : -1;
  if (typeof meta["recording"] === "string") attrs["recording"] = meta["recording"];
  const crop = meta["crop"] as Record<string, number> | undefined;
  if (crop && typeof crop === "object") attrs["crop"] = [crop["top"]!, crop["left"]!, crop["width"]!, crop["height"]!];
  if (typeof meta["mirrored"] === "boolean") attrs["mirrored"] = meta["mirrored"] ? 1 : 0;
  return attrs;
}

const mask = {
  name: "mask",
  version: 1,
  description: "Per event: set rectangles of every frame to a value (the paper's correction: the upper-left and lower-left 85 x 85 corners white)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      regions: {
        type: "array",
        items: REGION_SCHEMA,
        default: PAPER_REGIONS,
        description:
          "Rectangles to set, in pixels of the event's frames: { corner: top-left | bottom-left | top-right | bottom-right, size: N or { width, height } } or { top, left, width, height }; clipped to the frame. " +
          "Default: the paper's two left 85 x 85 corners (of a 256 crop; scale with the crop: ~42 for 128). []: no mask (the paper's run before the correction).",
      },
      value: { type: "integer", minimum: 0, maximum: 255, default: 255, description: "Grey level written into the regions (0..255; the paper: 255, white)." },
      gzip: { type: "integer", minimum: 0, maximum: 9, default: 4, description: "gzip level of the masked event files (0 = none, 9 = smallest)." },
    },
  },
  inputs: { events: { type: "collection", each: true, description: "events (extract.events): `frames` HDF5 [frames, rows, cols] uint8" } },
  outputs: { events: { type: "collection", description: "the same events, same ids, `frames` with the mask applied; meta mask { regions (rectangles), value }" } },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const event = inputs.events;
    const fail = (message: string): Error => new Error(`mask: event ${event.id}: ${message}`);
    const path = event.files["frames"];
    if (!path) throw fail(`no "frames" file (it has: ${Object.keys(event.files).join(", ") || "none"}): feed extract.events`);
    const { readHdf5Video, writeHdf5Arrays } = await import("../../lib/video/hdf5.js");
    const { fillRect } = await import("../../lib/image/ops.js");
    const fps = typeof event.meta["fps"] === "number" ? event.meta["fps"] : undefined;
    const video = await readHdf5Video(path, { dataset: "frames", fps }).catch((e: Error) => { throw fail(e.message); });
    const { rows, cols, count } = video;

    const rects: Rect[] = [];
    for (const region of params.regions) {
      const rect = regionRect(region, rows, cols);
      if (!rect) throw fail(`mask region ${describeRegion(region)} lies outside the ${cols}x${rows} frames: give it in pixels of the event's frames (the crop)`);
      rects.push(rect);
    }
    const size = rows * cols;
    // The frames are ours (just read): mask them in place.
    for (let i = 0; i < count; i++) {
      const frame = video.frames.subarray(i * size, (i + 1) * size);
      for (const rect of rects) fillRect(frame, cols, rect, params.value);
    }
    const maskMeta = { regions: rects.map((r) => ({ ...r })), value: params.value };
    await writeHdf5Arrays(
      join(ctx.outDir, "frames.h5"),
      [{ name: "frames", data: video.frames, shape: [count, rows, cols], dtype: "<B", chunks: [1, rows, cols], gzip: params.gzip }],
      { ...carriedAttributes(event.meta, video.fps), mask: JSON.stringify(maskMeta) },
      { signal: ctx.signal },
    );
    ctx.progress(1, 1);
    return { events: { files: { frames: "frames.h5" }, meta: { mask: maskMeta } } };
  },
} as const;

export type MaskParams = ParamsOf<typeof mask.params>;
export default mask satisfies StageKind;
