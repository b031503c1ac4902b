import { createHash } from "node:crypto";
import { constants, copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import type { FileRef } from "../cache/records.js";
import { hashFileSync } from "../cache/store.js";
import { assembledHash, type Assembled, type Locate } from "./artifacts.js";
import { DamagedCacheError, DiskFullError, isDiskFull, UsageError } from "./errors.js";

/**
 * Make a completed stage's outputs visible to people and other tools:
 *   results/<stage>/<output>/<item>/<file>   (a collection: one folder per item)
 *   results/<stage>/<output>/<file>          (an artifact)
 *   results/<stage>/<output>/manifest.json   (ids, meta and file paths of what is there)
 * Files are copies (copy-on-write clones where the file system can), never links: whatever a
 * person or a tool does to a file under results/, the cache keeps its bytes. Each copy is hashed
 * as it lands: only bytes that hash to their name are published (copyChecked). A stage whose outputs
 * did not change since it was last published, with every file still there at its size (one stat
 * per file, as the cache checks its own), is left alone, so a no-op run copies nothing.
 */
export function publishStage(resultsDir: string, stage: string, outputs: Record<string, Assembled>, locate: Locate): void {
  const top = statSync(resultsDir, { throwIfNoEntry: false });
  if (top && !top.isDirectory()) {
    throw new UsageError(`${resultsDir} is not a folder: dag publishes results there; move it away (or set results: in the pipeline file to another folder) and run again; finished tasks stay cached`);
  }
  const stageDir = join(resultsDir, stage);
  const stamp = join(stageDir, ".published");
  const digest = Object.entries(outputs).map(([n, v]) => `${n}:${assembledHash(v)}`).join("\n");
  const layouts = Object.entries(outputs).map(([name, value]) => ({ outDir: join(stageDir, name), ...layout(value) }));
  const whole = (): boolean => layouts.every(({ outDir, copies }) => copies.every(([rel, ref]) => statSync(join(outDir, rel), { throwIfNoEntry: false })?.size === ref.size));
  if (readStamp(stamp) === digest && whole()) return;
  // The stamp goes first: a run killed while the old files are removed must not leave it behind.
  rmSync(stamp, { recursive: true, force: true });
  rmSync(stageDir, { recursive: true, force: true });
  for (const { outDir, copies, manifest } of layouts) {
    mkdirSync(outDir, { recursive: true });
    for (const [rel, ref] of copies) {
      const dest = join(outDir, rel);
      mkdirSync(dirname(dest), { recursive: true });
      copyChecked(locate(ref), dest, ref);
    }
    writeFileAtomic(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 1));
  }
  writeFileAtomic(stamp, digest);
}

/**
 * Copy a cached file to results/ and hash what landed there: bytes that do not hash to the file's
 * name (a blob damaged in the cache, same size, which a no-op run does not re-read) are removed
 * again, and the run stops with what to do. A full disk names the results file, not the blob.
 */
function copyChecked(src: string, dest: string, ref: FileRef): void {
  try {
    copyFileSync(src, dest, constants.COPYFILE_FICLONE);
  } catch (err) {
    rmSync(dest, { force: true });
    if (isDiskFull(err)) throw new DiskFullError(dest);
    throw err;
  }
  if (hashFileSync(dest) !== ref.hash) {
    rmSync(dest, { force: true });
    throw new DamagedCacheError(src, dest);
  }
}

function readStamp(stamp: string): string | undefined {
  try {
    return readFileSync(stamp, "utf8");
  } catch {
    return undefined; // none yet, or not a file
  }
}

/** Where an output's files go under its folder (relative paths), and its manifest. */
function layout(value: Assembled): { copies: [string, FileRef][]; manifest: object } {
  const copies: [string, FileRef][] = [];
  const place = (prefix: string, files: Record<string, FileRef>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [name, ref] of Object.entries(files)) {
      out[name] = join(prefix, ref.path ?? name);
      copies.push([out[name], ref]);
    }
    return out;
  };
  if (value.type === "artifact") return { copies, manifest: { type: "artifact", files: place("", value.files), meta: value.meta } };
  const folders = itemFolders(value.items.map((item) => item.id));
  const items = value.items.map((item) => ({ id: item.id, files: place(folders.get(item.id)!, item.files), meta: item.meta }));
  return { copies, manifest: { type: "collection", items } };
}

/** Characters that Windows, macOS or Linux refuse in a file name (control characters included). */
const ILLEGAL = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;
/** Names Windows reserves, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;
/** Bytes per folder name (file systems allow 255; room is left for a suffix). */
const SEGMENT_BYTES = 100;
/** Characters of an item's folder path, below the output's folder. */
const FOLDER_CHARS = 240;

/** A short, stable tag of an id, for the folders that need one to stay apart. */
function tag(id: string, length: number): string {
  return createHash("sha256").update(id).digest("hex").slice(0, length);
}

/** One path segment made safe: legal on common file systems, not `.` or `..`, not over-long. */
function safeSegment(segment: string): string {
  let out = segment.replace(ILLEGAL, "_").replace(/[. ]+$/, (m) => "_".repeat(m.length));
  if (RESERVED.test(out)) out = `_${out}`;
  if (Buffer.byteLength(out) <= SEGMENT_BYTES) return out;
  let short = "";
  for (const char of out) {
    if (Buffer.byteLength(short + char) > SEGMENT_BYTES) break;
    short += char;
  }
  return short;
}

/**
 * The readable part of an item's folder: its id as a path, with `.`, `..` and empty segments
 * dropped (an id made from a file outside the pipeline's folder, `../../shared/data/a.h5/ev00`,
 * reads `shared/data/a.h5/ev00`), each segment made safe. `exact`: nothing was changed; `cut`:
 * something was cut off for length.
 */
function readableFolder(id: string): { folder: string; exact: boolean; cut: boolean } {
  const segments = id.split("/").filter((s) => s !== "" && s !== "." && s !== "..");
  const safe = segments.map(safeSegment);
  let cut = safe.some((s, k) => s.length < segments[k]!.length);
  let folder = safe.join("/");
  if (folder.length > FOLDER_CHARS) {
    folder = Array.from(folder).slice(0, FOLDER_CHARS).join("").replace(/\/+$/, "");
    cut = true;
  }
  return { folder, exact: folder === id, cut };
}

/** Two folders that one file system may take for the same (case-insensitive, Unicode-normalising ones). */
const sameOnDisk = (folder: string): string => folder.normalize("NFC").toLowerCase();

/**
 * Each item's folder under an output's folder in results/: the item's readable path, inside the
 * output's folder whatever the id (no `..`, no absolute path, no character a common file system
 * refuses), with a short hash of the id appended (`a.h5~3f2a91c0`) only where the readable path
 * is empty, cut for length (cut names meet easily), or would clash with another item's or with
 * `manifest.json`. The manifest maps ids to
 * files, so nothing depends on guessing a folder from an id.
 */
export function itemFolders(ids: readonly string[]): Map<string, string> {
  const readable = ids.map((id) => ({ id, ...readableFolder(id) }));
  const claims = new Map<string, number>();
  for (const r of readable) claims.set(sameOnDisk(r.folder), (claims.get(sameOnDisk(r.folder)) ?? 0) + 1);
  const taken = new Set(["manifest.json"]);
  const out = new Map<string, string>();
  // An id that is its own folder keeps it; the others that want the same folder get a tag.
  for (const r of readable) {
    if (r.exact && r.folder && !taken.has(sameOnDisk(r.folder))) {
      out.set(r.id, r.folder);
      taken.add(sameOnDisk(r.folder));
    }
  }
  for (const r of readable) {
    if (out.has(r.id)) continue;
    const alone = r.folder !== "" && !r.cut && claims.get(sameOnDisk(r.folder)) === 1 && !taken.has(sameOnDisk(r.folder));
    const tagged = (length: number): string => `${r.folder || "item"}~${tag(r.id, length)}`;
    let folder = alone ? r.folder : tagged(8);
    // Two ids' 8-digit tags may meet: then a longer one.
    for (let length = 16; taken.has(sameOnDisk(folder)) && length <= 64; length += 8) folder = tagged(length);
    out.set(r.id, folder);
    taken.add(sameOnDisk(folder));
  }
  return out;
}
