/** `dag run --check`: cached tasks run again in a scratch area and compared with the cache, which never changes. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileBytes } from "./helpers/executors.js";
import { CHAIN, dag, workspace } from "./helpers/workspace.js";

/** Every file of the cache but the run records (a --check run is recorded like any run), with its content hash. */
function cacheFiles(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(fileBytes(join(dir, ".dag"))).filter(([f]) => !f.startsWith("runs/") && f !== "lock"));
}

const NUMBER = String.raw`-?[\d.]+(e-?\d+)?`;

describe("dag run --check", () => {
  it("finds the stage that uses Math.random(): each differing file with its first differing byte and value; the same bytes elsewhere; nothing in the cache changes", () => {
    const dir = workspace(`${CHAIN}  dice: {}\n`);
    expect(dag(dir, "run").code).toBe(0);
    const before = cacheFiles(dir);

    const all = dag(dir, "run", "--check");
    expect(all.code).toBe(1);
    const lines = all.stderr;
    expect(lines).toMatch(/^check dice: DIFFERS from the cache$/m);
    // The first value is fixed: the first difference is the second, in each format read as values.
    const value = (what: string): RegExp => new RegExp(`${what}: ${NUMBER} cached, ${NUMBER} re-run \\(difference ${NUMBER}\\); 3 differ, the largest difference ${NUMBER}$`, "m");
    expect(lines).toMatch(/^ {2}output rolls, file rolls\.json: \d+ bytes (each|cached, \d+ re-run), first differing byte at offset \d+; /m);
    expect(lines).toMatch(value(String.raw`file rolls\.json: .*first differing value \$\.values\[1\]`));
    expect(lines).toMatch(value(String.raw`file rolls\.h5: .*dataset "rolls": first differing element \[0, 1\]`));
    expect(lines).toMatch(value(String.raw`file rolls\.bin: 16 bytes each, first differing byte at offset [4-7]; first differing float32 element 1`));
    expect(lines).toMatch(value(String.raw`file rolls\.csv: .*first differing cell line 3, column 2`));
    expect(lines).not.toMatch(/fixed\.txt/);
    // The same bytes: a line for a stage that runs once, per-item lines only with -v.
    expect(lines).toMatch(/^check total: the same bytes as the cache$/m);
    expect(lines).not.toMatch(/check (numbers|square)/);
    expect(lines).toMatch(/^check: 1 of 8 cached tasks made other bytes than the cache \(above\); nothing in the cache changed/m);
    expect(cacheFiles(dir)).toEqual(before);

    const deterministic = dag(dir, "run", "--check", "numbers", "square", "total", "-v");
    expect(deterministic.code).toBe(0);
    expect(deterministic.stderr).toMatch(/^check square\[n2\]: the same bytes as the cache$/m);
    expect(deterministic.stderr).toMatch(/^check: all 7 cached tasks made the same bytes again; nothing in the cache changed/m);
    expect(cacheFiles(dir)).toEqual(before);
    expect(readdirSync(join(dir, ".dag", "tmp"))).toEqual([]);
  });

  it("a task not cached yet runs as usual and is counted, not compared; --check with --force or --dry-run is refused", () => {
    const dir = workspace(CHAIN);
    const first = dag(dir, "run", "--check", "square");
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/^check: no cached task to run again; 3 tasks of the checked stages ran for the first time \(nothing to compare\)/m);
    for (const flag of ["--force=square", "--dry-run"]) {
      const r = dag(dir, "run", "--check", flag);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^dag: --check runs cached tasks again to compare them with the cache; it cannot be combined with --(force|dry-run)$/m);
    }
  });

  it("a real stage writing HDF5 (synthesize, tiny) makes the same bytes again", () => {
    const dir = workspace("stages:\n  synthesize: { params: { recordings: 2, bouts_min: 1, bouts_max: 1, crop_px: 48, px_per_mm: 10, width: 96, height: 64 } }\n", false);
    expect(dag(dir, "run").code).toBe(0);
    const r = dag(dir, "run", "--check", "-v");
    expect(r.stderr).toMatch(/^check synthesize\[rec001\]: the same bytes as the cache$/m);
    expect(r.stderr).toMatch(/^check: all 2 cached tasks made the same bytes again/m);
    expect(r.code).toBe(0);
  });
});
