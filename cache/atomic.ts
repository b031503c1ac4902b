import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { asDiskFull } from "../engine/errors.js";

/**
 * Write a file so that readers see the old content or the new, never a torn one. On any failure
 * (a full disk) the temporary file is removed and the error names the file being written.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const fd = openSync(tmp, "w", 0o644);
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* never created, or already gone */ }
    throw asDiskFull(err, path);
  }
}

/**
 * Make one of dag's own folders in its cache, removing a file or a link put in its place (by
 * hand, by a tool): nothing but dag writes there, so nothing of anyone's is lost.
 */
export function ownDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) rmSync(dir, { force: true });
  mkdirSync(dir, { recursive: true });
}

/** writeFileAtomic for one of dag's own files in its cache: its folder made, a folder put in its place removed. */
export function writeOwnFile(path: string, data: string | Uint8Array): void {
  ownDir(dirname(path));
  if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) rmSync(path, { recursive: true, force: true });
  writeFileAtomic(path, data);
}

/**
 * One of the engine's own JSON files (a stat cache) as an object, or `{}` when it is missing,
 * torn or not an object (edited by hand, another version's): the cache it holds starts over.
 */
export function readJsonObject(path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
