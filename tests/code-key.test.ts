import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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

/** A kind that multiplies each number by the factor in its own table.txt, which it declares in `reads`. */
function projectWithTable(): string {
  const dir = projectWithKind();
  writeFileSync(join(dir, "kinds", "scale", "table.txt"), "3\n");
  writeFileSync(join(dir, "kinds", "scale", "index.js"), `
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const table = new URL("./table.txt", import.meta.url);
export default {
  name: "scale", version: 1, description: "test kind: each number times the factor in table.txt",
  reads: [table],
  params: { type: "object", additionalProperties: false, properties: {} },
  inputs: { values: { type: "collection", each: true, description: "numbers" } },
  outputs: { scaled: { type: "collection", description: "scaled numbers" } },
  async run(ctx, _params, inputs) {
    const v = Number(readFileSync(inputs.values.files.value, "utf8")) * Number(readFileSync(table, "utf8"));
    writeFileSync(join(ctx.outDir, "v.txt"), String(v));
    return { scaled: { files: { value: "v.txt" } } };
  },
};
`);
  return dir;
}

/**
 * This project's build, with dist/native/ a copy of its own (the rest linked): a rebuild of the
 * native addon here touches no other test's files. `kinds/kernels` loads lib/model/native-kernels.js.
 */
function projectWithNativeAddon(): { dir: string; addon: string } {
  const dir = workspace("");
  copyFileSync("package.json", join(dir, "package.json"));
  symlinkSync(resolve("package-lock.json"), join(dir, "package-lock.json"));
  symlinkSync(resolve("node_modules"), join(dir, "node_modules"));
  mkdirSync(join(dir, "dist", "native"), { recursive: true });
  for (const entry of readdirSync("dist")) if (entry !== "native") symlinkSync(resolve("dist", entry), join(dir, "dist", entry));
  const addon = join(dir, "dist", "native", "convolutions.node");
  // Where no compiler built it here, bytes of another file stand in: the fingerprint reads bytes, it loads nothing.
  copyFileSync(existsSync("dist/native/convolutions.node") ? "dist/native/convolutions.node" : process.execPath, addon);
  mkdirSync(join(dir, "kinds", "kernels"), { recursive: true });
  writeFileSync(join(dir, "kinds", "kernels", "index.js"), `
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nativeConvolutions } from "../../dist/lib/model/native-kernels.js";
export default {
  name: "kernels", version: 1, description: "test kind: whether the native kernels load",
  params: { type: "object", additionalProperties: false, properties: {} },
  inputs: {}, outputs: { report: { type: "artifact", description: "yes or no" } },
  async run(ctx) {
    writeFileSync(join(ctx.outDir, "native.txt"), nativeConvolutions() ? "yes" : "no");
    return { report: { files: { native: "native.txt" } } };
  },
};
`);
  writeFileSync(join(dir, "pipeline.yaml"), "stage_paths: [kinds]\nstages:\n  kernels: {}\n");
  return { dir, addon };
}

describe("files read at run time are in the key", () => {
  it("an edit to a file a kind declares in reads makes its results stale, and status names the file", () => {
    const dir = projectWithTable();
    expect(dag(dir, "run").code).toBe(0);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe(String(3 * (2 + 3 + 4)));
    writeFileSync(join(dir, "kinds", "scale", "table.txt"), "5\n");
    const status = dag(dir, "status").stdout;
    expect(status).toMatch(/scale\s+stale: 3 of 3 tasks would run\n\s+- file changed: kinds\/scale\/table\.txt \(3\)/);
    expect(dag(dir, "run").code).toBe(0);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe(String(5 * (2 + 3 + 4)));
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
  });

  it("a rebuilt native addon with other bytes makes train (and every kind that loads it) stale, and status names the addon", () => {
    const { dir, addon } = projectWithNativeAddon();
    const train = join(dir, "dist", "stages", "train", "index.js");
    const before = new CodeFingerprints().of(train);
    expect(before.manifest.files["dist/native/convolutions.node"]).toBe(createHash("sha256").update(readFileSync(addon)).digest("hex"));
    expect(dag(dir, "run").code).toBe(0);
    expect(dag(dir, "status").stdout).toMatch(/kernels\s+up to date/);
    // As a rebuild from an edited adam.c does: other bytes at the same path.
    appendFileSync(addon, Buffer.from([0]));
    const after = new CodeFingerprints().of(train);
    expect(after.hash).not.toBe(before.hash);
    expect(codeChanges(before.manifest, after.manifest, dir)).toEqual(["file changed: dist/native/convolutions.node"]);
    expect(dag(dir, "status").stdout).toMatch(/kernels\s+stale: 1 of 1 tasks would run\n\s+- file changed: dist\/native\/convolutions\.node/);
    // No addon at all (where no compiler built it): another key again.
    rmSync(addon);
    expect(new CodeFingerprints().of(train).hash).not.toBe(after.hash);
  });

  it("what the built-in kinds load by a path beside their code is in their fingerprint: worker modules, the native addon, the kernels' WebAssembly", () => {
    const train = new CodeFingerprints().of(resolve("dist/stages/train/index.js")).manifest;
    expect(Object.keys(train.files)).toEqual(expect.arrayContaining(["dist/lib/model/parallel/gradient-worker.js", "dist/lib/model/wasm-simd/kernels-wasm.js", "dist/native/build.json"]));
    if (existsSync("dist/native/convolutions.node")) expect(Object.keys(train.files)).toContain("dist/native/convolutions.node");
    expect(train.packages["@tensorflow/tfjs-backend-wasm"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(new CodeFingerprints().of(resolve("dist/stages/explain/index.js")).manifest.files)).toContain("dist/stages/explain/explain-worker.js");
  });

  it("a file named by new URL(..., import.meta.url) that appears after the stat cache saw its module changes the fingerprint", () => {
    const dir = projectWithKind();
    writeFileSync(join(dir, "lib", "scale.js"), 'export const table = new URL("./table.bin", import.meta.url);\nexport const scale = (v) => v * v;\n');
    const cacheFile = join(dir, "code-stat.json");
    const kind = join(dir, "kinds", "scale", "index.js");
    const first = new CodeFingerprints(cacheFile);
    const before = first.of(kind);
    first.save();
    expect(Object.keys(before.manifest.files)).not.toContain("lib/table.bin");
    writeFileSync(join(dir, "lib", "table.bin"), Buffer.from([1, 2, 3]));
    const after = new CodeFingerprints(cacheFile).of(kind);
    expect(after.manifest.files["lib/table.bin"]).toBe(createHash("sha256").update(Buffer.from([1, 2, 3])).digest("hex"));
    expect(codeChanges(before.manifest, after.manifest)).toEqual(["file added: lib/table.bin"]);
  });

  it("the V8 version (major.minor) is in every key, and status says when it changed", () => {
    const { manifest } = new CodeFingerprints().of(resolve("dist/stages/synthesize/index.js"));
    expect(manifest.runtime).toEqual({ v8: process.versions.v8.split(".").slice(0, 2).join(".") });
    expect(codeChanges({ ...manifest, runtime: { v8: "11.3" } }, { ...manifest, runtime: { v8: "12.4" } })).toEqual(["runtime v8: 11.3 -> 12.4"]);
  });

  it("a kind whose reads are not file URLs is refused with what to write", () => {
    const dir = projectWithTable();
    const index = join(dir, "kinds", "scale", "index.js");
    writeFileSync(index, readFileSync(index, "utf8").replace("reads: [table]", 'reads: ["table.txt"]'));
    const r = dag(dir, "run");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reads must list file URLs, e\.g\. new URL\("\.\/table\.csv", import\.meta\.url\) \(got table\.txt\)/);
  });
});
