/**
 * Reading a result file's JSON (or an output's meta) for a chart without trusting its shape: a
 * file from an older version of a stage, or a tampered cache, gives no rows instead of a crash.
 */
import type { Json, JsonObject } from "../../engine/stage-api.js";

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `keys` inside objects, or undefined where the path breaks off. */
export function member(value: Json | undefined, ...keys: string[]): Json | undefined {
  let at = value;
  for (const key of keys) at = isObject(at) ? at[key] : undefined;
  return at;
}

/** A number at `keys`, or undefined. */
export function numberAt(value: Json | undefined, ...keys: string[]): number | undefined {
  const at = member(value, ...keys);
  return typeof at === "number" ? at : undefined;
}

const isNumber = (value: Json): value is number => typeof value === "number";

/** A square matrix of numbers (a confusion matrix), or undefined. */
export function squareMatrixOf(value: Json | undefined): number[][] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const rows: number[][] = [];
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== value.length || !row.every(isNumber)) return undefined;
    rows.push(row);
  }
  return rows;
}
