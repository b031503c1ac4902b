import { statSync } from "node:fs";
import { join } from "node:path";
import { readJsonObject, writeOwnFile } from "./atomic.js";
import type { BlobHash, FileRef } from "./records.js";
import { hashFile } from "./store.js";

/** How recently changed a file must not be for its hash to be kept: well above any file system's time granularity (FAT: 2 s). */
const RACY_NS = 3_000_000_000n;

interface Entry {
  size: number;
  mtimeNs: string;
  /** Changed by every write and by setting the mtime back (`touch -r`); no tool sets it. */
  ctimeNs: string;
  ino: number;
  hash: BlobHash;
}

/**
 * Content hashes of the user's input files. A file is re-hashed whenever its size, inode,
 * modification or change time differ from when it was last hashed (as git's index does), so an
 * unchanged multi-gigabyte recording is not read again on every run; `rehash` reads every file
 * anyway. Keys always come from the content hash, never from the times themselves.
 */
export class FileHashes {
  private readonly path: string;
  private entries: Record<string, Entry> = {};
  private dirty = false;

  constructor(storeRoot: string, private readonly rehash = false) {
    this.path = join(storeRoot, "file-hashes.json");
    // Entries are checked field by field when used: a damaged one is a miss.
    this.entries = readJsonObject(this.path) as Record<string, Entry>;
  }

  async hash(path: string): Promise<FileRef> {
    const st = statSync(path, { bigint: true });
    const known = this.entries[path];
    const mtimeNs = st.mtimeNs.toString();
    const ctimeNs = st.ctimeNs.toString();
    if (!this.rehash && known && known.size === Number(st.size) && known.mtimeNs === mtimeNs && known.ctimeNs === ctimeNs && known.ino === Number(st.ino) && typeof known.hash === "string" && /^[0-9a-f]{64}$/.test(known.hash)) {
      return { hash: known.hash, size: known.size };
    }
    const ref = await hashFile(path);
    // Written within the clock's last ticks, the file may be written again with every stat field
    // the same (a "racily clean" file, in git's words): its hash is kept only once it is older.
    if (BigInt(Date.now()) * 1_000_000n - st.ctimeNs > RACY_NS) {
      this.entries[path] = { size: ref.size, mtimeNs, ctimeNs, ino: Number(st.ino), hash: ref.hash };
      this.dirty = true;
    }
    return ref;
  }

  save(): void {
    if (this.dirty) writeOwnFile(this.path, JSON.stringify(this.entries));
    this.dirty = false;
  }
}
