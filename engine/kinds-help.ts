import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { BUILTIN_STAGE_DIR, KindRegistry } from "./registry.js";
import { UsageError } from "./errors.js";

/** The registry a pipeline file would use (its stage_paths first), or the built-in kinds alone. */
function registryFor(pipelineFile: string): KindRegistry {
  const dirs = [BUILTIN_STAGE_DIR];
  if (existsSync(pipelineFile)) {
    try {
      const raw = parse(readFileSync(pipelineFile, "utf8")) as { stage_paths?: string[] } | null;
      dirs.unshift(...(raw?.stage_paths ?? []).map((p) => resolve(dirname(pipelineFile), p)));
    } catch {
      /* an invalid pipeline still lets us list the built-in kinds */
    }
  }
  return new KindRegistry(dirs);
}

export async function listKinds(pipelineFile: string): Promise<string> {
  const registry = registryFor(pipelineFile);
  const lines: string[] = [];
  for (const name of registry.names()) {
    const { kind } = await registry.load(name);
    lines.push(`${name.padEnd(12)} v${kind.version}  ${kind.description.split("\n")[0]}`);
  }
  return `${lines.join("\n")}\n\nShow one with: dag kinds <kind>\n`;
}

interface PropSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, PropSchema>;
  items?: PropSchema;
  oneOf?: PropSchema[];
}

/** `number`, `integer | null`, `number | number[]`: what a param takes, in a few characters. */
function typeOf(p: PropSchema): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (p.oneOf) return p.oneOf.map(typeOf).join(" | ");
  return [p.type ?? []].flat().map((t) => (t === "array" && p.items ? `${typeOf(p.items)}[]` : t)).join(" | ");
}

/** A default worth printing inline: scalars, and short lists of scalars ([0.001]). */
function defaultOf(p: PropSchema): string {
  const d = p.default;
  if (d === undefined || (typeof d === "object" && d !== null && !(Array.isArray(d) && d.every((x) => typeof x !== "object")))) return "";
  return ` = ${JSON.stringify(d)}`;
}

export async function describeKind(name: string, pipelineFile: string): Promise<string> {
  const registry = registryFor(pipelineFile);
  if (!registry.has(name)) throw new UsageError(`unknown stage kind "${name}"; known kinds: ${registry.names().join(", ")}`);
  const { kind } = await registry.load(name);
  const lines = [`${kind.name} (version ${kind.version})`, "", kind.description, ""];
  lines.push("inputs:");
  for (const [n, spec] of Object.entries(kind.inputs)) lines.push(`  ${n}: ${spec.type}${spec.each ? ", one task per item" : ""}${spec.optional ? ", optional" : ""} - ${spec.description}`);
  if (!Object.keys(kind.inputs).length) lines.push("  (none)");
  lines.push("outputs:");
  for (const [n, spec] of Object.entries(kind.outputs)) lines.push(`  ${n}: ${spec.type} - ${spec.description}`);
  lines.push("params:");
  const execution = new Set(kind.executionParams ?? []);
  const resolved = new Set(kind.machineKey?.params ?? []);
  const walk = (props: Record<string, PropSchema>, indent: string): void => {
    for (const [n, p] of Object.entries(props)) {
      const keyedAs = resolved.has(n) ? ` [in the cache key as what it resolves to on the machine that plans: ${kind.machineKey!.describe}]` : "";
      const how = indent === "  " && execution.has(n) ? keyedAs || " [not in the cache key: changes how it runs, not the result]" : "";
      const range = [p.minimum !== undefined ? `>= ${p.minimum}` : "", p.maximum !== undefined ? `<= ${p.maximum}` : ""].filter(Boolean).join(", ");
      lines.push(`${indent}${n}: ${typeOf(p)}${defaultOf(p)}${range ? ` (${range})` : ""}${p.description ? ` - ${p.description}` : ""}${how}`);
      if (p.properties) walk(p.properties, `${indent}  `);
    }
  };
  walk((kind.params as PropSchema).properties ?? {}, "  ");
  return `${lines.join("\n")}\n`;
}
