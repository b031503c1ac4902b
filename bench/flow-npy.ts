/** Minimal NumPy .npy (format 1.0, C order) for handing frames to Python and flows back. */
import { readFileSync, writeFileSync } from "node:fs";

const DESCR = { uint8: "|u1", float32: "<f4" } as const;

export function writeNpy(path: string, data: Uint8Array | Float32Array, shape: number[]): void {
  const descr = data instanceof Uint8Array ? DESCR.uint8 : DESCR.float32;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, " ") + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export function readNpyFloat32(path: string): { data: Float32Array; shape: number[] } {
  const bytes = readFileSync(path);
  if (bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${path} is not a .npy file`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString("latin1", start, start + headerLength);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: expected C-order float32, header ${header.trim()}`);
  const shape = [...header.match(/'shape': \(([^)]*)\)/)![1]!.matchAll(/\d+/g)].map((m) => Number(m[0]));
  const offset = start + headerLength;
  const copy = new Uint8Array(bytes.subarray(offset)); // aligned copy
  return { data: new Float32Array(copy.buffer, 0, copy.length / 4), shape };
}
