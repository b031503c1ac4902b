/**
 * The files of the `subsamples` and `samples` collections (docs/artifacts.md): writers for the
 * subsample and flow stages, readers for the stages downstream and for tests.
 */
import { writeHdf5Arrays } from "../video/hdf5.js";
import { readHdf5Arrays, type AttributeRead } from "./hdf5-io.js";
import type { AttributeValue, WriteOptions } from "../video/hdf5.js";

/** A subsample: the kept frames of an event, in order. */
export interface Subsample {
  /** [count, rows, cols] uint8. */
  frames: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  /** Kept frames' indices into the event, increasing. */
  indices: number[];
  /** The spatial stream's frame, an index into the kept frames. */
  spatialIndex: number;
  /** The event's frame rate (frames/s), kept so that video readers accept the file. */
  fps: number;
}

/** Dataset `frames` [count, rows, cols] (one frame per chunk, gzip), root attributes `indices`, `spatial_index`, `framerate`. */
export async function writeSubsampleFile(path: string, s: Subsample, gzip = 4, attrs: Record<string, AttributeValue> = {}, options: WriteOptions = {}): Promise<void> {
  await writeHdf5Arrays(
    path,
    [{ name: "frames", data: s.frames, shape: [s.count, s.rows, s.cols], dtype: "<B", chunks: [1, s.rows, s.cols], gzip }],
    { ...attrs, indices: s.indices, spatial_index: s.spatialIndex, framerate: s.fps },
    options,
  );
}

function numberAttr(attrs: Record<string, AttributeRead>, name: string, path: string): number {
  const v = attrs[name];
  const n = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof n !== "number") throw new Error(`${path} has no numeric root attribute "${name}": rerun the stage that wrote it`);
  return n;
}

export async function readSubsampleFile(path: string): Promise<Subsample> {
  const { arrays, attrs } = await readHdf5Arrays(path, ["frames"]);
  const { data, shape } = arrays["frames"]!;
  if (!(data instanceof Uint8Array) || shape.length !== 3) {
    throw new Error(`dataset "frames" in ${path} must be uint8 [frames, rows, cols], got ${data.constructor.name} [${shape.join(", ")}]`);
  }
  const [count, rows, cols] = shape as [number, number, number];
  const indices = attrs["indices"];
  if (!Array.isArray(indices) || indices.length !== count) {
    throw new Error(`${path}: root attribute "indices" must list the ${count} kept frames' indices: rerun the subsample stage`);
  }
  const spatialIndex = numberAttr(attrs, "spatial_index", path);
  if (!(Number.isInteger(spatialIndex) && spatialIndex >= 0 && spatialIndex < count)) {
    throw new Error(`${path}: spatial_index ${spatialIndex} is not an index into its ${count} frames: rerun the subsample stage`);
  }
  return { frames: data, count, rows, cols, indices: indices as number[], spatialIndex, fps: numberAttr(attrs, "framerate", path) };
}

/** A flow sample: the temporal stream's quantised flow stack and the spatial stream's frame. */
export interface FlowSample {
  /** [channels, rows, cols] uint8; channel 2k = x of pair k, 2k+1 = y (pixels, y downwards). */
  flow: Uint8Array;
  /** [channels, 2] float32: (min, max) per channel; v = min + q / 255 * (max - min). */
  range: Float32Array;
  /** [rows, cols] uint8. */
  spatial: Uint8Array;
  channels: number;
  rows: number;
  cols: number;
}

/** Datasets `flow` (one channel per chunk), `flow_range`, `spatial`, gzip at `gzip`; extra root attributes. */
export async function writeFlowSample(path: string, s: FlowSample, gzip = 9, attrs: Record<string, AttributeValue> = {}, options: WriteOptions = {}): Promise<void> {
  const { channels, rows, cols } = s;
  await writeHdf5Arrays(
    path,
    [
      { name: "flow", data: s.flow, shape: [channels, rows, cols], dtype: "<B", chunks: [1, rows, cols], gzip },
      { name: "flow_range", data: s.range, shape: [channels, 2], dtype: "<f", gzip: 0 },
      { name: "spatial", data: s.spatial, shape: [rows, cols], dtype: "<B", gzip },
    ],
    { ...attrs, flow_pairs: channels / 2 },
    options,
  );
}

export async function readFlowSample(path: string): Promise<FlowSample & { attrs: Record<string, AttributeRead> }> {
  const { arrays, attrs } = await readHdf5Arrays(path, ["flow", "flow_range", "spatial"]);
  const flow = arrays["flow"]!;
  const range = arrays["flow_range"]!;
  const spatial = arrays["spatial"]!;
  if (!(flow.data instanceof Uint8Array) || flow.shape.length !== 3 || flow.shape[0]! % 2 !== 0) {
    throw new Error(`dataset "flow" in ${path} must be uint8 [channels (even), rows, cols], got ${flow.data.constructor.name} [${flow.shape.join(", ")}]`);
  }
  const [channels, rows, cols] = flow.shape as [number, number, number];
  if (!(range.data instanceof Float32Array) || range.shape.join() !== `${channels},2`) {
    throw new Error(`dataset "flow_range" in ${path} must be float32 [${channels}, 2], got ${range.data.constructor.name} [${range.shape.join(", ")}]`);
  }
  if (!(spatial.data instanceof Uint8Array) || spatial.shape.join() !== `${rows},${cols}`) {
    throw new Error(`dataset "spatial" in ${path} must be uint8 [${rows}, ${cols}], got ${spatial.data.constructor.name} [${spatial.shape.join(", ")}]`);
  }
  return { flow: flow.data, range: range.data, spatial: spatial.data, channels, rows, cols, attrs };
}
