import { existsSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The project's shared data folder: $DAG_SHARED_DATA, else `../shared` beside the project root
 * (tests run from the root). Never an absolute path of one machine, never copied in.
 */
export const SHARED_DIR = process.env["DAG_SHARED_DATA"] ? resolve(process.env["DAG_SHARED_DATA"]) : resolve("../shared");

/**
 * A file of the shared folder, and whether it is there. When it is not, says once which tests
 * are skipped and how to provide it (vitest's skipIf gives no reason of its own).
 */
export function sharedFile(rel: string, usedBy: string): { path: string; present: boolean } {
  const path = resolve(SHARED_DIR, rel);
  const present = existsSync(path);
  if (!present) console.warn(`skipping ${usedBy}: ${path} not found (set DAG_SHARED_DATA to the shared folder, or put it at ../shared beside the project)`);
  return { path, present };
}

/** The real head-embedded recording most real-data tests read. */
export const STYTRA_FILE = "data/real/stytra-head-embedded.h5";
