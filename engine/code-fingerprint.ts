import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { readJsonObject, writeOwnFile } from "../cache/atomic.js";
import { hashJson, sha256 } from "./hash.js";

/**
 * What a stage kind's code is: every local file its module imports, transitively (by path
 * relative to the project, with its content hash), and the installed version of every npm package
 * they import, with those packages' own dependencies. It goes into every task key, so an edit to
 * a stage or to anything under lib/ that it uses makes its cached results stale.
 *
 * The files read are the built `.js` files that workers import, not the `.ts` sources: the key
 * then says what actually runs (an edit not yet built changes nothing, and a kind in a
 * `stage_paths` folder may have no sources at all), and type-only imports, which tsc erases, do
 * not make every stage stale when a shared type changes.
 *
 * What a module loads at run time by a path beside it is in the fingerprint too, where it names
 * that path as ESM modules do, `new URL("literal", import.meta.url)` (the convention bundlers
 * follow): a `.js` file there (a worker thread's module) is code and followed like an import,
 * any other file (the native training addon, a table) is hashed as bytes. So is every file a
 * kind declares in `reads`. A file that is not there is left out, so building it later (the
 * native addon where a compiler appears) changes the fingerprint, as does removing it.
 */
export interface CodeManifest {
  /** Path relative to the project root (the nearest folder with a package.json) -> sha256. */
  files: Record<string, string>;
  /** npm package -> version, for every package imported and what those depend on. */
  packages: Record<string, string>;
  /**
   * What runs the code: the V8 version (major.minor) of this Node, whose Math.* functions and
   * relaxed-SIMD WebAssembly may round differently in another (docs/architecture.md, "Keys").
   * Absent in manifests kept before it was part of the key.
   */
  runtime?: Record<string, string>;
}

/** V8's major.minor: one per Node release line, so a Node patch release keeps every key. */
export const RUNTIME: Record<string, string> = { v8: process.versions.v8.split(".").slice(0, 2).join(".") };

const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === "string");
/** A stat-cache entry as this version writes it (a damaged or older one is hashed again). */
const wholeEntry = (e: FileEntry): boolean => typeof e.hash === "string" && strings(e.local) && strings(e.packages) && strings(e.assets) && typeof e.scanned === "boolean";

interface FileEntry {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
  hash: string;
  /** Local files this one imports (absolute paths) and the npm packages it imports. */
  local: string[];
  packages: string[];
  /** Files it names by `new URL("literal", import.meta.url)` (absolute paths, there or not). */
  assets: string[];
  /** Read as code (the three lists above are filled), not only hashed as data. */
  scanned: boolean;
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

// import x from "a"; export * from "a"; import "a"; import("a"); require("a"); createRequire(url)("a")
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bcreateRequire\([^()]*\)\s*\(\s*)(["'])([^"'\n]+)\1/g;
// new URL("./gradient-worker.js", import.meta.url): a file this module loads at run time
const ASSET = /\bnew\s+URL\(\s*(["'])([^"'\n]+)\1\s*,\s*import\.meta\.url\s*\)/g;
/** An asset with this ending is a module (a worker's): followed like an import rather than hashed as bytes. */
const CODE = /\.[cm]?js$/;

/**
 * Code fingerprints with a stat cache: a file whose size, inode, mtime and ctime are unchanged is not
 * read again (as for input files), so a no-op run pays one stat per file of each kind's code.
 */
export class CodeFingerprints {
  private entries: Record<string, FileEntry> = {};
  private dirty = false;
  private readonly locks = new Map<string, Record<string, LockEntry> | undefined>();
  private readonly memo = new Map<string, { hash: string; manifest: CodeManifest }>();

  /** `cacheFile`: where the stat cache is kept between runs (none: in memory only). */
  constructor(private readonly cacheFile?: string) {
    if (!cacheFile) return;
    // Entries are checked field by field when used: a damaged one is a miss.
    this.entries = readJsonObject(cacheFile) as Record<string, FileEntry>;
  }

  /**
   * The fingerprint of a stage kind's module: a hash, and what it was made of (for `dag status`).
   * `reads`: the files (or folders) the kind declares it reads at run time (`StageKind.reads`).
   */
  of(modulePath: string, reads: readonly URL[] = []): { hash: string; manifest: CodeManifest } {
    const memoKey = [modulePath, ...reads.map(String)].join("\n");
    const known = this.memo.get(memoKey);
    if (known) return known;
    const root = projectRoot(modulePath);
    const files: Record<string, string> = {};
    const packages: Record<string, string> = {};
    const name = (file: string): string => relative(root, file).split(sep).join("/");
    const seen = new Set<string>();
    const pending = [resolve(modulePath)];
    const data = new Set(reads.flatMap((url) => filesUnder(fileURLToPath(url))));
    while (pending.length) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const entry = this.file(file, true);
      files[name(file)] = entry.hash;
      pending.push(...entry.local);
      for (const pkg of entry.packages) this.addPackage(pkg, file, packages);
      for (const asset of entry.assets) {
        if (!isFile(asset)) continue;
        if (CODE.test(asset)) pending.push(asset);
        else data.add(asset);
      }
    }
    for (const file of data) files[name(file)] = this.file(file, false).hash;
    const manifest: CodeManifest = { files: sortKeys(files), packages: sortKeys(packages), runtime: RUNTIME };
    const result = { hash: hashJson(manifest), manifest };
    this.memo.set(memoKey, result);
    return result;
  }

  save(): void {
    if (this.dirty && this.cacheFile) writeOwnFile(this.cacheFile, JSON.stringify(this.entries));
    this.dirty = false;
  }

  /** A file's hash (and, for `code`, what it imports and names), from the stat cache where it is unchanged. */
  private file(path: string, code: boolean): FileEntry {
    const st = statSync(path, { bigint: true });
    const mtimeNs = st.mtimeNs.toString();
    const ctimeNs = st.ctimeNs.toString();
    const known = this.entries[path];
    if (known && known.size === Number(st.size) && known.mtimeNs === mtimeNs && known.ctimeNs === ctimeNs && known.ino === Number(st.ino) && wholeEntry(known) && (known.scanned || !code)) return known;
    const bytes = readFileSync(path);
    const local = new Set<string>();
    const packages = new Set<string>();
    const assets = new Set<string>();
    if (code) {
      const text = bytes.toString("utf8");
      for (const [, , spec] of text.matchAll(SPECIFIER)) {
        if (spec === undefined) continue;
        if (spec.startsWith(".") || spec.startsWith("/")) {
          const target = resolveLocal(dirname(path), spec);
          if (target) local.add(target);
        } else if (!isBuiltin(spec)) {
          packages.add(packageName(spec));
        }
      }
      for (const [, , spec] of text.matchAll(ASSET)) if (spec !== undefined) assets.add(resolve(dirname(path), spec));
    }
    const entry: FileEntry = { size: Number(st.size), mtimeNs, ctimeNs, ino: Number(st.ino), hash: sha256(bytes), local: [...local].sort(), packages: [...packages].sort(), assets: [...assets].sort(), scanned: code };
    this.entries[path] = entry;
    this.dirty = true;
    return entry;
  }

  /** A package's version and, transitively, its dependencies', from the nearest package-lock.json. */
  private addPackage(name: string, fromFile: string, out: Record<string, string>): void {
    const lockDir = findUp(dirname(fromFile), "package-lock.json");
    const lock = lockDir === undefined ? undefined : this.lock(lockDir);
    if (!lock) {
      // No lock file (a kind from another folder): the installed package's own version.
      const version = installedVersion(name, dirname(fromFile));
      if (version) out[name] = version;
      return;
    }
    const pending: [string, string][] = [[name, ""]];
    while (pending.length) {
      const [pkg, under] = pending.pop()!;
      const at = lockPath(lock, pkg, under);
      if (!at) continue;
      const entry = lock[at];
      if (!entry) continue;
      const label = at === `node_modules/${pkg}` ? pkg : at;
      if (out[label] !== undefined) continue;
      out[label] = entry.version ?? "?";
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) pending.push([dep, at]);
    }
  }

  private lock(dir: string): Record<string, LockEntry> | undefined {
    if (!this.locks.has(dir)) {
      try {
        const parsed = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as { packages?: Record<string, LockEntry> };
        this.locks.set(dir, parsed.packages);
      } catch {
        this.locks.set(dir, undefined);
      }
    }
    return this.locks.get(dir);
  }
}

/** Where npm would find `pkg` from the package installed at `under` (lock paths): nested first. */
function lockPath(lock: Record<string, LockEntry>, pkg: string, under: string): string | undefined {
  let base = under;
  for (;;) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${pkg}`;
    if (lock[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut < 0 ? "" : base.slice(0, cut);
  }
}

function resolveLocal(dir: string, spec: string): string | undefined {
  const base = resolve(dir, spec);
  for (const candidate of [base, `${base}.js`, join(base, "index.js")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

/** A declared file, or every file under a declared folder (sorted); nothing where there is nothing. */
function filesUnder(path: string): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return st ? [path] : [];
  return readdirSync(path, { recursive: true, encoding: "utf8" }).sort().map((f) => join(path, f)).filter(isFile);
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function findUp(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, name))) return d;
    if (dirname(d) === d) return undefined;
  }
}

function installedVersion(name: string, dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return (JSON.parse(readFileSync(join(d, "node_modules", name, "package.json"), "utf8")) as { version?: string }).version;
    } catch {
      if (dirname(d) === d) return undefined;
    }
  }
}

/** The folder file paths in a code manifest are relative to: the nearest one with a package.json. */
export function projectRoot(modulePath: string): string {
  return findUp(dirname(resolve(modulePath)), "package.json") ?? dirname(resolve(modulePath));
}

function sortKeys(obj: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * What changed between two code manifests, in words: "code changed: lib/flow/farneback.ts",
 * "file changed: dist/native/convolutions.node". A built file is named by its source where the
 * source sits beside the build (dist/X.js -> X.ts).
 */
export function codeChanges(before: CodeManifest, after: CodeManifest, root?: string): string[] {
  const name = (file: string): string => {
    if (root && file.startsWith("dist/") && file.endsWith(".js")) {
      const source = `${file.slice(5, -3)}.ts`;
      if (existsSync(join(root, source))) return source;
    }
    return file;
  };
  const out: string[] = [];
  const changed = diffKeys(before.files, after.files);
  for (const [what, files] of [["changed", changed.changed], ["added", changed.added], ["no longer used", changed.removed]] as const) {
    const code = files.filter((f) => CODE.test(f));
    const other = files.filter((f) => !CODE.test(f));
    if (code.length) out.push(`code ${what}: ${code.map(name).join(", ")}`);
    if (other.length) out.push(`file ${what}: ${other.join(", ")}`);
  }
  const pk = diffKeys(before.packages, after.packages);
  for (const p of pk.changed) out.push(`package ${p}: ${before.packages[p]} -> ${after.packages[p]}`);
  for (const p of pk.added) out.push(`package added: ${p} ${after.packages[p]}`);
  for (const p of pk.removed) out.push(`package removed: ${p} ${before.packages[p]}`);
  const rt = diffKeys(before.runtime ?? {}, after.runtime ?? {});
  for (const r of [...rt.changed, ...rt.added, ...rt.removed]) out.push(`runtime ${r}: ${before.runtime?.[r] ?? "not in the key"} -> ${after.runtime?.[r] ?? "not in the key"}`);
  return out;
}

function diffKeys(a: Record<string, string>, b: Record<string, string>): { changed: string[]; added: string[]; removed: string[] } {
  const changed = Object.keys(b).filter((k) => k in a && a[k] !== b[k]);
  const added = Object.keys(b).filter((k) => !(k in a));
  const removed = Object.keys(a).filter((k) => !(k in b));
  return { changed, added, removed };
}
