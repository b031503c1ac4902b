/**
 * Starting weights from a file, for users who have pre-trained ones:
 *
 * - a model.json saved by the train stage (with weights.bin beside it): used as is (same
 *   architecture), e.g. to continue training;
 * - an HDF5 file (h5py-friendly) with datasets `<layer>/kernel` and `<layer>/bias` per layer
 *   (conv1..conv5, fc6..fc8; kernels [h, w, in, out], dense [in, out], fc6's input flattened
 *   rows x cols x channels), for both streams, or `spatial/<layer>/...` and
 *   `temporal/<layer>/...` per stream. ImageNet weights (VGG-M-2048) are adapted by the paper's
 *   recipe: 3 RGB input channels averaged into 1 grey channel for the spatial stream, copied
 *   cyclically to the flow channels for the temporal stream with uniform noise added; the
 *   output layer's 1,000 units averaged in equal consecutive groups into the 2 classes.
 */
import h5wasm from "h5wasm/node";
import type { Dataset } from "h5wasm/node";
import { fileNames, mainFile } from "../main-file.js";
import { Rng, hash32 } from "../random.js";
import { weightShapes, STREAMS, type Architecture } from "./architecture.js";
import { readModel } from "./model-files.js";
import { checkWeights, sizeOf, type HostTensor, type HostWeights } from "./weights.js";

/** Noise added to copied flow-channel filters, as a fraction of the filter's standard deviation (the paper gives no amplitude). */
export const COPY_NOISE = 0.1;

/**
 * `files`: a train stage's model (`model` + `weights`), or one file (`data`, as the engine names
 * a `{ file: ... }` input): a model.json with its weights.bin beside it, or an HDF5 file.
 */
export async function loadPretrained(files: Record<string, string>, arch: Architecture, seed: number): Promise<{ weights: HostWeights; notes: string[] }> {
  const path = mainFile({ files }, "model");
  if (!path) throw new Error(`the pretrained input holds neither a "model" file nor a single file (it has: ${fileNames({ files })}): give a model.json or an .h5 weights file`);
  if (files["model"] || path.endsWith(".json")) {
    const { weights } = await readModel(path, files["weights"] ? { "weights.bin": files["weights"] } : {});
    checkWeights(arch, weights, path);
    return { weights, notes: [`all weights from ${path}`] };
  }
  const file = await readHdf5Tensors(path);
  const weights: HostWeights = new Map();
  const notes: string[] = [];
  for (const stream of STREAMS) {
    for (const { name, shape } of weightShapes(arch, stream)) {
      const local = name.slice(stream.length + 1);
      const found = file.get(`${stream}/${local}`) ?? file.get(local);
      if (!found) throw new Error(`${path} has no dataset "${local}" or "${stream}/${local}" (it holds: ${[...file.keys()].join(", ")})`);
      const { tensor, note } = adapt(found, shape, name, seed);
      if (note) notes.push(note);
      weights.set(name, tensor);
    }
  }
  return { weights, notes };
}

async function readHdf5Tensors(path: string): Promise<Map<string, HostTensor>> {
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, "r");
  } catch (error) {
    throw new Error(`cannot open the weights file ${path} as HDF5 (${(error as Error).message.split("\n")[0]}): give an .h5 file or a model.json`);
  }
  try {
    const out = new Map<string, HostTensor>();
    for (const p of file.paths()) {
      const entity = file.get(p);
      if (!(entity instanceof h5wasm.Dataset)) continue;
      const value = (entity as Dataset).value;
      if (!ArrayBuffer.isView(value)) continue;
      out.set(p.replace(/^\//, ""), { shape: (entity as Dataset).shape ?? [], values: Float32Array.from(value as unknown as ArrayLike<number>) });
    }
    return out;
  } finally {
    file.close();
  }
}

/** Fits one file tensor to the shape the network needs, by the paper's recipe where they differ. */
function adapt(t: HostTensor, shape: number[], name: string, seed: number): { tensor: HostTensor; note?: string } {
  if (t.shape.join() === shape.join()) return { tensor: t };
  const same = (a: number[], b: number[]) => a.join() === b.join();
  // Input layer: [h, w, 3, out] -> [h, w, channels, out].
  if (t.shape.length === 4 && t.shape[2] === 3 && same([t.shape[0]!, t.shape[1]!, t.shape[3]!], [shape[0]!, shape[1]!, shape[3]!])) {
    const [h, w, , out] = t.shape as [number, number, number, number];
    const channels = shape[2]!;
    const values = new Float32Array(sizeOf(shape));
    const rng = new Rng(hash32(seed, "copy-noise", name));
    let sum = 0;
    let sq = 0;
    for (const v of t.values) (sum += v), (sq += v * v);
    const amplitude = COPY_NOISE * Math.sqrt(Math.max(0, sq / t.values.length - (sum / t.values.length) ** 2));
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < channels; c++) {
        for (let o = 0; o < out; o++) {
          const rgb = (k: number) => t.values[(p * 3 + k) * out + o]!;
          values[(p * channels + c) * out + o] = channels === 1 ? (rgb(0) + rgb(1) + rgb(2)) / 3 : rgb(c % 3) + rng.uniform(-amplitude, amplitude);
        }
      }
    }
    const how = channels === 1 ? "RGB filters averaged into 1 channel" : `RGB filters copied to ${channels} channels, uniform noise +-${amplitude.toExponential(2)}`;
    return { tensor: { shape, values }, note: `${name}: ${how}` };
  }
  // Output layer: [in, N] -> [in, classes] (kernel) or [N] -> [classes] (bias), averaging groups of N / classes units.
  const inner = t.shape.slice(0, -1);
  const units = t.shape.at(-1)!;
  const classes = shape.at(-1)!;
  if (same(inner, shape.slice(0, -1)) && units % classes === 0) {
    const group = units / classes;
    const rows = sizeOf(inner);
    const values = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < classes; c++) {
        let s = 0;
        for (let u = c * group; u < (c + 1) * group; u++) s += t.values[r * units + u]!;
        values[r * classes + c] = s / group;
      }
    }
    return { tensor: { shape, values }, note: `${name}: ${units} output units averaged in groups of ${group} into ${classes}` };
  }
  throw new Error(`weights file: ${name} is [${t.shape.join(", ")}], the network needs [${shape.join(", ")}]; only the input channels (3 -> any) and the output units (a multiple of the classes) are adapted: match the other layers (for ImageNet VGG-M-2048 use the paper preset, input_size 224)`);
}
