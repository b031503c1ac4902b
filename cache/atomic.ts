import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from "node:fs";
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
