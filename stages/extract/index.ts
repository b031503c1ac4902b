/**
 * extract: per recording, the paper's crop (anchored on the swim bladder in the first frame) and
 * its motion-based cutting of events; a report (JSON and a picture) per recording. See README.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InputsOf, ItemOut, JsonObject, StageContext, StageKind } from "../../engine/stage-api.js";
import type { Video } from "../../lib/video/types.js";
import { PARAMS_SCHEMA, resolve, type ExtractParams } from "./params.js";

export type { ExtractParams } from "./params.js";

/**
 * The recording's frames: HDF5 (read, synthesize) or the uncompressed AVI synthesize can write,
 * told apart by their first bytes (files in the engine's store have no extension).
 */
async function loadVideo(path: string, meta: JsonObject): Promise<Video> {
  const fps = typeof meta["fps"] === "number" && meta["fps"] > 0 ? meta["fps"] : undefined;
  const { sniffFormat, readRecording } = await import("../../lib/video/read.js");
  const format = sniffFormat(path);
  if (format === "hdf5") {
    const { readHdf5Video } = await import("../../lib/video/hdf5.js");
    return readHdf5Video(path, { dataset: "video", fps });
  }
  if (format === "avi") {
    const { readAviVideo } = await import("../../lib/video/avi-reader.js");
    try {
      const v = readAviVideo(path);
      return { ...v, fps: fps ?? v.fps };
    } catch {
      // Not the uncompressed grey AVI synthesize writes: FFmpeg reads the rest.
    }
  }
  return (await readRecording(path, { format: "ffmpeg", fps })).video;
}

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/** What to tell a person about a recording without a detected bout, or null when there was one. */
function describeNoBout(noBout: boolean, reason: string, e: { length: number; fallbackWindow: boolean }): string | null {
  if (!noBout) return null;
  const what = `no bout detected (${reason})`;
  return e.fallbackWindow
    ? `${what}: one FALLBACK event from frame 0 to ${e.length} (events.fallback_window: true); it holds no detected bout`
    : `${what}: no event from this recording; look at its preview.png, tune motion.*, or set events.fallback_window: true for the paper's frame-0 window`;
}

const extract = {
  name: "extract",
  version: 2,
  description: "Per recording: crop around the swim bladder found in the first frame, normalise each frame, and cut 150-frame events where the tail moves (Breier & Onken 2020); a report per recording",
  params: PARAMS_SCHEMA,
  inputs: { recordings: { type: "collection", each: true, description: "recordings (read, synthesize): `video` HDF5 [frames, rows, cols] uint8, meta fps and orientation" } },
  outputs: {
    events: {
      type: "collection",
      description: "per recording, items ev00, ev01, ...: `frames` HDF5 [length, crop rows, crop cols] uint8, cropped, min-max normalised per frame, not masked; attributes start, end, onset (-1: none), fps; meta recording, start, end, onset, run, crop, mirrored",
    },
    reports: {
      type: "collection",
      description: "one per recording: `report` JSON (crop, bladder, gamma, the tail's length, motion, events with onsets, dropped detections, no_bout, the per-frame trace and threshold) and `preview` PNG (first frame with crop and bladder, the motion time line); meta events, no_bout, fallback_window",
    },
  },

  async run(ctx: StageContext, params: ExtractParams, inputs: InputsOf<typeof this.inputs>) {
    const item = inputs.recordings;
    const id = item.id;
    const fail = (message: string): Error => new Error(`extract: recording ${id}: ${message}`);
    const path = item.files["video"];
    if (!path) throw fail(`no "video" file (it has: ${Object.keys(item.files).join(", ") || "none"}): feed the recordings of read or synthesize`);

    const [{ detectBladder, bladderParams }, { detect }, { cropVideo, normalizeFrames, resizeVideo }, { frameAt }, { mirrorX }, { writeHdf5Arrays }, { encodeRgbPng }, { drawPreview }, fitCrop] =
      await Promise.all([
        import("../../lib/detect/bladder.js"), import("./detect.js"), import("../../lib/video/transform.js"), import("../../lib/video/types.js"),
        import("../../lib/image/ops.js"), import("../../lib/video/hdf5.js"), import("../../lib/video/png.js"), import("./preview.js"), import("./fit-crop.js"),
      ]);

    const video = await loadVideo(path, item.meta).catch((e: Error) => { throw fail(e.message); });
    let p;
    try {
      p = resolve(params, video.fps, item.meta["orientation"]);
    } catch (e) {
      throw fail((e as Error).message);
    }
    ctx.progress(1, 10);

    // The crop: computed once, on the first frame (the paper).
    const first = frameAt(video, 0);
    const bladder = await detectBladder(first, video.rows, video.cols, p.bladder);
    if (!bladder.found && params.on_missing_bladder === "fail") {
      throw fail(
        `no swim bladder on the first frame: ${bladder.reason}. Check the orientation (${p.orientation}), raise bladder.threshold (now ${params.bladder.threshold}) ` +
          `if the bladder is lighter than the paper's, or set on_missing_bladder: centre to crop the frame's centre`,
      );
    }
    // The fish's scale: the resting tail's reach, and with crop_size auto the crop that holds it.
    const bp = bladderParams(p.bladder);
    const tail = fitCrop.measureTail(video, bladder, bp, params.auto_crop.margin);
    const auto = params.crop_size === "auto";
    const fitted = auto ? fitCrop.autoCrop(bladder, tail, video.rows, video.cols, bp) : null;
    if (auto && !fitted) ctx.log(`warning: ${id}: crop_size auto: no tail traced from the bladder; the crop is ${params.auto_crop.output_size} px`);
    const crop = fitted ?? bladder.crop;
    const requested = fitted ? tail.fitting_size! : bp.cropWidth;
    const pastCrop = fitCrop.tailPastCrop(tail, crop, bp);
    const tailWarning = fitCrop.tailWarning(tail, pastCrop, crop, auto);
    if (tailWarning) ctx.log(`warning: ${id}: ${tailWarning}`);
    const mirrored = p.orientation === "head-right" && params.mirror_head_right;
    const shrunk = crop.width < requested || crop.height < requested;
    if (shrunk) ctx.log(`${id}: the frame (${video.cols}x${video.rows}) is smaller than the ${requested}-px crop: the crop is ${crop.width}x${crop.height}`);

    // With a fitted crop, every recording's events come out at the same size.
    const scale = fitted ? params.auto_crop.output_size / crop.width : 1;
    const raw = fitted
      ? await resizeVideo(cropVideo(video, crop), params.auto_crop.output_size, Math.max(1, Math.round(crop.height * scale)))
      : cropVideo(video, crop);
    const cropped = normalizeFrames(raw);
    const [rows, cols] = [cropped.rows, cropped.cols];
    const size = rows * cols;
    if (mirrored) {
      const flipped = new Uint8Array(cropped.frames.length);
      for (let i = 0; i < cropped.count; i++) mirrorX(cropped.frames.subarray(i * size, (i + 1) * size), cols, flipped.subarray(i * size, (i + 1) * size));
      cropped.frames = flipped;
    }
    ctx.progress(2, 10);

    // Detection sees rows only (the tail's band) and symmetric filters: mirroring changes nothing.
    const tailRow = bladder.found ? (bladder.y - crop.top) * scale : (rows - 1) / 2;
    // Detection is the long part: its progress calls are where a cancelled task stops.
    const cut = await detect(raw, cropped, tailRow, p, (done, total) => {
      ctx.signal.throwIfAborted();
      ctx.progress(2 + (5 * done) / total, 10);
    });

    const cropMeta = { top: crop.top, left: crop.left, width: crop.width, height: crop.height };
    const items: ItemOut[] = [];
    for (const [k, e] of cut.events.entries()) {
      if (ctx.signal.aborted) throw fail("cancelled");
      const sub = `ev${String(k).padStart(2, "0")}`;
      const file = `${sub}.h5`;
      await writeHdf5Arrays(
        join(ctx.outDir, file),
        [{ name: "frames", data: cropped.frames.subarray(e.start * size, e.end * size), shape: [e.end - e.start, rows, cols], dtype: "<B", chunks: [1, rows, cols], gzip: params.gzip }],
        { start: e.start, end: e.end, onset: e.onset ?? -1, run: e.run, fps: video.fps, crop: [crop.top, crop.left, crop.width, crop.height], mirrored: mirrored ? 1 : 0, recording: id },
        { signal: ctx.signal },
      );
      items.push({
        id: sub,
        files: { frames: file },
        meta: {
          recording: id, event: k, start: e.start, end: e.end, onset: e.onset, run: e.run, fallback: e.onset === null,
          crop: cropMeta, mirrored, frames: e.end - e.start, rows, cols, ...(fitted ? { scale: round6(scale) } : {}),
        },
      });
      ctx.progress(7 + (2 * (k + 1)) / cut.events.length, 10);
    }

    const noBout = describeNoBout(cut.noBout, cut.noBoutReason, p.events);
    const report = {
      recording: id,
      class: item.meta["class"] ?? null,
      label: item.meta["label"] ?? null,
      frames: video.count,
      rows: video.rows,
      cols: video.cols,
      fps: video.fps,
      orientation: p.orientation,
      mirrored,
      bladder: {
        found: bladder.found, x: bladder.x, y: bladder.y, gamma: bladder.gamma, skewness: bladder.skewness,
        contours: bladder.contours, small_contours: bladder.smallContours, ...(bladder.reason ? { reason: bladder.reason } : {}),
      },
      crop: {
        ...cropMeta, requested: params.crop_size === "auto" ? `auto: ${requested}` : requested, shrunk_to_frame: shrunk,
        ...(fitted ? { resized_to: [cols, rows], scale: round6(scale) } : {}),
        tail: { ...tail, past_crop: pastCrop },
      },
      motion: cut.report,
      durations: p.durations,
      no_bout: cut.noBout,
      fallback: noBout,
      events: cut.events.map((e, k) => ({ id: items[k]!.id, start: e.start, end: e.end, onset: e.onset, run: e.run, fallback: e.onset === null })),
      dropped: cut.dropped,
      // What decided: the per-frame statistic and its threshold, for the run's contact sheet.
      trace: { statistic: cut.trace.statistic, threshold: round6(cut.trace.threshold), values: Array.from(cut.trace.values, (v) => round6(v)) },
    };
    writeFileSync(join(ctx.outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    const picture = drawPreview({
      frame: first, rows: video.rows, cols: video.cols, crop, bladder, changed: cut.trace.values, changeFraction: cut.trace.threshold,
      moving: cut.moving, events: cut.events, dropped: cut.dropped, title: `${id.split("/").slice(-2).join("/")} ${video.count} FRAMES ${video.fps} FPS ${p.orientation}`,
    });
    writeFileSync(join(ctx.outDir, "preview.png"), encodeRgbPng(picture.pixels, picture.width, picture.height));
    ctx.progress(10, 10);
    if (noBout) ctx.log(`warning: ${id}: ${noBout}`);
    const dropped = cut.dropped.length ? `; dropped ${cut.dropped.map((d) => `onset ${d.onset ?? "-"} (${d.reason})`).join(", ")}` : "";
    const found = cut.events.filter((e) => e.onset !== null).map((e) => `onset ${e.onset} (window from ${e.start})`).join(", ");
    ctx.log(`${id}: crop ${crop.width}x${crop.height} at (${crop.left}, ${crop.top}), ${cut.events.length} events${found ? `: ${found}` : ""}${dropped}`);

    return {
      events: { items },
      reports: {
        files: { report: "report.json", preview: "preview.png" },
        meta: { events: items.length, dropped: cut.dropped.length, crop: cropMeta, no_bout: cut.noBout, fallback_window: cut.noBout && items.length > 0 },
      },
    };
  },
} as const;

export default extract satisfies StageKind;
