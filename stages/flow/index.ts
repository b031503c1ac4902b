/**
 * flow: per subsample, Farneback optical flow between consecutive kept frames, quantised to
 * uint8 per channel (optionally through JPEG), with the spatial stream's frame. See README.md.
 */
import { join } from "node:path";
import type { InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { fileNames, mainFile } from "../../lib/main-file.js";

const flow = {
  name: "flow",
  version: 1,
  description: "Per subsample: Farneback optical flow between consecutive kept frames (x, y interleaved), quantised to uint8, and the spatial frame",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      pyr_scale: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.8, description: "Farneback: image scale between pyramid levels (ratio < 1; the paper: 0.8)." },
      levels: { type: "integer", minimum: 0, default: 10, description: "Farneback: pyramid levels below full resolution (the paper: 10; 0 = none); OpenCV drops levels smaller than 32 pixels (9 remain at 256 pixels)." },
      winsize: { type: "integer", minimum: 1, default: 10, description: "Farneback: averaging window (pixels; the paper: 10)." },
      iterations: { type: "integer", minimum: 1, default: 10, description: "Farneback: iterations per pyramid level (the paper: 10)." },
      poly_n: { type: "integer", minimum: 1, default: 13, description: "Farneback: neighbourhood of the polynomial expansion (pixels; the paper: 13)." },
      poly_sigma: { type: "number", exclusiveMinimum: 0, default: 1.8, description: "Farneback: standard deviation of the Gaussian weighting the expansion (pixels; the paper: 1.8)." },
      flags: { type: "integer", enum: [0, 256], default: 0, description: "Farneback flags: 0 (box window; the paper) or 256 (OPTFLOW_FARNEBACK_GAUSSIAN: Gaussian window, slower)." },
      pair_stride: {
        type: "integer", minimum: 1, default: 1,
        description: "Compute the flow of every n-th pair of kept frames only (pairs 0, n, 2n, ...; each still between two consecutive kept frames). 1: all pairs (the paper). The train stage's architecture.flow_stride must be a multiple of it: set it to what the network reads (the default pipeline: 5, five times less flow to compute).",
      },
      clip_px: {
        type: ["number", "null"], exclusiveMinimum: 0, default: null,
        description: "Clamp each flow component to +-clip_px pixels per frame pair before quantising; null: no clamp (the paper). Farneback puts spurious vectors of tens to hundreds of pixels into the textureless agarose beside a fast tail, and min-max quantisation then rounds the body's sub-pixel motion away. The default pipeline: 2, so that a corner's 1 px of motion is not drowned by the tail's 10-20 px (stages/explain/README.md).",
      },
      jpeg_quality: {
        type: ["integer", "null"], minimum: 1, maximum: 100, default: null,
        description: "JPEG quality (1..100) each quantised flow channel goes through, as in the paper's storage (40); the decoded pixels are stored. null: no JPEG, lossless uint8.",
      },
      gzip: { type: "integer", minimum: 0, maximum: 9, default: 9, description: "gzip level of the sample file (0 = none, 9 = smallest; the paper: 9)." },
    },
  },
  inputs: { subsamples: { type: "collection", each: true, description: "subsamples (subsample.subsamples): HDF5 `frames` [kept, rows, cols] with attribute `spatial_index`" } },
  outputs: { samples: { type: "collection", description: "per subsample, HDF5 `flow` uint8 [2 x pairs, rows, cols], `flow_range` float32 [2 x pairs, 2], `spatial` uint8 [rows, cols]" } },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const item = inputs.subsamples;
    const path = mainFile(item, "frames");
    if (!path) throw new Error(`flow: subsample ${item.id} has no "frames" file (it has: ${fileNames(item)}): feed subsample.subsamples`);
    const [{ readSubsampleFile, writeFlowSample }, { loadOpenCV }, { FarnebackFlow }, { clipFlow, quantiseFlowPair }] = await Promise.all([
      import("../../lib/flow/files.js"), import("../../lib/cv/opencv.js"), import("../../lib/flow/farneback.js"), import("../../lib/flow/quantise.js"),
    ]);
    const s = await readSubsampleFile(path).catch((error: Error) => {
      throw new Error(`flow: subsample ${item.id}: ${error.message}`);
    });
    if (s.count < 2) throw new Error(`flow: subsample ${item.id} holds ${s.count} frame(s); flow needs at least 2: raise the subsample stage's keep`);

    const { rows, cols } = s;
    const plane = rows * cols;
    const pairs = s.count - 1;
    const stride = params.pair_stride;
    const computed = Math.ceil(pairs / stride);
    const stack = new Uint8Array(2 * computed * plane);
    const range = new Float32Array(4 * computed);
    const { pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags } = params;
    const farnebackParams = { pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags };
    const cv = await loadOpenCV();
    const farneback = new FarnebackFlow(cv, rows, cols, farnebackParams);
    const field = new Float32Array(2 * plane);
    try {
      for (let j = 0; j < computed; j++) {
        if (ctx.signal.aborted) throw new Error(`flow: subsample ${item.id}: cancelled`);
        const k = j * stride;
        farneback.pair(s.frames.subarray(k * plane, (k + 1) * plane), s.frames.subarray((k + 1) * plane, (k + 2) * plane), field);
        if (params.clip_px !== null) clipFlow(field, params.clip_px);
        quantiseFlowPair(field, j, stack, range);
        ctx.progress(j + 1, computed);
      }
    } catch (error) {
      const message = (error as Error).message;
      throw message.startsWith("flow: ") ? error : new Error(`flow: subsample ${item.id}: ${message}`);
    } finally {
      farneback.delete();
    }

    if (params.jpeg_quality !== null) {
      const { jpegRoundTrip } = await import("../../lib/flow/jpeg.js");
      // In place: each 8x8 block is read before it is written.
      for (let c = 0; c < 2 * computed; c++) {
        ctx.signal.throwIfAborted();
        const channel = stack.subarray(c * plane, (c + 1) * plane);
        jpegRoundTrip(channel, rows, cols, params.jpeg_quality, channel);
      }
    }

    const spatial = s.frames.slice(s.spatialIndex * plane, (s.spatialIndex + 1) * plane);
    await writeFlowSample(join(ctx.outDir, "sample.h5"), { flow: stack, range, spatial, channels: 2 * computed, rows, cols }, params.gzip, {
      indices: s.indices,
      subsample_pairs: pairs,
      pair_stride: stride,
      // 0: no clamp (an attribute cannot be null).
      clip_px: params.clip_px ?? 0,
      spatial_index: s.spatialIndex,
      // 0: no JPEG (an attribute cannot be null).
      jpeg_quality: params.jpeg_quality ?? 0,
      farneback: JSON.stringify(farnebackParams),
    }, { signal: ctx.signal });
    // flow_pairs: the subsample's pairs, what the network's flow_stride counts in; the file holds
    // every pair_stride-th of them.
    return { samples: { files: { sample: "sample.h5" }, meta: { flow_pairs: pairs, pair_stride: stride, jpeg_quality: params.jpeg_quality } } };
  },
} as const;

export type FlowParams = ParamsOf<typeof flow.params>;
export default flow satisfies StageKind;
