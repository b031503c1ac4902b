/** What `dag status` and `dag compare` say changed between two values (params, meta). */
import { describe, expect, it } from "vitest";
import { diffValues } from "../dist/engine/status.js";

describe("diffValues", () => {
  it("names each changed leaf by its path", () => {
    expect(diffValues("param ", { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } })).toEqual(["param b.c: [1,2] -> [1,3]"]);
  });

  it("says (unset) for a key that one side lacks, e.g. a param added since the older run", () => {
    expect(diffValues("param ", { motion: { method: "adaptive" } }, { motion: {} })).toEqual(['param motion.method: "adaptive" -> (unset)']);
    expect(diffValues("", { x: 1 }, { x: 1, y: { z: 2 } })).toEqual(['y: (unset) -> {"z":2}']);
    expect(diffValues("", undefined, undefined)).toEqual([]);
  });
});
