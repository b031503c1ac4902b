import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { ErrorObject } from "ajv";
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { globSync } from "tinyglobby";
import { isCollection, isMap, isScalar, LineCounter, parse as parseYaml, parseDocument, visit, type Document } from "yaml";
import { didYouMean, PipelineError, type Diagnostic } from "./diagnostics.js";
import { pipelineSchema, STAGE_NAME_MAX } from "./pipeline-schema.js";
import { BUILTIN_STAGE_DIR, KindRegistry, type LoadedKind } from "./registry.js";
import type { JsonObject, Resources, StageKind } from "./stage-api.js";

export type InputBinding =
  | { source: "stage"; stage: string; output: string }
  | { source: "glob"; pattern: string; files: string[] }
  | { source: "file"; path: string };

export interface StageNode {
  name: string;
  kindName: string;
  kind: StageKind;
  modulePath: string;
  /** Params with every default filled in. */
  params: JsonObject;
  inputs: Record<string, InputBinding>;
  /** The input this stage maps over, if any. */
  eachInput?: string;
  /** Runs one task per item (mapped over an input, or split by the kind itself). */
  perItem: boolean;
  /** What each task asks of the machine: the kind's defaults overridden by the stage's `resources`. */
  resources: Resources;
  line?: number;
}

export interface Pipeline {
  file: string;
  dir: string;
  seed: number;
  cacheDir: string;
  resultsDir: string;
  /** Stages in a topological order (producers before consumers), in file order where free. */
  stages: StageNode[];
  byName: Map<string, StageNode>;
}

export interface LoadOptions {
  /** `stage.key.sub=value` overrides (values are YAML), applied before validation. */
  set?: string[];
}

interface RawStage {
  kind?: string;
  inputs?: Record<string, unknown>;
  params?: Record<string, unknown>;
  resources?: Resources;
}

/** Read, override, validate and resolve a pipeline file; every problem found is reported at once. */
export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<Pipeline> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new PipelineError([{ file, message: "no such pipeline file", hint: "run dag from the folder that holds pipeline.yaml, or pass --pipeline PATH" }]);
  }
  if (statSync(path).isDirectory()) {
    throw new PipelineError([{ file, message: "is a folder, not a pipeline file", hint: `pass the file: --pipeline ${join(file, "pipeline.yaml")}` }]);
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new PipelineError([{ file, message: `cannot read it: ${(err as Error).message}`, hint: "check that the file is readable by you" }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = positions(file, doc, lines);
  if (doc.errors.length) {
    throw new PipelineError(doc.errors.map((e) => ({ file, ...lines.linePos(e.pos[0]), message: `YAML: ${e.message.split("\n")[0]}` })));
  }
  const unplain = notJson(doc).map(({ offset, message, hint }) => ({ file, ...lines.linePos(offset), message, hint }));
  if (unplain.length) throw new PipelineError(unplain);
  let raw: Record<string, unknown>;
  try {
    raw = (doc.toJS({ maxAliasCount: 1000 }) ?? {}) as Record<string, unknown>;
  } catch (err) {
    // An alias that expands without end (a "billion laughs" file), or one that points nowhere.
    const alias = firstAlias(doc);
    throw new PipelineError([{ file, ...(alias !== undefined ? lines.linePos(alias) : {}), message: `YAML: ${(err as Error).message.split("\n")[0]}`, hint: "write the values out instead of nesting aliases (*name) this deep" }]);
  }
  const diagnostics: Diagnostic[] = [];
  const overridden = applyOverrides(raw, options.set ?? [], file, diagnostics);
  diagnostics.push(...forbiddenKeys(raw, at), ...nonFinite(raw, at, overridden));
  if (diagnostics.length) throw new PipelineError(diagnostics);

  const dir = dirname(path);
  const stagePaths = Array.isArray(raw.stage_paths) ? (raw.stage_paths as unknown[]).filter((p): p is string => typeof p === "string") : [];
  const registry = new KindRegistry([...stagePaths.map((p) => resolve(dir, p)), BUILTIN_STAGE_DIR]);
  (Array.isArray(raw.stage_paths) ? (raw.stage_paths as unknown[]) : []).forEach((p, i) => {
    if (typeof p !== "string") return;
    const folder = resolve(dir, p);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      const d: Diagnostic = { ...at.value(["stage_paths", i]), key: `stage_paths.${i}`, message: `no such folder: ${p} (relative to ${dir})`, hint: "stage_paths lists folders that hold stage kinds, one folder per kind" };
      diagnostics.push(blameOverride(d, overridden.get("stage_paths")));
    }
  });

  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, verbose: true });
  const structure = ajv.compile(pipelineSchema({ params: {}, names: [] }));
  if (!structure(raw)) {
    diagnostics.push(...dedupe(structure.errors ?? []).map((e) => blameOverride(at.fromAjv(e, []), overrideOf(overridden, at.fromAjv(e, []).key ?? ""))));
    throw new PipelineError(diagnostics);
  }

  const rawStages = raw.stages as Record<string, RawStage>;
  const loaded = new Map<string, LoadedKind>();
  for (const [name, stage] of Object.entries(rawStages)) {
    const kindName = stage.kind ?? name;
    if (!registry.has(kindName)) {
      diagnostics.push({
        ...at.key(["stages", name], stage.kind ? "kind" : undefined),
        stage: name,
        message: `unknown stage kind "${kindName}"`,
        hint: `${didYouMean(kindName, registry.names())}known kinds: ${registry.names().join(", ") || "(none)"}${stage.kind ? "" : `; name the kind with "kind:" if the stage is named otherwise`}`,
      });
      continue;
    }
    try {
      loaded.set(name, await registry.load(kindName));
    } catch (err) {
      diagnostics.push({ ...at.key(["stages", name]), stage: name, message: (err as Error).message });
    }
  }

  const nodes = new Map<string, StageNode>();
  for (const [name, stage] of Object.entries(rawStages)) {
    const entry = loaded.get(name);
    if (!entry) continue;
    const { kind } = entry;
    const params = structuredClone(stage.params ?? {}) as JsonObject;
    const validate = ajv.compile(kind.params);
    if (!validate(params)) {
      for (const e of dedupe(validate.errors ?? [])) {
        const d: Diagnostic = { ...at.fromAjv(e, ["stages", name, "params"]), stage: name };
        diagnostics.push(blameOverride(d, overrideOf(overridden, `${name}.${d.key}`)));
      }
    }
    const inputs: Record<string, InputBinding> = {};
    for (const [inputName, binding] of Object.entries(stage.inputs ?? {})) {
      const where = at.key(["stages", name, "inputs"], inputName);
      if (!kind.inputs[inputName]) {
        diagnostics.push({ ...where, stage: name, key: inputName, message: `kind "${kind.name}" has no input "${inputName}"`, hint: `${didYouMean(inputName, Object.keys(kind.inputs))}its inputs: ${Object.keys(kind.inputs).join(", ") || "(none)"}` });
        continue;
      }
      const resolved = resolveBinding(binding, dir);
      if (typeof resolved === "string") diagnostics.push({ ...at.value(["stages", name, "inputs", inputName]), stage: name, key: inputName, message: resolved });
      else inputs[inputName] = resolved;
    }
    for (const [inputName, spec] of Object.entries(kind.inputs)) {
      if (!spec.optional && !(stage.inputs && inputName in stage.inputs)) {
        diagnostics.push({ ...at.key(["stages", name]), stage: name, key: `inputs.${inputName}`, message: `missing input "${inputName}" (${spec.description})`, hint: `add inputs: { ${inputName}: <stage>.<output> }` });
      }
    }
    const eachInput = Object.entries(kind.inputs).find(([, spec]) => spec.each)?.[0];
    nodes.set(name, {
      name, kindName: kind.name, kind, modulePath: entry.modulePath, params, inputs,
      eachInput: eachInput && inputs[eachInput] ? eachInput : undefined,
      perItem: Boolean((eachInput && inputs[eachInput]) || kind.split),
      // Validated with the file's structure; each one the stage sets replaces the kind's default.
      resources: { ...(kind.resources ?? {}), ...(stage.resources ?? {}) } satisfies Resources,
      line: at.key(["stages", name]).line,
    });
  }

  checkReferences(nodes, at, diagnostics);
  diagnostics.push(...sameButCase([...Object.keys(rawStages)], at));
  const cacheDir = resolve(dir, (raw.cache as string | undefined) ?? ".dag");
  const resultsDir = resolve(dir, (raw.results as string | undefined) ?? "results");
  diagnostics.push(...checkFolders(raw, dir, { cache: cacheDir, results: resultsDir }, at, overridden));
  if (diagnostics.length) throw new PipelineError(diagnostics);
  const order = topologicalOrder(nodes, at);

  return {
    file: path,
    dir,
    seed: (raw.seed as number | undefined) ?? 0,
    cacheDir,
    resultsDir,
    stages: order.map((n) => nodes.get(n)!),
    byName: nodes,
  };
}

function resolveBinding(binding: unknown, dir: string): InputBinding | string {
  if (typeof binding === "string") {
    const [stage = "", output = ""] = binding.split(".");
    return { source: "stage", stage, output };
  }
  const b = binding as { glob?: string; file?: string };
  if (b.glob !== undefined) {
    let files: string[];
    try {
      files = globSync(b.glob, { cwd: dir, absolute: true, onlyFiles: true }).sort();
    } catch (err) {
      return `cannot list the files of the glob "${b.glob}" (relative to ${dir}): ${(err as Error).message}; check that its folders are readable`;
    }
    if (!files.length) return `no file matches the glob "${b.glob}" (relative to ${dir}; folders that do not exist or are not readable match nothing)`;
    return { source: "glob", pattern: b.glob, files };
  }
  const path = isAbsolute(b.file!) ? b.file! : join(dir, b.file!);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return `no such file: ${b.file} (relative to ${dir})`;
  if (st.isDirectory()) return `${b.file} is a folder, not a file; for the files in it write { glob: "${b.file!.replace(/\/+$/, "")}/*" }`;
  if (!st.isFile()) return `${b.file} is not a regular file (a pipe, socket or device): an input is read whole and hashed, so it must be a file`;
  return { source: "file", path };
}

function checkReferences(nodes: Map<string, StageNode>, at: Positions, diagnostics: Diagnostic[]): void {
  for (const node of nodes.values()) {
    for (const [inputName, binding] of Object.entries(node.inputs)) {
      const where = { ...at.value(["stages", node.name, "inputs", inputName]), stage: node.name, key: inputName };
      // Inputs were checked against the kind's when the node was made.
      const spec = node.kind.inputs[inputName]!;
      let producedType: "collection" | "artifact";
      if (binding.source === "stage") {
        const producer = nodes.get(binding.stage);
        if (!producer) {
          diagnostics.push({ ...where, message: `no stage "${binding.stage}" produces "${binding.stage}.${binding.output}"`, hint: `${didYouMean(binding.stage, nodes.keys())}stages: ${[...nodes.keys()].join(", ")}; for a file write { file: path } or { glob: pattern }` });
          continue;
        }
        const out = producer.kind.outputs[binding.output];
        if (!out) {
          diagnostics.push({ ...where, message: `stage "${binding.stage}" (kind ${producer.kindName}) has no output "${binding.output}"`, hint: `${didYouMean(binding.output, Object.keys(producer.kind.outputs))}its outputs: ${Object.keys(producer.kind.outputs).join(", ")}` });
          continue;
        }
        producedType = producer.perItem ? "collection" : out.type;
      } else {
        producedType = binding.source === "glob" ? "collection" : "artifact";
      }
      if (producedType !== spec.type) {
        diagnostics.push({ ...where, message: `input "${inputName}" takes ${a(spec.type)} but gets ${a(producedType)}` });
      }
    }
  }
}

/** Stage names that differ only in case share a folder under results/ on macOS and Windows. */
function sameButCase(names: string[], at: Positions): Diagnostic[] {
  const first = new Map<string, string>();
  const out: Diagnostic[] = [];
  for (const name of names) {
    const earlier = first.get(name.toLowerCase());
    if (earlier === undefined) first.set(name.toLowerCase(), name);
    else out.push({ ...at.key(["stages", name]), stage: name, message: `differs from stage "${earlier}" only in case: on macOS and Windows their folders under results/ would be one`, hint: "rename one of them" });
  }
  return out;
}

/**
 * `dag clean` deletes the cache and results folders, and each published stage replaces its folder
 * under results/: neither may hold the pipeline file, nor lie in the other.
 */
function checkFolders(raw: Record<string, unknown>, dir: string, folders: { cache: string; results: string }, at: Positions, overridden: Map<string, string>): Diagnostic[] {
  const within = (inner: string, outer: string): boolean => {
    const rel = relative(outer, inner);
    return !rel.startsWith("..") && !isAbsolute(rel);
  };
  const problem = (key: "cache" | "results", message: string): Diagnostic =>
    blameOverride({ ...at.value([key]), key, message, hint: `give ${key} a folder of its own, e.g. ${key}: ${key === "cache" ? ".dag" : "results"}` }, overridden.get(key));
  const out: Diagnostic[] = [];
  for (const key of ["cache", "results"] as const) {
    if (within(dir, folders[key])) out.push(problem(key, `${folders[key]} holds the pipeline file: dag clean would delete it and everything beside it`));
  }
  if (!out.length && (within(folders.cache, folders.results) || within(folders.results, folders.cache))) {
    const key = raw.results !== undefined ? "results" : "cache";
    out.push(problem(key, `the cache (${folders.cache}) and results (${folders.results}) folders overlap: publishing a stage or dag clean would delete the other's files`));
  }
  return out;
}

function a(type: string): string {
  return type === "artifact" ? "an artifact (one set of files)" : "a collection (a list of items)";
}

function topologicalOrder(nodes: Map<string, StageNode>, at: Positions): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const trail: string[] = [];
  const visit = (name: string): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      throw new PipelineError([{ ...at.key(["stages", name]), stage: name, message: `the stages form a cycle: ${cycle.join(" -> ")}`, hint: "a stage cannot depend on its own outputs; remove one of these inputs" }]);
    }
    state.set(name, "visiting");
    trail.push(name);
    for (const binding of Object.values(nodes.get(name)!.inputs)) if (binding.source === "stage") visit(binding.stage);
    trail.pop();
    state.set(name, "done");
    order.push(name);
  };
  for (const name of nodes.keys()) visit(name);
  return order;
}

/**
 * `a.b.c=value` into the raw document; the first segment is a stage (its params) or a top-level
 * key. Returns which dotted keys were set by which assignment, so errors can point at the flag.
 */
function applyOverrides(raw: Record<string, unknown>, sets: string[], file: string, diagnostics: Diagnostic[]): Map<string, string> {
  const overridden = new Map<string, string>();
  for (const assignment of sets) {
    const eq = assignment.indexOf("=");
    const where = `--set ${assignment}`;
    if (eq <= 0) {
      diagnostics.push({ file: where, message: "expected KEY=VALUE, e.g. --set train.epochs=5" });
      continue;
    }
    const path = assignment.slice(0, eq).split(".");
    const [head = "", ...rest] = path;
    const last = path[path.length - 1] ?? "";
    const bad = path.find((k) => FORBIDDEN_KEYS.has(k) || !k);
    if (bad !== undefined) {
      diagnostics.push({ file: where, message: bad ? `"${bad}" cannot be a key` : "a key cannot be empty", hint: "keys are stage names and their params, e.g. --set train.epochs=5" });
      continue;
    }
    let value: unknown;
    try {
      value = parseYaml(assignment.slice(eq + 1));
    } catch (err) {
      diagnostics.push({ file: where, message: `the value is not valid YAML: ${(err as Error).message.split("\n")[0]}`, hint: "quote text with spaces or YAML's special characters: --set 'train.note=\"a: b\"'" });
      continue;
    }
    if (!rest.length) {
      raw[head] = value;
      overridden.set(head, assignment);
      continue;
    }
    const stages = raw.stages as Record<string, RawStage> | undefined;
    if (!stages || !Object.hasOwn(stages, head)) {
      diagnostics.push({ file: where, message: `no stage "${head}" in ${file}`, hint: `${didYouMean(head, Object.keys(stages ?? {}))}stages: ${Object.keys(stages ?? {}).join(", ")}` });
      continue;
    }
    const stage = stages[head];
    if (!isPlainObject(stage) || (stage.params !== undefined && !isPlainObject(stage.params))) {
      const what = isPlainObject(stage) ? `the params of stage "${head}"` : `stage "${head}"`;
      diagnostics.push({ file: where, message: `${what} in ${file} is not a mapping, so it has no key to set`, hint: `write the stage as a mapping, e.g. ${head}: { params: { ${path[1]}: ... } }` });
      continue;
    }
    let target = (stage.params ??= {}) as Record<string, unknown>;
    for (const key of path.slice(1, -1)) {
      if (!Object.hasOwn(target, key) || typeof target[key] !== "object" || target[key] === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[last] = value;
    overridden.set(path.join("."), assignment);
  }
  return overridden;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Keys that would reach an object's prototype: never a stage or a param. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** The --set flag that gave the value at a dotted key, or one of its parents (`train.lr.1` in `train.lr=[...]`). */
function overrideOf(overridden: Map<string, string>, dotted: string): string | undefined {
  const parts = dotted.split(".");
  for (let n = parts.length; n > 0; n--) {
    const flag = overridden.get(parts.slice(0, n).join("."));
    if (flag) return flag;
  }
  // A flag below it (`train.epochs.x=1` made `epochs` a mapping).
  return [...overridden].find(([key]) => key.startsWith(`${dotted}.`))?.[1];
}

/** A problem in a value that a --set flag gave is the flag's, not the file's. */
function blameOverride(d: Diagnostic, assignment: string | undefined): Diagnostic {
  return assignment ? { ...d, file: `--set ${assignment}`, line: undefined, col: undefined } : d;
}

/** Every path in a plain JSON-like value, with the value there. */
function* leaves(value: unknown, path: string[] = []): Generator<[string[], unknown]> {
  yield [path, value];
  if (typeof value !== "object" || value === null) return;
  for (const [k, v] of Object.entries(value)) yield* leaves(v, [...path, k]);
}

function forbiddenKeys(raw: Record<string, unknown>, at: Positions): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [path] of leaves(raw)) {
    const key = path.at(-1);
    if (key !== undefined && FORBIDDEN_KEYS.has(key)) out.push({ ...at.key(path), key: path.join("."), message: `"${key}" cannot be a key`, hint: "rename it" });
  }
  return out;
}

/** Numbers YAML reads as infinite or not-a-number (1e309, .inf, .nan): no parameter means them. */
function nonFinite(raw: Record<string, unknown>, at: Positions, overridden: Map<string, string>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [path, value] of leaves(raw)) {
    if (typeof value !== "number" || Number.isFinite(value)) continue;
    const dotted = path[0] === "stages" ? path.slice(1).filter((_, i) => i !== 1 || path[2] !== "params").join(".") : path.join(".");
    const d: Diagnostic = { ...at.value(path), key: path.join("."), message: `${value} is not a finite number`, hint: "a number this large (or .inf, .nan) has no meaning here; write a finite value" };
    out.push(blameOverride(d, overrideOf(overridden, dotted)));
  }
  return out;
}

const JSON_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * What toJS would turn into something other than JSON: a list or mapping as a key (stringified,
 * with a Node warning) and values tagged !!binary, !!set, !!omap, !!pairs or !!timestamp
 * (Uint8Array, Set, Map, Date: the schemas would see their bytes or entries as keys).
 */
function notJson(doc: Document): { offset: number; message: string; hint: string }[] {
  const found: { offset: number; message: string; hint: string }[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) {
        found.push({ offset: pair.key.range?.[0] ?? 0, message: "a key that is a list or a mapping (YAML's \"? \" key)", hint: "write each key as a plain name: a stage, input or parameter name" });
      }
    },
    Node(_, node) {
      if (node.tag?.startsWith("tag:yaml.org,2002:") && !JSON_TAGS.has(node.tag)) {
        found.push({ offset: node.range?.[0] ?? 0, message: `a value tagged !!${node.tag.slice("tag:yaml.org,2002:".length)}`, hint: "write plain values: text, numbers, true/false, null, lists and mappings" });
      }
    },
  });
  return found;
}

/** The offset of the first alias (*name) in a document, for a message about aliases. */
function firstAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, { Alias(_, node) {
    offset = node.range?.[0];
    return visit.BREAK;
  } });
  return offset;
}

function dedupe(errors: ErrorObject[]): ErrorObject[] {
  // oneOf/anyOf failures repeat once per branch; keep the branch-level summary and the specific ones.
  const seen = new Set<string>();
  return withoutOtherShapes(errors).filter((e) => {
    const id = `${e.instancePath}|${e.propertyName}|${e.keyword}|${JSON.stringify(e.params)}`;
    // A bad stage name: its own error says which; "propertyNames" only repeats it.
    if (seen.has(id) || e.keyword === "if" || e.keyword === "propertyNames") return false;
    seen.add(id);
    return true;
  });
}

/**
 * A value that fails every branch of a oneOf/anyOf fails the branches of other shapes only
 * because it is not of their type (`lr: -1` is no list): say what is wrong with it in the closest
 * branch of its own shape, and nothing of the others. When no branch has its shape, the summary stays.
 */
function withoutOtherShapes(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  for (const choice of errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf")) {
    const prefix = `${choice.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const e of out) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const branch = e.schemaPath.slice(prefix.length).split("/")[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const otherShape = (list: ErrorObject[]) => list.some((e) => e.keyword === "type" && e.instancePath === choice.instancePath);
    const ownShape = [...branches.values()].filter((list) => !otherShape(list));
    // Of the branches of its shape, the closest: the fewest errors (`{corner: middle, size: 3}` is
    // a corner square with a wrong corner, not a rectangle missing four keys).
    const closest = Math.min(...ownShape.map((list) => list.length));
    const drop = new Set([...branches.values()].filter((list) => otherShape(list) || list.length > closest).flat());
    if (ownShape.length) drop.add(choice);
    out = out.filter((e) => !drop.has(e));
  }
  return out;
}

type Where = Pick<Diagnostic, "file" | "line" | "col">;

interface Positions {
  key(path: (string | number)[], key?: string): Where;
  value(path: (string | number)[]): Where;
  fromAjv(e: ErrorObject, base: (string | number)[]): Diagnostic;
}

function positions(file: string, doc: Document, lines: LineCounter): Positions {
  const pos = (offset: number | undefined): { line?: number; col?: number } =>
    offset === undefined ? {} : lines.linePos(offset);
  const nodeAt = (path: (string | number)[]): unknown => {
    // Walk as deep as the document goes, so a missing key points at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (node) return node;
    }
    return undefined;
  };
  const rangeStart = (node: unknown): number | undefined => (node as { range?: [number] } | undefined)?.range?.[0];
  const key = (path: (string | number)[], keyName?: string): Where => {
    const parentPath = keyName === undefined ? path.slice(0, -1) : path;
    const wanted = keyName ?? path[path.length - 1];
    const parent = nodeAt(parentPath);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(wanted));
      if (pair) return { file, ...pos(rangeStart(pair.key)) };
    }
    return { file, ...pos(rangeStart(parent)) };
  };
  const value = (path: (string | number)[]): Where => ({ file, ...pos(rangeStart(nodeAt(path))) });
  return {
    key,
    value,
    fromAjv(e, base) {
      const path = [...base, ...e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))];
      const dotted = path.slice(base.length ? 3 : 0).join(".");
      const stageIndex = base.length ? undefined : path[0] === "stages" ? path[1] : undefined;
      if (e.keyword === "additionalProperties") {
        const extra = String(e.params.additionalProperty);
        return { ...key(path, extra), stage: stageIndex as string | undefined, key: dotted ? `${dotted}.${extra}` : extra, message: `unknown key "${extra}"`, hint: allowedKeys(e, extra) };
      }
      if (e.propertyName !== undefined) {
        const name = e.propertyName;
        const suggestion = name.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^(?=[0-9-]|$)/, "_").slice(0, STAGE_NAME_MAX);
        return { ...key(path, name), message: `stage name "${name.length > 80 ? `${name.slice(0, 80)}...` : name}" is not allowed: a stage name is a letter or _, then letters, digits, _ and - (at most ${STAGE_NAME_MAX} characters)`, hint: `rename it, e.g. ${suggestion}` };
      }
      if (e.keyword === "required") {
        return { ...key(path.length ? path : [], undefined), key: dotted || undefined, message: `missing required key "${e.params.missingProperty}"` };
      }
      return { ...value(path), stage: stageIndex as string | undefined, key: dotted || undefined, message: describe(e) };
    },
  };
}

function allowedKeys(e: ErrorObject, extra: string): string | undefined {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? `${didYouMean(extra, Object.keys(props))}allowed keys: ${Object.keys(props).join(", ")}` : undefined;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case "type": return `expected ${e.params.type}`;
    case "enum": return `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const": return `expected ${JSON.stringify(e.params.allowedValue)}`;
    case "minimum": case "maximum": case "exclusiveMinimum": case "exclusiveMaximum":
      return `expected a number ${e.params.comparison} ${e.params.limit}`;
    case "oneOf":
    case "anyOf":
      return /\/inputs\/[^/]+$/.test(e.instancePath)
        ? "expected `<stage>.<output>`, `{ glob: pattern }` or `{ file: path }`"
        : `expected ${[...new Set((e.schema as { type?: unknown }[]).map((b) => (typeof b.type === "string" ? b.type : Array.isArray(b.type) ? b.type.join(" or ") : "object")))].join(" or ")}`;
    case "pattern": return `does not match the pattern ${e.params.pattern}`;
    default: return e.message ?? e.keyword;
  }
}

/** A path for messages: relative to the working directory when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && rel.length < path.length ? rel : path;
}
