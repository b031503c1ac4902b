/**
 * Videos and arrays in HDF5 files, through h5wasm (the HDF5 C library compiled to wasm).
 *
 * Layout (as in the Stytra example and what h5py users expect): a uint8 dataset
 * frames x rows x cols, and a `framerate` attribute on the root group.
 */
import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import h5wasm from "h5wasm/node";
import type { Dataset, File as H5File, Group } from "h5wasm/node";
import { sixteenToEight, type SixteenBit } from "./frames.js";
import { assertVideo, type Video } from "./types.js";

type H5Module = Awaited<typeof h5wasm.ready> & {
  activate_throwing_error_handler(): number;
  deactivate_throwing_error_handler(): number;
};

let ready: Promise<H5Module> | undefined;
function h5(): Promise<H5Module> {
  ready ??= h5wasm.ready as Promise<H5Module>;
  return ready;
}

/**
 * Runs `body` with HDF5 errors thrown (not printed to stderr and signalled by -1). The handler
 * is process-wide state of the wasm module, so it is switched on for our calls only.
 */
function throwingErrors<T>(mod: H5Module, body: () => T): T {
  mod.activate_throwing_error_handler();
  try {
    return body();
  } finally {
    mod.deactivate_throwing_error_handler();
  }
}

/** The innermost cause of an HDF5 error stack: its last "#NNN: ... in func(): message" line. */
function hdf5Cause(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)$/gm)].map((m) => m[1]!.trim());
  return lines.at(-1) ?? text.split("\n")[0]!;
}

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5 files start with a signature at byte 0, 512, 1024, 2048, ... (after a user block). */
function hasHdf5Signature(path: string, size: number): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      if (readSync(fd, head, 0, 8, offset) === 8 && head.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Checks that `path` is an existing HDF5 file, with errors that say what to do. */
function checkHdf5File(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error(`${path} is not a regular file: give the path of an .h5 file`);
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`HDF5 file ${path} does not exist: check the path (relative paths start at ${process.cwd()})`);
    }
    throw error;
  }
  if (!hasHdf5Signature(path, size)) {
    throw new Error(`${path} is not an HDF5 file (no HDF5 signature in its ${size} bytes): convert the video to HDF5 first (frames x rows x cols uint8)`);
  }
}

async function openFile(path: string): Promise<{ mod: H5Module; file: H5File }> {
  checkHdf5File(path);
  const mod = await h5();
  try {
    return { mod, file: throwingErrors(mod, () => new h5wasm.File(path, "r")) };
  } catch (error) {
    const cause = hdf5Cause(error);
    const hint = /truncat/i.test(cause) ? "the file is incomplete (an interrupted copy or write?): copy or write it again" : "the file may be damaged";
    throw new Error(`cannot open HDF5 file ${path}: ${cause}; ${hint}`);
  }
}

interface DatasetInfo {
  path: string;
  shape: number[];
  dtype: string;
  /** uint8 or uint16, frames x rows x cols (or frames x rows x cols x 1, as image libraries write grey). */
  isVideo: boolean;
  sixteen: boolean;
}

function describe(file: H5File, path: string): DatasetInfo | undefined {
  const entity = file.get(path);
  if (!(entity instanceof h5wasm.Dataset)) return undefined;
  const m = entity.metadata;
  const shape = entity.shape ?? [];
  const grey = shape.length === 3 || (shape.length === 4 && shape[3] === 1);
  return { path, shape, dtype: String(entity.dtype), isVideo: grey && m.type === 0 && !m.signed && (m.size === 1 || m.size === 2), sixteen: m.size === 2 };
}

function allDatasets(file: H5File): DatasetInfo[] {
  return file.paths().map((p) => describe(file, p)).filter((d): d is DatasetInfo => d !== undefined);
}

function listing(datasets: DatasetInfo[]): string {
  return datasets.length === 0 ? "none" : datasets.map((d) => `${d.path} (${d.dtype} [${d.shape.join(", ")}])`).join(", ");
}

const CONVERT = "a video must be uint8 or uint16 frames x rows x cols (grey; a last axis of 1 is fine): convert it, e.g. in h5py f[\"video\"] = np.clip(v * 255, 0, 255).astype(np.uint8) for floats in 0..1, or average a colour axis";

/** The video dataset: the named one, or the only uint8 / uint16 video dataset in the file. */
function findVideoDataset(file: H5File, path: string, name?: string): DatasetInfo {
  if (name !== undefined) {
    const info = describe(file, name);
    if (!info) throw new Error(`${path} has no dataset "${name}"; its datasets: ${listing(allDatasets(file))}`);
    if (!info.isVideo) throw new Error(`dataset "${name}" in ${path} is ${info.dtype} [${info.shape.join(", ")}]; ${CONVERT}`);
    return info;
  }
  const all = allDatasets(file);
  const videos = all.filter((d) => d.isVideo);
  if (videos.length === 1) return videos[0]!;
  if (videos.length === 0) throw new Error(`${path} holds no 3-D uint8 or uint16 dataset (frames x rows x cols); its datasets: ${listing(all)}; ${CONVERT}`);
  throw new Error(`${path} holds several 3-D uint8 or uint16 datasets: ${listing(videos)}; name one with the dataset option`);
}

/** A number from an attribute value (scalar, 1-element array, bigint or numeric string). */
function attributeNumber(value: unknown): number | undefined {
  const first = ArrayBuffer.isView(value) || Array.isArray(value) ? (value as ArrayLike<unknown>)[0] : value;
  const n = typeof first === "bigint" ? Number(first) : typeof first === "string" ? Number.parseFloat(first) : first;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The first usable `framerate` / `fps` attribute, and the unusable ones seen (0, -5, NaN, "fast"). */
function frameRate(dataset: Dataset, root: H5File): { fps?: number; unusable: string[] } {
  const unusable: string[] = [];
  for (const [holder, where] of [[dataset, "the dataset"], [root, "the root"]] as const) {
    const attrs = holder.attrs;
    for (const name of ["framerate", "fps"]) {
      if (name in attrs) {
        const value = attrs[name]!.value;
        const n = attributeNumber(value);
        if (n !== undefined) return { fps: n, unusable };
        unusable.push(`"${name}" on ${where} is ${JSON.stringify(ArrayBuffer.isView(value) ? Array.from(value as ArrayLike<number>) : value, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : typeof v === "number" && !Number.isFinite(v) ? String(v) : v))}`);
      }
    }
  }
  return { unusable };
}

export interface ReadVideoOptions {
  /** Dataset path; default: the file's only 3-D uint8 or uint16 dataset. */
  dataset?: string;
  /** Frame rate when the file has no `framerate`/`fps` attribute (the attribute wins). */
  fps?: number;
  /** uint16 datasets to 8 bits; default minmax (the recording's own range to 0..255). */
  sixteenBit?: SixteenBit;
}

/** A video read from HDF5; a uint16 dataset says so, with the range minmax mapped. */
export type Hdf5Video = Video & { bitDepth: 8 | 16; range16?: [number, number] };

/** Frames are read this many bytes at a time, so the wasm heap holds one block, not the video. */
const READ_BLOCK_BYTES = 32 << 20;

/** Reads a grey video (frames x rows x cols, uint8, or uint16 brought to 8 bits) from an HDF5 file. */
export async function readHdf5Video(path: string, options: ReadVideoOptions = {}): Promise<Hdf5Video> {
  const { mod, file } = await openFile(path);
  try {
    const info = findVideoDataset(file, path, options.dataset);
    const dataset = file.get(info.path) as Dataset;
    const stated = frameRate(dataset, file);
    const fps = stated.fps ?? options.fps;
    if (fps === undefined) {
      if (stated.unusable.length > 0) {
        throw new Error(`${path} states no usable frame rate (${stated.unusable.join("; ")}: not a positive number of frames per second): give the frame rate with the read stage's fps parameter`);
      }
      throw new Error(`${path} has no "framerate" or "fps" attribute (on "${info.path}" or the root): give the frame rate with the fps option`);
    }
    const [count, rows, cols] = info.shape as [number, number, number];
    const values = info.sixteen ? new Uint16Array(count * rows * cols) : new Uint8Array(count * rows * cols);
    const perBlock = Math.max(1, Math.floor(READ_BLOCK_BYTES / Math.max(1, rows * cols * values.BYTES_PER_ELEMENT)));
    for (let first = 0; first < count; first += perBlock) {
      const last = Math.min(count, first + perBlock);
      let block: unknown;
      try {
        block = throwingErrors(mod, () => dataset.slice([[first, last]]));
      } catch (error) {
        const cause = hdf5Cause(error);
        // A filter HDF5 loads as a plugin (lzf, blosc, bitshuffle: h5py's and hdf5plugin's) is not built into h5wasm.
        if (/plugin|filter/i.test(cause)) {
          const filters = (dataset.filters ?? []).map((f) => `${f.name || "unnamed"} (id ${f.id})`).join(", ") || "unknown";
          throw new Error(`cannot decompress "${info.path}" in ${path}: it is stored with the filter(s) ${filters}, and only gzip (deflate), shuffle, fletcher32, nbit and scaleoffset are built in: rewrite it with gzip, e.g. h5repack -f GZIP=4 in.h5 out.h5, or in h5py compression="gzip"`);
        }
        throw new Error(`cannot read frames ${first}..${last - 1} of "${info.path}" in ${path}: ${cause}; the file is damaged or incomplete: write it again`);
      }
      if (!(block instanceof values.constructor) || (block as Uint8Array).length !== (last - first) * rows * cols) {
        throw new Error(`reading frames ${first}..${last - 1} of "${info.path}" in ${path} returned ${describeValue(block)}, not ${(last - first) * rows * cols} bytes`);
      }
      values.set(block as Uint8Array, first * rows * cols);
    }
    if (values instanceof Uint8Array) return { frames: values, count, rows, cols, fps, bitDepth: 8 };
    return { ...sixteenToEight(values, options.sixteenBit ?? "minmax"), count, rows, cols, fps, bitDepth: 16 };
  } finally {
    file.close();
  }
}

function describeValue(v: unknown): string {
  return ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Uint8Array).length})` : typeof v;
}

type TypedArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export interface ArrayDataset {
  name: string;
  data: TypedArray;
  shape: number[];
  /** HDF5 type string (numpy style: "<f4", "<B", ...); default: from the array's type. */
  dtype?: string;
  /** Chunk shape; with gzip. Default: the whole array in one chunk. */
  chunks?: number[];
  /** gzip level 1..9; 0 = no compression. Default 4. */
  gzip?: number;
}

export type AttributeValue = number | string | number[] | string[];

const DTYPES: [new (...args: never[]) => TypedArray, string][] = [
  [Uint8Array, "<B"], [Int8Array, "<b"], [Uint16Array, "<H"], [Int16Array, "<h"],
  [Uint32Array, "<I"], [Int32Array, "<i"], [Float32Array, "<f"], [Float64Array, "<d"],
];

function dtypeOf(data: TypedArray): string {
  const found = DTYPES.find(([ctor]) => data instanceof ctor);
  if (!found) throw new Error(`no HDF5 type for ${describeValue(data)}`);
  return found[1];
}

function writeAttribute(holder: H5File | Dataset, name: string, value: AttributeValue): void {
  // Whole numbers are written as int32, as in the Stytra file (`framerate` = 200); others as float64.
  if (typeof value === "number") holder.create_attribute(name, value, [], Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? "<i" : "<d");
  else if (typeof value === "string") holder.create_attribute(name, value);
  else if (value.length > 0 && typeof value[0] === "number") holder.create_attribute(name, new Float64Array(value as number[]), [value.length], "<d");
  else holder.create_attribute(name, value as string[]);
}

/** HDF5 does not create missing groups on the way to a dataset ("tail/points"): we do. */
function createParentGroups(file: H5File, name: string): void {
  let parent: Group = file;
  for (const part of name.split("/").filter(Boolean).slice(0, -1)) {
    // keys() rather than get(): get() of a missing path raises an HDF5 error.
    parent = parent.keys().includes(part) ? (parent.get(part) as Group) : parent.create_group(part);
  }
}

/** The time every HDF5 object header we write carries: 2000-01-01T00:00:00Z. */
const PINNED_MS = Date.UTC(2000, 0, 1);

/**
 * HDF5 stamps object headers with the wall clock (h5wasm does not expose H5Pset_obj_track_times),
 * so the same arrays written twice would differ, and the cache's early cutoff would never fire
 * downstream. h5wasm reads the clock through Date.now(): pin it while the synchronous write runs.
 */
function withPinnedClock<T>(write: () => T): T {
  const now = Date.now;
  Date.now = () => PINNED_MS;
  try {
    return write();
  } finally {
    Date.now = now;
  }
}

/** A chunked dataset larger than this is written in slabs of about this size, with a look at the abort signal between. */
const SLAB_BYTES = 8 << 20;

/**
 * Writes one dataset. A large chunked one (a video: gzip of a 1600x1200 recording takes minutes)
 * goes in slabs of whole chunks along its first axis, so that a cancelled task stops within a
 * slab instead of after the whole file; the slabs are always the same, so the bytes are too.
 */
function writeDataset(file: H5File, d: ArrayDataset, chunks: number[] | undefined, compression: number | undefined, signal: AbortSignal | undefined): void {
  const dtype = d.dtype ?? dtypeOf(d.data);
  const rowValues = d.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerSlab = chunks && d.shape.length > 1 ? Math.max(1, Math.floor(SLAB_BYTES / (rowValues * d.data.BYTES_PER_ELEMENT * chunks[0]!))) * chunks[0]! : Infinity;
  const first = Math.min(d.shape[0] ?? 0, rowsPerSlab);
  if (first >= (d.shape[0] ?? 0)) {
    file.create_dataset({ name: d.name, data: d.data, shape: d.shape, dtype, ...(chunks ? { chunks } : {}), ...(compression ? { compression } : {}) });
    return;
  }
  const dataset = file.create_dataset({
    name: d.name, data: d.data.subarray(0, first * rowValues), shape: [first, ...d.shape.slice(1)], maxshape: d.shape, dtype, chunks, ...(compression ? { compression } : {}),
  });
  dataset.resize(d.shape);
  for (let row = first; row < d.shape[0]!; row += rowsPerSlab) {
    signal?.throwIfAborted();
    const end = Math.min(row + rowsPerSlab, d.shape[0]!);
    dataset.write_slice([[row, end]], d.data.subarray(row * rowValues, end * rowValues));
  }
}

export interface WriteOptions {
  /** The task's abort signal: a large dataset's write stops between slabs once it is aborted. */
  signal?: AbortSignal;
}

/**
 * Writes arrays and root attributes to a new HDF5 file, byte-identical for identical content. It
 * is written beside `path` and renamed into place, so a reader never sees a half-written file.
 */
export async function writeHdf5Arrays(path: string, datasets: ArrayDataset[], attrs: Record<string, AttributeValue> = {}, options: WriteOptions = {}): Promise<void> {
  const mod = await h5();
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    withPinnedClock(() => throwingErrors(mod, () => {
      const file = new h5wasm.File(temporary, "w");
      try {
        for (const d of datasets) {
          const elements = d.shape.reduce((a, b) => a * b, 1);
          if (elements !== d.data.length) throw new Error(`dataset "${d.name}": shape [${d.shape.join(", ")}] holds ${elements} values, the array ${d.data.length}`);
          const gzip = d.gzip ?? 4;
          const compress = gzip > 0 && elements > 0;
          createParentGroups(file, d.name);
          // An empty dataset cannot be chunked (a chunk may not exceed a fixed dimension).
          const chunks = compress ? d.chunks ?? d.shape : d.chunks && elements > 0 ? d.chunks : undefined;
          writeDataset(file, d, chunks, compress ? gzip : undefined, options.signal);
        }
        for (const [name, value] of Object.entries(attrs)) writeAttribute(file, name, value);
      } finally {
        file.close();
      }
    }));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    if (options.signal?.aborted) throw error;
    throw writeError(path, error);
  }
}

/**
 * Why an HDF5 write failed. A full disk or quota (the writes that fill disks in practice are
 * videos) is said the way Node's fs says it, code and path, so that the engine reports
 * "disk full at <file>" and exits 4 as for its own writes, not a bare HDF5 stack line.
 */
function writeError(path: string, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  const code = /No space left on device/i.test(text) ? "ENOSPC" : /Disk quota exceeded/i.test(text) ? "EDQUOT" : undefined;
  if (!code) return new Error(`cannot write HDF5 file ${path}: ${hdf5Cause(error)}`);
  return Object.assign(new Error(`${code}: ${code === "ENOSPC" ? "no space left on device" : "disk quota exceeded"}, write '${path}'`), { code, path });
}

export interface WriteVideoOptions {
  /** Dataset path, "video" by default (like the Stytra example). */
  dataset?: string;
  /** gzip level, 4 by default; 0 = none. */
  gzip?: number;
  /** More root attributes (e.g. the source file, the crop). */
  attrs?: Record<string, AttributeValue>;
  signal?: AbortSignal;
}

/** Writes a video as frames x rows x cols uint8, one frame per chunk, gzip, root `framerate`. */
export async function writeHdf5Video(path: string, video: Video, options: WriteVideoOptions = {}): Promise<void> {
  assertVideo(video);
  const { count, rows, cols } = video;
  await writeHdf5Arrays(
    path,
    [{ name: options.dataset ?? "video", data: video.frames, shape: [count, rows, cols], dtype: "<B", chunks: [1, rows, cols], gzip: options.gzip ?? 4 }],
    { ...options.attrs, framerate: video.fps },
    { signal: options.signal },
  );
}
