import { describe, expect, it } from "vitest";
import { canonicalJson, hashJson, taskKey } from "../dist/engine/hash.js";

describe("hashing", () => {
  it("canonical JSON ignores key order and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: "x" }] })).toBe('{"a":[1,{"c":"x"}],"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
  });

  it("the fast task key equals the hash of the canonical key parts", () => {
    const params = { size: 85, regions: [{ corner: "top-left" }], nested: { z: 1, a: null } };
    for (const itemId of [undefined, "rec001/ev02", 'we"ird']) {
      const parts = { kind: "mask", version: 3, code: "c0de", params, seed: 123456, ...(itemId !== undefined ? { itemId } : {}), inputs: { events: "ab", b: "cd" } };
      expect(taskKey(parts)).toBe(hashJson(parts));
    }
  });
});
