/**
 * How a model's inputs were made: the preprocessing its training samples went through (frame
 * rate, crop, mask, subsampling, flow), recorded in model.json by train, and checked against new
 * samples before a model classifies them. A model trained on 300 fps, 128-px crops and shown
 * 200 fps, 70-px ones gives confident nonsense; this says so instead, parameter by parameter.
 */
import type { Json, ItemIn } from "../../engine/stage-api.js";
import { CLASS_NAMES } from "../classes.js";
import { readHdf5Arrays } from "../flow/hdf5-io.js";
import { mainFile } from "../main-file.js";
import type { Architecture } from "./architecture.js";
import { dataProfile, sampleStatistics, type DataProfile } from "./data-profile.js";
import type { ExampleRef, SampleSource } from "./dataset.js";
import { eventOf } from "./metrics.js";

/** What the samples' items and files tell of how they were made; null where they do not say. */
export interface SampleRecipe {
  /** Frames per second of the recordings. */
  fps: number | null;
  /** Rows x columns of the crop the samples hold (pixels). */
  crop: string | null;
  /** The mask stage's regions and value as JSON; "none" when no mask was applied. */
  mask: string;
  /** Subsamples per event (the subsample stage's count). */
  subsamples: number | null;
  /** Frames kept per subsample (the paper: 86 of 150). */
  kept_frames: number | null;
  /** Flow pairs per subsample (kept frames - 1), of which the files hold every `pair_stride`-th. */
  flow_pairs: number | null;
  pair_stride: number | null;
  /** Farneback's parameters as JSON. */
  farneback: string | null;
  /** The flow's clamp (pixels per pair); 0: none. */
  clip_px: number | null;
  /** JPEG quality of the flow; 0: none. */
  jpeg_quality: number | null;
}

/** What a model file records: the training samples' recipe, and what the network itself reads. */
export interface ModelRecipe extends SampleRecipe {
  input_size: number;
  flow_stride: number;
  classes: string[];
}

/** One value every item shares under `key` (a number, or JSON of anything else), or null when none has it. */
function shared(items: ItemIn[], what: string, value: (item: ItemIn) => Json | undefined): Json | null {
  const seen = new Map<string, Json>();
  for (const item of items) {
    const v = value(item);
    if (v !== undefined && v !== null) seen.set(JSON.stringify(v), v);
  }
  if (seen.size > 1) {
    throw new Error(`the samples differ in ${what} (${[...seen.keys()].slice(0, 4).join(", ")}): classify them in separate stages, one per way they were made`);
  }
  return seen.size ? [...seen.values()][0]! : null;
}

const num = (v: Json | null): number | null => (typeof v === "number" ? v : null);

/** The recipe of a set of samples (flow.samples items): their meta, and the root attributes of one sample file. */
export async function sampleRecipe(items: ItemIn[]): Promise<SampleRecipe> {
  const first = items[0] ? mainFile(items[0], "sample") : undefined;
  const attrs = first ? (await readHdf5Arrays(first, [])).attrs : {};
  const perEvent = new Map<string, number>();
  for (const item of items) perEvent.set(eventOf(item.id), (perEvent.get(eventOf(item.id)) ?? 0) + 1);
  const rows = shared(items, "crop rows", (i) => i.meta["rows"]);
  const cols = shared(items, "crop columns", (i) => i.meta["cols"]);
  const indices = shared(items, "kept frames", (i) => (Array.isArray(i.meta["indices"]) ? i.meta["indices"].length : undefined));
  const mask = shared(items, "mask", (i) => i.meta["mask"]);
  const maskRegions = mask && typeof mask === "object" && !Array.isArray(mask) && Array.isArray(mask["regions"]) ? mask["regions"] : [];
  const attr = (name: string): number | null => {
    const v = attrs[name];
    return typeof v === "number" ? v : Array.isArray(v) && typeof v[0] === "number" ? v[0] : null;
  };
  return {
    fps: num(shared(items, "fps", (i) => i.meta["fps"])),
    crop: rows !== null && cols !== null ? `${rows}x${cols}` : null,
    mask: maskRegions.length ? JSON.stringify(mask) : "none",
    subsamples: perEvent.size ? Math.max(...perEvent.values()) : null,
    kept_frames: num(indices),
    flow_pairs: num(shared(items, "flow pairs", (i) => i.meta["flow_pairs"])),
    pair_stride: num(shared(items, "pair_stride", (i) => i.meta["pair_stride"])),
    farneback: typeof attrs["farneback"] === "string" ? attrs["farneback"] : null,
    clip_px: attr("clip_px"),
    jpeg_quality: attr("jpeg_quality"),
  };
}

/** The recipe a model file records: its training samples' and the network's own. */
export function modelRecipe(samples: SampleRecipe, arch: Architecture): ModelRecipe {
  return { ...samples, input_size: arch.input_size, flow_stride: arch.flow_stride, classes: [...CLASS_NAMES].slice(0, arch.classes) };
}

const UNITS: Partial<Record<keyof SampleRecipe, string>> = { fps: " frames/s", crop: " px", clip_px: " px per pair (0: none)", jpeg_quality: " (0: none)" };

const show = (key: keyof SampleRecipe, v: Json | null): string => (v === null ? "unknown" : `${typeof v === "string" ? v : JSON.stringify(v)}${UNITS[key] ?? ""}`);

/** Farneback's parameters one by one, so that a message names the one that differs. */
function farnebackDifferences(model: string, data: string): string[] {
  const parse = (s: string): Record<string, Json> => {
    try {
      return JSON.parse(s) as Record<string, Json>;
    } catch {
      return {};
    }
  };
  const [m, d] = [parse(model), parse(data)];
  return [...new Set([...Object.keys(m), ...Object.keys(d)])]
    .filter((k) => JSON.stringify(m[k]) !== JSON.stringify(d[k]))
    .map((k) => `flow ${k}: the model was trained on ${JSON.stringify(m[k] ?? null)}, these samples were made with ${JSON.stringify(d[k] ?? null)}`);
}

/**
 * Every way the samples were made differently from the model's training samples, one line per
 * parameter with both values. Unknown values (a sample set that does not say) are not compared.
 * The subsample count is not compared: it changes how many samples an event has, not what one is.
 */
export function recipeMismatches(model: ModelRecipe, data: SampleRecipe, classes: { names: string[]; from: string } | null): string[] {
  const out: string[] = [];
  const compare = (key: keyof SampleRecipe, what: string): void => {
    const [m, d] = [model[key], data[key]];
    if (m === null || d === null || m === d) return;
    out.push(`${what}: the model was trained on ${show(key, m)}, these samples are ${show(key, d)}`);
  };
  compare("fps", "fps");
  compare("crop", "crop");
  if (model.mask !== data.mask) {
    const said = (m: string) => (m === "none" ? "not masked" : `masked ${m}`);
    out.push(`mask: the model was trained on samples ${said(model.mask)}, these samples are ${said(data.mask)}${model.mask === "none" ? " (the model was trained before the masking change: retrain it on masked samples)" : ""}`);
  }
  compare("kept_frames", "kept frames per subsample");
  compare("flow_pairs", "flow pairs per subsample");
  if (data.pair_stride !== null && model.flow_stride % data.pair_stride !== 0) {
    const trained = model.pair_stride ?? model.flow_stride;
    out.push(`flow pair_stride: the model was trained on pair_stride ${trained} (it reads flow pairs 0, ${model.flow_stride}, ${2 * model.flow_stride}, ...), these samples are pair_stride ${data.pair_stride}, which does not hold them all: set flow.pair_stride to ${trained} (or another divisor of ${model.flow_stride})`);
  }
  if (model.farneback !== null && data.farneback !== null && model.farneback !== data.farneback) out.push(...farnebackDifferences(model.farneback, data.farneback));
  compare("clip_px", "flow clip_px");
  compare("jpeg_quality", "flow jpeg_quality");
  // "?": a label no sample names (a set of one class), nothing to compare.
  if (classes && classes.names.some((name, label) => name !== "?" && name !== model.classes[label])) {
    out.push(`classes: the model was trained on [${model.classes.join(", ")}] (label 0, 1, ...), ${classes.from} [${classes.names.join(", ")}]`);
  }
  return out;
}

/** The class names labelled samples give their labels (index = label; "?" for a label none names), or null for unlabelled ones. */
export function labelledClasses(items: ItemIn[]): string[] | null {
  const names: string[] = [];
  for (const item of items) {
    const [label, name] = [item.meta["label"], item.meta["class"]];
    if (typeof label === "number" && Number.isInteger(label) && label >= 0 && typeof name === "string") names[label] = name;
  }
  return names.length ? Array.from(names, (n) => n ?? "?") : null;
}

/** A model file's recipe, or null for a model saved before models recorded one. */
export function recipeOfModel(metadata: Record<string, unknown>): ModelRecipe | null {
  const r = metadata["inputs"];
  return r && typeof r === "object" && "classes" in r && "input_size" in r ? (r as ModelRecipe) : null;
}

/**
 * What train writes into model.json beside the architecture: how the samples were made
 * (`inputs`) and the training samples' statistics (`training_data`). Reading the training
 * samples through the trainer's own cache costs one pass that the first epoch then saves.
 */
export async function trainingRecord(items: ItemIn[], train: ExampleRef[], source: SampleSource, arch: Architecture): Promise<{ inputs: ModelRecipe; training_data: DataProfile }> {
  const rows: Record<string, number>[] = [];
  for (const example of train) rows.push(sampleStatistics(await source.get(example)));
  return { inputs: modelRecipe(await sampleRecipe(items), arch), training_data: dataProfile(rows) };
}
