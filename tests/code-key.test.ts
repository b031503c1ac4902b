import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { codeChanges, CodeFingerprints } from "../dist/engine/code-fingerprint.js";
import { dag, FIXTURE_STAGES, workspace } from "./helpers/workspace.js";

/** A project of its own (package.json at its root) with a stage kind that uses a helper under lib/. */
function projectWithKind(): string {
  const dir = workspace("");
  writeFileSync(join(dir, "package.json"), '{ "name": "my-stages", "type": "module" }\n');
  mkdirSync(join(dir, "kinds", "scale"), { recursive: true });
  mkdirSync(join(dir, "lib"), { recursive: true });
  writeFileSync(join(dir, "lib", "scale.js"), "export const scale = (v) => v * v;\n");
  writeFileSync(join(dir, "kinds", "scale", "index.js"), `
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scale } from "../../lib/scale.js";
export default {
  name: "scale", version: 1, description: "test kind: a function of each number, from lib/scale.js",
  params: { type: "object", additionalProperties: false, properties: {} },
  inputs: { values: { type: "collection", each: true, description: "numbers" } },
  outputs: { scaled: { type: "collection", description: "scaled numbers" } },
  async run(ctx, _params, inputs) {
    const v = Number(readFileSync(inputs.values.files.value, "utf8"));
    writeFileSync(join(ctx.outDir, "v.txt"), String(scale(v)));
    return { scaled: { files: { value: "v.txt" } } };
  },
};
`);
  writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [kinds, ${JSON.stringify(FIXTURE_STAGES)}]
stages:
  numbers: { params: { count: 3, base: 2 } }
  scale: { inputs: { values: numbers.values } }
  total: { inputs: { values: scale.scaled } }
`);
  return dir;
}

describe("code is in the key", () => {
  it("an edit to a file a stage imports (not its version) makes its results stale, and status names the file", () => {
    const dir = projectWithKind();
    expect(dag(dir, "run").code).toBe(0);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe(String(4 + 9 + 16));
    // v^2 -> 2 v^2, version untouched: the cached result is now wrong and must not be kept.
    writeFileSync(join(dir, "lib", "scale.js"), "export const scale = (v) => 2 * v * v;\n");
    const status = dag(dir, "status").stdout;
    expect(status).toMatch(/scale\s+stale: 3 of 3 tasks would run\n\s+- code changed: lib\/scale\.js \(3\)/);
    expect(status).toMatch(/numbers\s+up to date/);
    const again = dag(dir, "run");
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/Nothing to do/);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe(String(2 * (4 + 9 + 16)));
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
  });

  it("the fingerprint of a built-in kind covers its lib/ files and the versions of the npm packages they import", () => {
    const flow = new CodeFingerprints().of(resolve("dist/stages/flow/index.js"));
    expect(Object.keys(flow.manifest.files)).toEqual(expect.arrayContaining(["dist/stages/flow/index.js", "dist/lib/flow/farneback.js", "dist/lib/cv/opencv.js"]));
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { version: string }> };
    expect(flow.manifest.packages["@techstark/opencv-js"]).toBe(lock.packages["node_modules/@techstark/opencv-js"]!.version);
    // Types are erased by tsc: the stage API's types are not code a stage runs.
    expect(Object.keys(flow.manifest.files)).not.toContain("dist/engine/stage-api.js");
    // Another kind, other code; the same kind, the same fingerprint.
    expect(new CodeFingerprints().of(resolve("dist/stages/mask/index.js")).hash).not.toBe(flow.hash);
    expect(new CodeFingerprints().of(resolve("dist/stages/flow/index.js")).hash).toBe(flow.hash);
  });

  it("status names a built file by its source: dist/lib/flow/farneback.js is lib/flow/farneback.ts", () => {
    const before = { files: { "dist/lib/flow/farneback.js": "a", "dist/stages/flow/index.js": "b" }, packages: { h5wasm: "0.10.3" } };
    const after = { files: { "dist/lib/flow/farneback.js": "c", "dist/stages/flow/index.js": "b" }, packages: { h5wasm: "0.10.4" } };
    expect(codeChanges(before, after, resolve("."))).toEqual(["code changed: lib/flow/farneback.ts", "package h5wasm: 0.10.3 -> 0.10.4"]);
  });

  it("the stat cache gives the same fingerprint without reading unchanged files, and sees a changed one", () => {
    const dir = projectWithKind();
    const cacheFile = join(dir, "code-stat.json");
    const first = new CodeFingerprints(cacheFile);
    const before = first.of(join(dir, "kinds", "scale", "index.js"));
    first.save();
    expect(new CodeFingerprints(cacheFile).of(join(dir, "kinds", "scale", "index.js")).hash).toBe(before.hash);
    writeFileSync(join(dir, "lib", "scale.js"), "export const scale = (v) => v + 1;\n");
    const after = new CodeFingerprints(cacheFile).of(join(dir, "kinds", "scale", "index.js"));
    expect(after.hash).not.toBe(before.hash);
    expect(after.manifest.files["lib/scale.js"]).not.toBe(before.manifest.files["lib/scale.js"]);
  });
});
