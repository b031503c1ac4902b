/**
 * subsample: per event, `count` subsamples of `keep` of its frames with no more than 2
 * consecutive frames omitted, and one kept frame for the spatial stream. See README.md.
 */
import { join } from "node:path";
import type { InputsOf, ItemOut, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { checkSubsampleSize, chooseSubsample, longestOmittedRun, MAX_OMITTED_RUN, subsampleSeed } from "./select.js";

const subsample = {
  name: "subsample",
  version: 1,
  description: "Per event: subsamples of its frames (no more than 2 consecutive omitted), each with one frame for the spatial stream",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      count: {
        type: "integer", minimum: 1, default: 2,
        description: "Subsamples per event (the paper: 8). Each is its own item s0, s1, ... with its own seed, so raising count leaves the earlier ones unchanged.",
      },
      frames: {
        type: ["integer", "null"], minimum: 2, default: 150,
        description: "Frames every event must have (the paper: 150); an event of another length fails with a message. null: take each event's own length.",
      },
      keep: {
        type: "integer", minimum: 2, default: 86,
        description: "Frames kept per subsample (the paper: 86 of 150, giving 85 flow frames); at least half the event's frames (rounded up) and at most all of them.",
      },
      gzip: { type: "integer", minimum: 0, maximum: 9, default: 4, description: "gzip level of the subsample files (0 = none, 9 = smallest)." },
    },
  },
  inputs: { events: { type: "collection", each: true, description: "events (extract.events or mask.events): HDF5 `frames` [frames, rows, cols] uint8" } },
  outputs: { subsamples: { type: "collection", description: "per event, items s0..s{count-1}: HDF5 `frames` [keep, rows, cols] with attributes `indices`, `spatial_index`" } },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const event = inputs.events;
    // `frames` as extract and mask name it; a lone file of another name (a glob of event files) will do.
    const path = mainFile(event, "frames");
    if (!path) {
      throw new Error(`subsample: event ${event.id} has no "frames" file (it has: ${fileNames(event)}): feed the events of extract or mask, or one HDF5 file per item`);
    }
    const { readHdf5Video } = await import("../../lib/video/hdf5.js");
    const { writeSubsampleFile } = await import("../../lib/flow/files.js");
    const fps = typeof event.meta["fps"] === "number" ? event.meta["fps"] : undefined;
    const video = await readHdf5Video(path, { dataset: "frames", fps }).catch((error: Error) => {
      throw new Error(`subsample: event ${event.id}: ${error.message}`);
    });
    const length = video.count;
    if (params.frames !== null && length !== params.frames) {
      throw new Error(`subsample: event ${event.id} has ${length} frames, expected ${params.frames}: set the subsample stage's frames to ${length} (or null to accept any length), or check the event length of extract`);
    }
    try {
      checkSubsampleSize(length, params.keep);
    } catch (error) {
      throw new Error(`subsample: event ${event.id}: ${(error as Error).message}`);
    }

    const plane = video.rows * video.cols;
    const items: ItemOut[] = [];
    for (let i = 0; i < params.count; i++) {
      if (ctx.signal.aborted) throw new Error(`subsample: event ${event.id}: cancelled`);
      const { indices, spatialIndex } = chooseSubsample(subsampleSeed(ctx.seed, i), length, params.keep);
      // A cheap guard on the one promise this stage makes.
      if (longestOmittedRun(indices, length) > MAX_OMITTED_RUN) throw new Error(`subsample: internal error: subsample ${i} of ${event.id} omits more than ${MAX_OMITTED_RUN} consecutive frames`);
      const frames = new Uint8Array(indices.length * plane);
      indices.forEach((f, k) => frames.set(video.frames.subarray(f * plane, (f + 1) * plane), k * plane));
      const file = `s${i}.h5`;
      await writeSubsampleFile(join(ctx.outDir, file), { frames, count: indices.length, rows: video.rows, cols: video.cols, indices, spatialIndex, fps: video.fps }, params.gzip, { subsample: i }, { signal: ctx.signal });
      items.push({ id: `s${i}`, files: { frames: file }, meta: { indices, spatial_index: spatialIndex, subsample: i } });
      ctx.progress(i + 1, params.count);
    }
    return { subsamples: { items } };
  },
} as const;

export type SubsampleParams = ParamsOf<typeof subsample.params>;
export default subsample satisfies StageKind;
