import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";

/**
 * How two versions of one output file (`name`, for its format: blobs have no extension) differ, for `dag run --check`: the first differing byte,
 * and where the format says what the bytes are, the first differing value with the size of the
 * difference: JSON (the path of the value), HDF5 (the dataset and element), TF.js weights and
 * other `.bin` arrays (as float32, what they hold here), CSV and text (the line). Formats only,
 * nothing of what the stages mean.
 */
export async function describeDifference(cachedPath: string, rerunPath: string, name: string): Promise<string> {
  const a = statSync(cachedPath).size;
  const b = statSync(rerunPath).size;
  const offset = firstDifferentByte(cachedPath, rerunPath);
  const bytes = `${a === b ? `${a} bytes each` : `${a} bytes cached, ${b} re-run`}, first differing byte at offset ${offset}`;
  let values: string | undefined;
  try {
    values = await describeValues(extname(name).toLowerCase(), cachedPath, rerunPath);
  } catch (err) {
    values = `(cannot compare as values: ${(err as Error).message.split("\n")[0]})`;
  }
  return values ? `${bytes}; ${values}` : bytes;
}

async function describeValues(ext: string, a: string, b: string): Promise<string | undefined> {
  if (ext === ".json") return describeJson(JSON.parse(readFileSync(a, "utf8")), JSON.parse(readFileSync(b, "utf8")));
  if (ext === ".h5" || ext === ".hdf5") return describeHdf5(a, b);
  if (ext === ".bin") return describeFloat32(readFileSync(a), readFileSync(b));
  if (ext === ".csv" || ext === ".txt" || ext === ".md" || ext === ".tsv") return describeLines(readFileSync(a, "utf8"), readFileSync(b, "utf8"));
  return undefined;
}

function firstDifferentByte(a: string, b: string): number {
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (let offset = 0; ; offset += ba.length) {
      const na = readSync(fa, ba, 0, ba.length, offset);
      const nb = readSync(fb, bb, 0, bb.length, offset);
      const n = Math.min(na, nb);
      for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return offset + i;
      if (na !== nb || n === 0) return offset + n;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/** A running tally of differing numbers: the first (where, both values), how many, the largest difference. */
class Tally {
  first?: string;
  count = 0;
  numbers = 0;
  largest = 0;

  add(where: string, a: unknown, b: unknown): void {
    if (typeof a === "number" && typeof b === "number") {
      this.numbers++;
      if (Object.is(a, b) || a === b) return;
      const d = Math.abs(a - b);
      if (!(d <= this.largest)) this.largest = d; // NaN stays the largest
      this.count++;
      this.first ??= `${where}: ${fmt(a)} cached, ${fmt(b)} re-run (difference ${fmt(d)})`;
      return;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    this.count++;
    this.first ??= `${where}: ${short(a)} cached, ${short(b)} re-run`;
  }

  text(unit: string): string | undefined {
    if (!this.first) return undefined;
    const largest = this.numbers ? `, the largest difference ${fmt(this.largest)}` : "";
    return `first differing ${unit} ${this.first}; ${this.count} differ${largest}`;
  }
}

function describeJson(a: unknown, b: unknown): string | undefined {
  const tally = new Tally();
  const walk = (x: unknown, y: unknown, path: string): void => {
    const bothArrays = Array.isArray(x) && Array.isArray(y);
    const bothObjects = isObject(x) && isObject(y) && !Array.isArray(x) && !Array.isArray(y);
    if (bothArrays) {
      for (let i = 0; i < Math.max(x.length, y.length); i++) walk(x[i], y[i], `${path}[${i}]`);
    } else if (bothObjects) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${path}.${k}`);
    } else {
      tally.add(path, x, y);
    }
  };
  walk(a, b, "$");
  return tally.text("value") ?? "the same values written differently (key order, spacing)";
}

function describeFloat32(a: Buffer, b: Buffer): string | undefined {
  if (a.length % 4 || b.length % 4) return undefined;
  const float32 = (bytes: Buffer): Float32Array => new Float32Array(Uint8Array.from(bytes).buffer);
  return elementwise(float32(a), float32(b), "float32 element");
}

function describeLines(a: string, b: string): string | undefined {
  const x = a.split("\n");
  const y = b.split("\n");
  const tally = new Tally();
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const cx = x[i]?.split(",");
    const cy = y[i]?.split(",");
    // Numeric cells are compared as numbers (how large the difference is), other text as text.
    if (cx && cy && cx.length === cy.length && cx.some((c, j) => c !== cy[j])) {
      cx.forEach((c, j) => {
        const [n, m] = [Number(c), Number(cy[j])];
        tally.add(`line ${i + 1}${cx.length > 1 ? `, column ${j + 1}` : ""}`, c.trim() !== "" && !Number.isNaN(n) ? n : c, cy[j]!.trim() !== "" && !Number.isNaN(m) ? m : cy[j]);
      });
    } else {
      tally.add(`line ${i + 1}`, x[i] ?? "(none)", y[i] ?? "(none)");
    }
  }
  return tally.text("cell");
}

type NumericArray = ArrayLike<number | bigint>;

function elementwise(x: NumericArray, y: NumericArray, unit: string, shape?: number[]): string | undefined {
  const tally = new Tally();
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [a, b] = [x[i], y[i]];
    if (a === b) {
      tally.numbers++;
      continue;
    }
    tally.add(shape ? `[${unravel(i, shape).join(", ")}]` : `${i}`, a === undefined ? "(none)" : Number(a), b === undefined ? "(none)" : Number(b));
  }
  const sizes = x.length === y.length ? "" : ` (${x.length} elements cached, ${y.length} re-run)`;
  const text = tally.text(unit);
  return text ? `${text}${sizes}` : undefined;
}

function unravel(index: number, shape: number[]): number[] {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(index % shape[d]!);
    index = Math.floor(index / shape[d]!);
  }
  return at;
}

/** The first dataset whose values differ, element by element; attributes and layout otherwise. */
async function describeHdf5(a: string, b: string): Promise<string | undefined> {
  const { default: h5wasm } = await import("h5wasm/node");
  await h5wasm.ready;
  const fa = new h5wasm.File(a, "r");
  const fb = new h5wasm.File(b, "r");
  try {
    const datasets = (f: typeof fa): string[] => f.paths().filter((p) => f.get(p) instanceof h5wasm.Dataset);
    const [na, nb] = [datasets(fa), datasets(fb)];
    if (na.join() !== nb.join()) return `datasets ${na.join(", ") || "none"} cached, ${nb.join(", ") || "none"} re-run`;
    for (const path of na) {
      const [da, db] = [fa.get(path) as InstanceType<typeof h5wasm.Dataset>, fb.get(path) as InstanceType<typeof h5wasm.Dataset>];
      const [sa, sb] = [da.shape ?? [], db.shape ?? []];
      if (sa.join() !== sb.join()) return `dataset "${path}": shape [${sa.join(", ")}] cached, [${sb.join(", ")}] re-run`;
      const [va, vb] = [da.value, db.value];
      const text = isNumeric(va) && isNumeric(vb) ? elementwise(va, vb, "element", sa) : JSON.stringify(va) === JSON.stringify(vb) ? undefined : "its values differ";
      if (text) return `dataset "${path}": ${text}`;
    }
    return "every dataset holds the same values: attributes or layout differ";
  } finally {
    fa.close();
    fb.close();
  }
}

const isNumeric = (v: unknown): v is NumericArray => ArrayBuffer.isView(v) && !(v instanceof DataView);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 1e-3 && Math.abs(n) < 1e6 ? String(Number(n.toPrecision(6))) : n.toExponential(3));
const short = (v: unknown): string => {
  const s = v === undefined ? "(none)" : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
