import { createHash } from "node:crypto";

/**
 * Canonical JSON: object keys sorted, no whitespace, so that equal values always hash alike
 * whatever order a YAML file or a stage wrote its keys in. `undefined` members are dropped,
 * as JSON.stringify does; non-finite numbers are refused because JSON cannot say them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot hash a non-finite number (${value})`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  throw new Error(`cannot hash a value of type ${typeof value}`);
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** A 32-bit seed for one task: the same pipeline seed, kind and item always give the same seed. */
export function deriveSeed(pipelineSeed: number, kind: string, itemId: string | undefined): number {
  return parseInt(sha256(`${pipelineSeed}\0${kind}\0${itemId ?? ""}`).slice(0, 8), 16) >>> 0;
}
