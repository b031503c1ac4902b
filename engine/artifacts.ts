import { relative } from "node:path";
import type { FileHashes } from "../cache/file-hashes.js";
import type { FileRef, ItemRecord, TaskOutput } from "../cache/records.js";
import { UsageError } from "./errors.js";
import { hashJson } from "./hash.js";
import type { InputBinding } from "./pipeline.js";
import type { ArtifactIn, CollectionIn, ItemIn, JsonObject } from "./stage-api.js";

/** An item while a run assembles it: `order` sorts items the same way whatever finished first. */
export interface PlannedItem extends ItemRecord {
  order: number[];
}

/** A stage output once its stage completed. */
export type Assembled =
  | { type: "artifact"; files: Record<string, FileRef>; meta: JsonObject }
  | { type: "collection"; items: PlannedItem[] };

const itemHashes = new WeakMap<object, string>();

function filesDigest(files: Record<string, FileRef>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(files)) out[name] = `${ref.hash}:${ref.path ?? ""}`;
  return out;
}

export function itemHash(item: ItemRecord): string {
  let h = itemHashes.get(item);
  if (!h) {
    h = hashJson({ id: item.id, files: filesDigest(item.files), meta: item.meta });
    itemHashes.set(item, h);
  }
  return h;
}

/** The content hash of an output: what a consumer's key depends on (early cutoff follows from it). */
export function assembledHash(value: Assembled): string {
  if (value.type === "artifact") return hashJson({ files: filesDigest(value.files), meta: value.meta });
  return hashJson(value.items.map(itemHash));
}

export function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The items one task contributes to a collection: an artifact becomes one item named like the
 * task's item, a collection becomes sub-items `<item>/<sub>`; both inherit the parent's meta.
 */
export function taskItems(output: TaskOutput, itemId: string | undefined, order: number[], parentMeta: JsonObject): PlannedItem[] {
  if (output.type === "artifact") {
    return [{ id: itemId ?? "", files: output.files, meta: { ...parentMeta, ...output.meta }, order }];
  }
  return output.items.map((sub, j) => ({
    id: itemId ? `${itemId}/${sub.id}` : sub.id,
    files: sub.files,
    meta: { ...parentMeta, ...sub.meta },
    order: [...order, j],
  }));
}

/** Where a file's bytes are: the store, or the user's own file (`ref.source`) for pipeline inputs. */
export type Locate = (ref: FileRef) => string;

function filePaths(locate: Locate, files: Record<string, FileRef>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(files)) out[name] = locate(ref);
  return out;
}

export function toItemIn(locate: Locate, item: ItemRecord): ItemIn {
  return { id: item.id, files: filePaths(locate, item.files), meta: item.meta };
}

export function toInputValue(locate: Locate, value: Assembled): ArtifactIn | CollectionIn {
  if (value.type === "artifact") return { files: filePaths(locate, value.files), meta: value.meta };
  return { items: value.items.map((item) => toItemIn(locate, item)) };
}

/**
 * A user's files as an output: a glob is a collection (one item per file, named by its path
 * relative to the pipeline), a single file an artifact. The file is given to stages in place,
 * by its own path: never by another file that happens to hold the same bytes.
 */
export async function fileInput(binding: Exclude<InputBinding, { source: "stage" }>, dir: string, hashes: FileHashes): Promise<Assembled> {
  const one = async (path: string): Promise<{ ref: FileRef; rel: string }> => {
    try {
      return { ref: { ...(await hashes.hash(path)), source: path }, rel: relative(dir, path) };
    } catch (err) {
      const what = binding.source === "glob" ? `a file of the glob "${binding.pattern}"` : "an input file";
      throw new UsageError(`cannot read ${path} (${what}): ${(err as Error).message}; check that it is a readable file`);
    }
  };
  if (binding.source === "file") {
    const { ref, rel } = await one(binding.path);
    return { type: "artifact", files: { data: { ...ref, path: rel } }, meta: { path: rel } };
  }
  const items: PlannedItem[] = [];
  for (const [i, path] of binding.files.entries()) {
    const { ref, rel } = await one(path);
    items.push({ id: rel, files: { data: { ...ref, path: rel } }, meta: { path: rel }, order: [i] });
  }
  return { type: "collection", items };
}
