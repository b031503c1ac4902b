/**
 * The file a stage reads from an input: the one it names, else the input's only file (what a
 * `{ file }` or `{ glob }` binding gives); with several files and none of that name, the stage
 * says so instead of reading whichever came first.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ItemIn } from "../engine/stage-api.js";
import { fileNames, mainFile } from "../lib/main-file.js";
import svm from "../stages/svm/index.js";
import { stageContext } from "./helpers/video-stage.js";

const dir = mkdtempSync(join(tmpdir(), "main-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mainFile", () => {
  it("takes the named file among several, else the only file whatever its name, else none", () => {
    expect(mainFile({ files: { preview: "/p.png", frames: "/f.h5" } }, "frames")).toBe("/f.h5");
    expect(mainFile({ files: { data: "/events/ev01.h5" } }, "frames")).toBe("/events/ev01.h5");
    expect(mainFile({ files: { report: "/r.json", preview: "/p.png" } }, "frames")).toBeUndefined();
    expect(mainFile({ files: {} }, "frames")).toBeUndefined();
    expect(fileNames({ files: { report: "/r.json", preview: "/p.png" } })).toBe("report, preview");
    expect(fileNames({ files: {} })).toBe("none");
  });
});

describe("a stage given an input with several files and none it names", () => {
  it("svm refuses a splits input without a splits file rather than reading its first file", async () => {
    const items: ItemIn[] = [];
    for (let r = 0; r < 6; r++) {
      const path = join(dir, `f${r}.json`);
      const label = r % 2;
      writeFileSync(path, JSON.stringify({ id: `rec${r}/ev0`, status: "ok", names: ["a", "b"], vector: [label, r] }));
      items.push({ id: `rec${r}/ev0`, files: { features: path }, meta: { recording: `rec${r}`, label } });
    }
    // The first file parses as JSON: the stage used to read it as the split.
    const splits = { files: { summary: join(dir, "f0.json"), table: join(dir, "f1.json") }, meta: {} };
    const params = { folds: 2, test_fraction: 0.3, C: [1], gamma: [0.1], kernels: ["rbf" as const], standardise: true };
    await expect(svm.run(stageContext(dir, undefined, 1), params, { features: { items }, splits })).rejects.toThrow(
      /^svm: the splits input has no "splits" file \(it has: summary, table\): feed split\.splits$/,
    );
  });
});
