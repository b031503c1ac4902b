/**
 * Per-sample log-probabilities as HDF5, the same layout from evaluate and classify, so that the
 * two can be compared bit for bit: float32 `spatial`, `temporal`, `fused` [n, classes], root
 * attributes `ids` (the samples' ids, in row order) and `classes`.
 */
import { readHdf5Arrays } from "../flow/hdf5-io.js";
import { writeHdf5Arrays } from "../video/hdf5.js";
import type { Predictions } from "./predict.js";

const STREAMS = ["spatial", "temporal", "fused"] as const;

export async function writePredictions(path: string, ids: string[], p: Predictions, classes: readonly string[]): Promise<void> {
  await writeHdf5Arrays(
    path,
    STREAMS.map((s) => ({ name: s, data: p[s], shape: [ids.length, p.classes], dtype: "<f", gzip: 4 })),
    { ids: ids.length ? ids : [""], classes: [...classes] },
  );
}

export async function readPredictions(path: string): Promise<{ ids: string[]; predictions: Predictions }> {
  const { arrays, attrs } = await readHdf5Arrays(path, [...STREAMS]);
  const ids = Array.isArray(attrs["ids"]) ? attrs["ids"].map(String).filter((id) => id !== "") : [];
  const get = (s: (typeof STREAMS)[number]): Float32Array => {
    const data = arrays[s]!.data;
    if (!(data instanceof Float32Array)) throw new Error(`${path}: dataset "${s}" is not float32`);
    return data;
  };
  return { ids, predictions: { spatial: get("spatial"), temporal: get("temporal"), fused: get("fused"), classes: arrays["fused"]!.shape[1] ?? 2 } };
}
