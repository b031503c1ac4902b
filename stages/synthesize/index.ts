/**
 * synthesize: renders the built-in dataset, synthetic high-speed recordings of head-fixed larval
 * zebrafish (one task per recording). See README.md for the model, the parameters and the files.
 */
import type { JsonObject, ParamsOf, SplitParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { PARAMS_SCHEMA, recordingId, recordingParams, withDefaults } from "../../lib/synth/params.js";

/** Frames of the recording being rendered: one buffer per worker, reused (fresh memory is slow to touch). */
let frameBuffer: Uint8Array | undefined;

const synthesize = {
  name: "synthesize",
  version: 1,
  description:
    "Renders synthetic high-speed recordings (dorsal view, 300 frames/s) of head-fixed larval zebrafish, one class per recording " +
    "(spontaneous = 0, prey = 1), with ground truth (midline per frame, bouts, artifact) and the paper's agarose artifact",
  params: PARAMS_SCHEMA,
  inputs: {},
  outputs: {
    recordings: {
      type: "collection",
      description:
        "one item per recording (rec000, rec001, ...): `video` (video.h5: dataset `video` frames x rows x cols uint8, root attribute `framerate`; " +
        "or video.avi, uncompressed 8-bit grey), `truth` (truth.h5: `midline` float32 frames x points x 2 in pixels, `artifact_shift` float32 frames x 2, " +
        "`tail_angle` float32 frames), `truth_json` (truth.json: bouts with onset, offset and kinematics; fish geometry; artifact); " +
        "meta: label, class, fps, frames, rows, cols, bouts, bladder_x, bladder_y, px_per_mm, orientation, artifact",
    },
  },

  split(params: ParamsOf<typeof this.params>) {
    const p = withDefaults(params);
    return Array.from({ length: p.recordings }, (_, i) => {
      const item = recordingParams(p, i);
      return { id: recordingId(i), params: item, meta: { label: item.label, class: item.class } };
    });
  },

  async run(ctx: StageContext, itemParams: SplitParamsOf<typeof this.split>) {
    const p = itemParams;
    const [{ renderRecording, recordingFrames }, { writeRecordingFiles }] = await Promise.all([
      import("../../lib/synth/recording.js"),
      import("../../lib/synth/output.js"),
    ]);
    const frames = recordingFrames(p);
    const need = frames * p.width * p.height;
    if (!frameBuffer || frameBuffer.length < need) frameBuffer = new Uint8Array(Math.ceil(need * 1.2));
    const result = renderRecording(p, {
      signal: ctx.signal,
      buffer: frameBuffer,
      progress: (done, total) => ctx.progress(done, total + Math.ceil(total / 4)),
    });
    const id = ctx.itemId ?? recordingId(p.index);
    result.truth.id = id;
    const files = await writeRecordingFiles(ctx.outDir, result, p.format, p.gzip, ctx.signal);
    ctx.progress(1, 1);
    const t = result.truth;
    ctx.log(`${id}: ${t.class}, ${t.frames} frames, ${t.bouts.length} bouts${t.artifact.active ? ", artifact on" : ""}`);
    const meta: JsonObject = {
      label: t.label,
      class: t.class,
      fps: t.fps,
      frames: t.frames,
      rows: t.rows,
      cols: t.cols,
      bouts: t.bouts.length,
      bladder_x: t.fish.bladder_end_px[0],
      bladder_y: t.fish.bladder_end_px[1],
      px_per_mm: t.px_per_mm,
      orientation: t.orientation,
      artifact: t.artifact.active,
      format: p.format,
    };
    return { recordings: { files, meta } };
  },
} as const;

export default synthesize satisfies StageKind;
