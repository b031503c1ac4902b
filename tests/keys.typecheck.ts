/**
 * Compile-time checks, run by `npm run typecheck` (never executed): a task key and a blob hash
 * are both 64 hex digits, and the types keep them apart.
 */
import type { Cache } from "../cache/cache.js";
import type { BlobHash, TaskKey } from "../cache/records.js";
import { taskKey } from "../engine/hash.js";

declare const cache: Cache;
declare const blob: BlobHash;
const key: TaskKey = taskKey({ kind: "k", version: 1, code: "c", params: {}, seed: 1, inputs: {} });

cache.record(key);
cache.blobPath(blob);
// @ts-expect-error a task key is not where a blob hash is meant
cache.blobPath(key);
// @ts-expect-error a blob hash is not where a task key is meant
cache.record(blob);
// @ts-expect-error a plain string is neither: it must come from hashing (or a listing of the store)
cache.record("0123");
