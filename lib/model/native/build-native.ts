/**
 * Builds the native kernels (addon.c over ../wasm-simd/convolutions.c, AVX2 + FMA, and adam.c)
 * into dist/native/ as the last step of `npm run build` (which `npm ci` runs): with the C
 * compiler `cc` (or $CC) and the headers of the Node that runs this, on x86-64 Linux or macOS.
 * Never fails the build: where something is missing it says what, writes the reason to
 * dist/native/build.json, and training uses the WebAssembly kernels. Nothing is downloaded.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE_ADDON, NATIVE_REPORT, type NativeBuildReport } from "./paths.js";

const source = (name: string) => fileURLToPath(new URL(`../../../../lib/model/${name}`, import.meta.url));

/** Node's own headers: beside the executable (official builds, Debian), or npm's nodedir. */
function nodeHeaders(): string | null {
  const candidates = [join(dirname(process.execPath), "..", "include", "node")];
  const nodedir = process.env["npm_config_nodedir"];
  if (nodedir) candidates.unshift(join(nodedir, "include", "node"));
  return candidates.find((dir) => existsSync(join(dir, "node_api.h"))) ?? null;
}

function run(compiler: string, args: string[]): string | null {
  const result = spawnSync(compiler, args, { encoding: "utf8" });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return `no C compiler "${compiler}" here (install gcc or clang, e.g. apt-get install gcc, or set CC; then npm run build)`;
  if (result.error) return `${compiler} did not run (${code ?? result.error.message})`;
  if (result.status !== 0) return `${compiler} ${args.at(-1)} failed: ${(result.stderr || result.stdout).trim().split("\n").slice(0, 3).join(" / ")}`;
  return null;
}

function build(): NativeBuildReport {
  if (process.arch !== "x64") return { built: false, reason: `the native kernels are AVX2 code for x86-64; this is ${process.arch}` };
  if (process.platform !== "linux" && process.platform !== "darwin") return { built: false, reason: `not built on ${process.platform} (Linux and macOS only)` };
  const headers = nodeHeaders();
  if (!headers) return { built: false, reason: `no node_api.h beside ${process.execPath} (a Node without its headers; set npm_config_nodedir to a Node source or install tree)` };
  const compiler = process.env["CC"] || "cc";
  const work = mkdtempSync(join(dirname(fileURLToPath(NATIVE_ADDON)), ".build-")); // same file system: the rename is atomic
  try {
    const common = ["-std=gnu11", "-fPIC", "-Wall", "-c"];
    const failed =
      run(compiler, [...common, "-O3", "-mavx2", "-mfma", "-ffp-contract=off", "-o", join(work, "convolutions.o"), source("wasm-simd/convolutions.c")]) ??
      run(compiler, [...common, "-O3", "-ffp-contract=off", "-o", join(work, "adam.o"), source("native/adam.c")]) ??
      run(compiler, [...common, "-O2", `-I${headers}`, "-o", join(work, "addon.o"), source("native/addon.c")]) ??
      run(compiler, ["-shared", ...(process.platform === "darwin" ? ["-undefined", "dynamic_lookup"] : []), "-o", join(work, "convolutions.node"),
        join(work, "convolutions.o"), join(work, "adam.o"), join(work, "addon.o"), "-lpthread", "-lm"]);
    if (failed) return { built: false, reason: failed };
    renameSync(join(work, "convolutions.node"), fileURLToPath(NATIVE_ADDON));
    return { built: true, reason: `built with ${compiler} against ${headers}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const target = fileURLToPath(NATIVE_ADDON);
mkdirSync(dirname(target), { recursive: true });
rmSync(target, { force: true }); // never leave an addon built from other sources behind
const report = build();
writeFileSync(fileURLToPath(NATIVE_REPORT), `${JSON.stringify(report, null, 2)}\n`);
console.log(report.built
  ? `native training kernels (AVX2 + FMA): ${report.reason}`
  : `native training kernels not built: ${report.reason}; training uses the WebAssembly kernels`);
