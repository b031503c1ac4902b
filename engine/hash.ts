import { createHash } from "node:crypto";
import type { TaskKey } from "../cache/records.js";

/**
 * Canonical JSON: object keys sorted, no whitespace, so that equal values always hash alike
 * whatever order a YAML file or a stage wrote its keys in. `undefined` members are dropped,
 * as JSON.stringify does; non-finite numbers are refused because JSON cannot say them.
 */
export function canonicalJson(value: unknown): string {
  // Hot on no-op runs (one call per task): plain loops and concatenation, no intermediate arrays.
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`cannot hash a non-finite number (${value})`);
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) out += (i ? "," : "") + (value[i] === undefined ? "null" : canonicalJson(value[i]));
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = "{";
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += `${first ? "" : ","}${JSON.stringify(k)}:${canonicalJson(v)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new Error(`cannot hash a value of type ${typeof value}`);
  }
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

const paramsJson = new WeakMap<object, string>();

/**
 * A task's key: the SHA-256 of the canonical JSON of its key parts. Spelled out field by field
 * (in canonical order) so that the params, shared by every task of a per-item stage, are
 * serialised once per stage rather than once per task; equal to `hashJson(parts)`.
 */
export function taskKey(parts: { kind: string; version: number; code: string; params: unknown; seed: number; itemId?: string; inputs: Record<string, string>; machine?: unknown }): TaskKey {
  let params = typeof parts.params === "object" && parts.params !== null ? paramsJson.get(parts.params) : undefined;
  if (params === undefined) {
    params = canonicalJson(parts.params);
    if (typeof parts.params === "object" && parts.params !== null) paramsJson.set(parts.params, params);
  }
  const inputs = canonicalJson(parts.inputs);
  const item = parts.itemId === undefined ? "" : `"itemId":${JSON.stringify(parts.itemId)},`;
  const machine = parts.machine === undefined ? "" : `"machine":${canonicalJson(parts.machine)},`;
  return <TaskKey>sha256(`{"code":${JSON.stringify(parts.code)},"inputs":${inputs},${item}"kind":${JSON.stringify(parts.kind)},${machine}"params":${params},"seed":${canonicalJson(parts.seed)},"version":${canonicalJson(parts.version)}}`);
}
