/**
 * What code in the key costs a no-op run: fingerprinting every built-in stage kind (its module,
 * its local imports, transitively, and the versions of the npm packages they use), with a warm
 * stat cache (what a no-op run pays: one stat per file) and a cold one (first run after a build).
 *
 *   node dist/bench/code-fingerprint.js [repeats=20]
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CodeFingerprints } from "../engine/code-fingerprint.js";
import { BUILTIN_STAGE_DIR } from "../engine/registry.js";
import { median } from "./stats.js";

const repeats = Number(process.argv[2] ?? 20);
const modules = readdirSync(BUILTIN_STAGE_DIR).map((k) => join(BUILTIN_STAGE_DIR, k, "index.js"));
const dir = mkdtempSync(join(tmpdir(), "bench-code-"));
const cacheFile = join(dir, "code-stat.json");

function once(): { ms: number; files: number } {
  const start = process.hrtime.bigint();
  const code = new CodeFingerprints(cacheFile);
  let files = 0;
  for (const m of modules) files += Object.keys(code.of(m).manifest.files).length;
  code.save();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, files };
}

const cold: number[] = [];
const warm: number[] = [];
let files = 0;
for (let i = 0; i < repeats; i++) {
  rmSync(cacheFile, { force: true });
  cold.push(once().ms);
  const w = once();
  warm.push(w.ms);
  files = w.files;
}
rmSync(dir, { recursive: true, force: true });
console.log(`${modules.length} stage kinds, ${files} module files in all (shared files counted per kind)`);
console.log(`cold (no stat cache, every file read and hashed): median ${median(cold).toFixed(2)} ms`);
console.log(`warm (stat cache, what a no-op run pays):        median ${median(warm).toFixed(2)} ms`);
