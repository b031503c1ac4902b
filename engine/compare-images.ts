/**
 * `dag compare A B` for pictures: every PNG that a once-run stage (an evaluation, an explanation)
 * made in both runs with different content is written as one image, A left and B right, so a
 * figure before and after a change is seen in one look. The engine knows nothing of what the
 * pictures show; a stage that writes figures as PNG outputs gets them compared.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import type { RunRecord, TaskOutput } from "../cache/records.js";
import type { Store } from "../cache/store.js";

const GAP = 12;

function sideBySide(left: PNG, right: PNG): Buffer {
  const width = left.width + GAP + right.width;
  const height = Math.max(left.height, right.height);
  const out = new PNG({ width, height });
  out.data.fill(255);
  PNG.bitblt(left, out, 0, 0, left.width, left.height, 0, 0);
  PNG.bitblt(right, out, 0, 0, right.width, right.height, left.width + GAP, 0);
  // A grey rule between the two.
  for (let y = 0; y < height; y++) {
    for (let x = left.width + GAP / 2 - 1; x <= left.width + GAP / 2; x++) out.data.set([160, 160, 160, 255], 4 * (y * width + x));
  }
  return PNG.sync.write(out);
}

function onlyTask(store: Store, run: RunRecord, stage: string): Record<string, TaskOutput> | undefined {
  const tasks = Object.values(run.stages[stage]?.tasks ?? {});
  return tasks.length === 1 ? store.readTask(tasks[0]!.key)?.outputs : undefined;
}

/** Writes `<stage>.<output>.<file>.png` into `dir` for each differing PNG; returns the paths. */
export function writeSideBySideImages(store: Store, a: RunRecord, b: RunRecord, dir: string): string[] {
  const written: string[] = [];
  for (const stage of Object.keys(a.stages).filter((s) => s in b.stages)) {
    const [outA, outB] = [onlyTask(store, a, stage), onlyTask(store, b, stage)];
    if (!outA || !outB) continue;
    for (const [name, oa] of Object.entries(outA)) {
      const ob = outB[name];
      if (oa.type !== "artifact" || ob?.type !== "artifact") continue;
      for (const [file, ref] of Object.entries(oa.files)) {
        const other = ob.files[file];
        if (!other || other.hash === ref.hash || !(ref.path ?? "").toLowerCase().endsWith(".png")) continue;
        try {
          const image = sideBySide(PNG.sync.read(readFileSync(store.blobPath(ref.hash))), PNG.sync.read(readFileSync(store.blobPath(other.hash))));
          mkdirSync(dir, { recursive: true });
          const path = join(dir, `${stage}.${name}.${file}.png`);
          writeFileSync(path, image);
          written.push(path);
        } catch (error) {
          throw new Error(`cannot put ${stage} ${name} ${file} of the two runs side by side (${(error as Error).message}): run dag verify, or rerun the stage`);
        }
      }
    }
  }
  return written;
}
