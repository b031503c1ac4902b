/** Reading arbitrary arrays and root attributes of an HDF5 file (lib/video/hdf5.ts reads videos and writes). */
import { existsSync } from "node:fs";
import h5wasm from "h5wasm/node";
import type { Dataset } from "h5wasm/node";

export type NumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

export interface Hdf5Array {
  data: NumericArray;
  shape: number[];
}

/** An attribute as plain JSON-like values: numbers (bigints converted), strings, arrays of them. */
export type AttributeRead = number | string | boolean | AttributeRead[];

function plain(value: unknown): AttributeRead {
  if (typeof value === "bigint") return Number(value);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => Number(v));
  if (Array.isArray(value)) return value.map(plain);
  return value as AttributeRead;
}

/**
 * Reads the named datasets and every root attribute of an HDF5 file. Errors name the file and
 * the missing dataset, and list what the file holds.
 */
export async function readHdf5Arrays(path: string, names: string[]): Promise<{ arrays: Record<string, Hdf5Array>; attrs: Record<string, AttributeRead> }> {
  if (!existsSync(path)) throw new Error(`HDF5 file ${path} does not exist: check the path or rerun the stage that writes it`);
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, "r");
  } catch (error) {
    throw new Error(`cannot open ${path} as HDF5 (${(error as Error).message.split("\n")[0]}): the file is damaged or not HDF5; rerun the stage that writes it`);
  }
  try {
    const arrays: Record<string, Hdf5Array> = {};
    for (const name of names) {
      const entity = file.keys().includes(name.replace(/^\//, "").split("/")[0]!) ? file.get(name) : null;
      if (!(entity instanceof h5wasm.Dataset)) {
        throw new Error(`${path} has no dataset "${name}" (it holds: ${file.keys().join(", ") || "nothing"}); it was not written by the expected stage or version`);
      }
      const value = (entity as Dataset).value;
      if (!ArrayBuffer.isView(value)) throw new Error(`dataset "${name}" in ${path} is not numeric`);
      arrays[name] = { data: value as NumericArray, shape: (entity as Dataset).shape ?? [] };
    }
    const attrs: Record<string, AttributeRead> = {};
    for (const [key, attr] of Object.entries(file.attrs)) attrs[key] = plain(attr.value);
    return { arrays, attrs };
  } finally {
    file.close();
  }
}
