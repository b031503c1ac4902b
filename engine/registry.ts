import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { UsageError } from "./errors.js";
import type { StageKind } from "./stage-api.js";

/** The stage kinds shipped with the project (compiled next to the engine). */
export const BUILTIN_STAGE_DIR = fileURLToPath(new URL("../stages/", import.meta.url));

export interface LoadedKind {
  kind: StageKind;
  /** The module a worker imports to run this kind. */
  modulePath: string;
}

/**
 * Stage kinds by name, found as `<dir>/<kind>/index.js` in the given directories (a pipeline's
 * `stage_paths` first, then the built-in ones). Kinds are imported on first use only.
 */
export class KindRegistry {
  private readonly found = new Map<string, string>();
  private readonly loaded = new Map<string, LoadedKind>();

  constructor(dirs: string[]) {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).sort()) {
        const modulePath = join(resolve(dir), name, "index.js");
        if (!this.found.has(name) && existsSync(modulePath)) this.found.set(name, modulePath);
      }
    }
  }

  names(): string[] {
    return [...this.found.keys()].sort();
  }

  has(name: string): boolean {
    return this.found.has(name);
  }

  async load(name: string): Promise<LoadedKind> {
    const cached = this.loaded.get(name);
    if (cached) return cached;
    const modulePath = this.found.get(name);
    if (!modulePath) throw new UsageError(`unknown stage kind "${name}"`);
    const mod = (await import(pathToFileURL(modulePath).href)) as { default?: StageKind };
    const kind = mod.default;
    if (!kind || typeof kind.run !== "function" || kind.name !== name) {
      throw new UsageError(`${modulePath} does not default-export a stage kind named "${name}" (see engine/stage-api.ts)`);
    }
    const known = Object.keys((kind.params as { properties?: object }).properties ?? {});
    const stray = (kind.executionParams ?? []).filter((p) => !known.includes(p));
    if (stray.length) throw new UsageError(`${modulePath}: executionParams ${stray.join(", ")} are not params of "${name}" (its params: ${known.join(", ") || "none"})`);
    const notFileUrls = (kind.reads ?? []).filter((r) => !(r instanceof URL) || r.protocol !== "file:");
    if (notFileUrls.length) throw new UsageError(`${modulePath}: reads must list file URLs, e.g. new URL("./table.csv", import.meta.url) (got ${notFileUrls.map(String).join(", ")})`);
    const entry = { kind, modulePath };
    this.loaded.set(name, entry);
    return entry;
  }
}
