import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import type { FileRef } from "../cache/records.js";
import { assembledHash, type Assembled, type Locate } from "./artifacts.js";

/**
 * Make a completed stage's outputs visible to people and other tools:
 *   results/<stage>/<output>/<item>/<file>   (a collection: one folder per item)
 *   results/<stage>/<output>/<file>          (an artifact)
 *   results/<stage>/<output>/manifest.json   (ids, meta and file paths of what is there)
 * Files are copies (copy-on-write clones where the file system can), never links: whatever a
 * person or a tool does to a file under results/, the cache keeps its bytes. A stage whose outputs
 * did not change since it was last published is left alone, so a no-op run touches nothing.
 */
export function publishStage(resultsDir: string, stage: string, outputs: Record<string, Assembled>, locate: Locate): void {
  const stageDir = join(resultsDir, stage);
  const stamp = join(stageDir, ".published");
  const digest = Object.entries(outputs).map(([n, v]) => `${n}:${assembledHash(v)}`).join("\n");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return;
  rmSync(stageDir, { recursive: true, force: true });
  for (const [name, value] of Object.entries(outputs)) {
    const outDir = join(stageDir, name);
    mkdirSync(outDir, { recursive: true });
    if (value.type === "artifact") {
      const files = copyFiles(outDir, "", value.files, locate);
      writeFileAtomic(join(outDir, "manifest.json"), JSON.stringify({ type: "artifact", files, meta: value.meta }, null, 1));
    } else {
      const items = value.items.map((item) => ({ id: item.id, files: copyFiles(outDir, itemFolder(item.id), item.files, locate), meta: item.meta }));
      writeFileAtomic(join(outDir, "manifest.json"), JSON.stringify({ type: "collection", items }, null, 1));
    }
  }
  writeFileAtomic(stamp, digest);
}

/**
 * An item's folder under results/: its id, with `.` and `..` segments spelled out so that an id
 * made from a path outside the pipeline's folder (`../data/a.h5`) stays inside results/.
 */
export function itemFolder(id: string): string {
  return id
    .split("/")
    .map((segment) => (segment === ".." ? "%2E%2E" : segment === "." || segment === "" ? "%2E" : segment))
    .join("/");
}

/** Copy files under `<outDir>/<prefix>/`; returns their paths relative to outDir, for the manifest. */
function copyFiles(outDir: string, prefix: string, files: Record<string, FileRef>, locate: Locate): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(files)) {
    const rel = join(prefix, ref.path ?? name);
    const dest = join(outDir, rel);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(locate(ref), dest, constants.COPYFILE_FICLONE);
    out[name] = rel;
  }
  return out;
}
