import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256 } from "../dist/engine/hash.js";
import { itemFolders, publishStage } from "../dist/engine/results.js";

const tag = (id: string): string => createHash("sha256").update(id).digest("hex").slice(0, 8);

const HOSTILE = [
  "..", ".", "", "/", "../..", "a/../../../etc", "/etc/passwd", "./rec", "rec/./ev", "rec//ev",
  "con", "NUL.txt", "Lpt1/x", 'a:b*c?"d<e>f|g\\h', "tab\there\u0001", "ends with dot.", "ends with space ",
  "manifest.json", "Rec/Ev", "rec/ev", "x".repeat(1000), "é".repeat(300), `${"deep/".repeat(100)}end`,
  "../data/a.h5", "data/a.h5", "../../data/a.h5",
];

let dir: string | undefined;
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

describe("item folders under results/", () => {
  it("give items from outside the project a readable name, and leave ordinary ids as they are", () => {
    const ids = ["../../shared/data/real/stytra.h5/ev00", "../../shared/data/real/stytra.h5/ev01", "rec001/ev02"];
    const folders = itemFolders(ids);
    expect(ids.map((id) => folders.get(id))).toEqual(["shared/data/real/stytra.h5/ev00", "shared/data/real/stytra.h5/ev01", "rec001/ev02"]);
  });

  it("add a short hash of the id only where two readable names would meet, and the id that is its own name keeps it", () => {
    for (const ids of [["../data/a.h5", "data/a.h5", "../../data/a.h5"], ["../../data/a.h5", "data/a.h5", "../data/a.h5"]]) {
      const folders = itemFolders(ids);
      expect(folders.get("data/a.h5")).toBe("data/a.h5");
      expect(folders.get("../data/a.h5")).toBe(`data/a.h5~${tag("../data/a.h5")}`);
      expect(folders.get("../../data/a.h5")).toBe(`data/a.h5~${tag("../../data/a.h5")}`);
    }
    // Folders a case-insensitive file system would take for one.
    const cased = itemFolders(["Rec/Ev", "rec/ev"]);
    expect(cased.get("Rec/Ev")).toBe("Rec/Ev");
    expect(cased.get("rec/ev")).toBe(`rec/ev~${tag("rec/ev")}`);
    // The output's manifest is no item's folder.
    expect(itemFolders(["manifest.json"]).get("manifest.json")).toBe(`manifest.json~${tag("manifest.json")}`);
  });

  it("keep hostile ids inside the output's folder, apart, and legal on common file systems", () => {
    const folders = itemFolders(HOSTILE);
    expect(folders.size).toBe(HOSTILE.length);
    const root = "/results/stage/output";
    const onDisk = new Set<string>();
    for (const [id, folder] of folders) {
      expect(folder, JSON.stringify(id)).not.toBe("");
      expect(isAbsolute(folder), folder).toBe(false);
      const inside = relative(root, resolve(root, folder));
      expect(inside.startsWith("..") || inside === "", folder).toBe(false);
      for (const segment of folder.split("/")) {
        expect(segment === "" || segment === "." || segment === "..", `${JSON.stringify(id)} -> ${folder}`).toBe(false);
        expect(segment, folder).not.toMatch(/[<>:"\\|?*\u0000-\u001f]|[. ]$|^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i);
        expect(Buffer.byteLength(segment), folder).toBeLessThanOrEqual(255);
      }
      expect(folder.length, folder).toBeLessThanOrEqual(320);
      const key = folder.toLowerCase();
      expect(onDisk.has(key), `${JSON.stringify(id)} -> ${folder} is taken`).toBe(false);
      onDisk.add(key);
    }
    expect(folders.get("/etc/passwd")).toBe("etc/passwd");
    expect(folders.get("a/../../../etc")).toBe("a/etc");
    expect(folders.get("..")).toBe(`item~${tag("..")}`);
    expect(folders.get("con")).toBe("_con");
    expect(folders.get('a:b*c?"d<e>f|g\\h')).toBe("a_b_c__d_e_f_g_h");
    expect(folders.get("ends with dot.")).toBe("ends with dot_");
    // Over-long: cut, and tagged since the cut name is no longer the id.
    expect(folders.get("x".repeat(1000))).toBe(`${"x".repeat(100)}~${tag("x".repeat(1000))}`);
    expect(folders.get("é".repeat(300))).toBe(`${"é".repeat(50)}~${tag("é".repeat(300))}`);
  });

  it("publish hostile ids' files inside results/, each where the manifest says", () => {
    dir = mkdtempSync(join(tmpdir(), "results-"));
    const results = join(dir, "results");
    const items = HOSTILE.map((id, k) => {
      const path = join(dir!, `blob${k}`);
      writeFileSync(path, `item ${k}`);
      return { id, files: { value: { hash: sha256(`item ${k}`), size: 1, path: "value.txt", at: path } }, meta: { k } };
    });
    const byHash = new Map(items.map((item) => [item.files.value.hash, item.files.value.at]));
    publishStage(results, "stage", { values: { type: "collection", items: items.map(({ id, files, meta }) => ({ id, files: { value: { hash: files.value.hash, size: 1, path: "value.txt" } }, meta })) } } as never, (ref) => byHash.get(ref.hash)!);
    const outDir = join(results, "stage", "values");
    const manifest = JSON.parse(readFileSync(join(outDir, "manifest.json"), "utf8")) as { items: { id: string; files: { value: string }; meta: { k: number } }[] };
    expect(manifest.items.map((i) => i.id)).toEqual(HOSTILE);
    for (const item of manifest.items) {
      const file = resolve(outDir, item.files.value);
      expect(relative(outDir, file).startsWith(".."), item.files.value).toBe(false);
      expect(readFileSync(file, "utf8")).toBe(`item ${item.meta.k}`);
    }
  });
});
