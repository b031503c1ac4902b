/**
 * The classify stage through the real stages (synthesize .. flow, train, evaluate), one tiny
 * trained model shared by every check: classifying the samples evaluate saw gives bit-identical
 * log-probabilities; a held-out set rendered with another seed gets its table, figures and no
 * out-of-distribution warning, a set with a larger fish gets one naming the statistic; the model
 * copied out as a file gives the same table; samples made another way are refused, parameter by
 * parameter with both values; a swapped weights.bin is refused.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CollectionIn, ItemIn, StageContext } from "../engine/stage-api.js";
import { readPredictions } from "../lib/model/predictions-file.js";
import classify from "../dist/stages/classify/index.js";
import { withSchemaDefaults } from "./helpers/params.js";
import { run, workspace, writePipeline, type Outcome } from "./helpers/workspace.js";

/** Small frames, a 64-px crop, 2 bouts per recording: the whole chain in seconds per recording. */
const RIG = "bouts_min: 2, bouts_max: 2, width: 100, height: 80, crop_px: 64, crop_offset_px: 3, artifact_strength_px: 0, size_jitter: 0";
const ARCH = "{ preset: default, input_size: 56, flow_stride: 5, conv: [{ filters: 8, kernel: 3, stride: 2, pad: 0, lrn: both, pool: true }, { filters: 8, kernel: 3, stride: 1, pad: 1, lrn: none, pool: false }], fc: [16], dropout: 0.25 }";

/** synthesize -> extract -> subsample -> flow under a prefix, with the given synthesize params. */
function chain(prefix: string, synth: string): string {
  const kind = (k: string) => (prefix ? `    kind: ${k}\n` : "");
  const name = (k: string) => (prefix ? `${prefix}_${k}` : k);
  return `  ${name("synthesize")}:
${kind("synthesize")}    params: { ${synth}, ${RIG} }
  ${name("extract")}:
${kind("extract")}    inputs: { recordings: ${name("synthesize")}.recordings }
    params: { crop_size: 64, bladder: { offset: 3 } }
  ${name("subsample")}:
${kind("subsample")}    inputs: { events: ${name("extract")}.events }
    params: { count: 2 }
  ${name("flow")}:
${kind("flow")}    inputs: { subsamples: ${name("subsample")}.subsamples }
    params: { pair_stride: 5, clip_px: 2, levels: 3 }
`;
}

function pipeline(modelFile?: string): string {
  return `seed: 0
stages:
${chain("", "recordings: 6, px_per_mm: 15")}  split:
    inputs: { events: extract.events }
    params: { fractions: { train: 0.67, validation: 0, test: 0.33 } }
  train:
    inputs: { samples: flow.samples, splits: split.splits }
    params: { architecture: ${ARCH}, epochs: 6, batch: 8, backend: wasm, threads: 1 }
  evaluate:
    inputs: { models: train.models, samples: flow.samples, splits: split.splits }
    params: { backend: wasm, batch: 16 }
  classify:
    inputs: { model: evaluate.model, samples: flow.samples }
    params: { backend: wasm, batch: 5 }
${chain("heldout", "seed: 7, recordings: 2, px_per_mm: 15")}  classify_heldout:
    kind: classify
    inputs: { model: evaluate.model, samples: heldout_flow.samples, reports: heldout_extract.reports }
    params: { backend: wasm }
${chain("big", "seed: 7, recordings: 1, px_per_mm: 19")}  classify_big:
    kind: classify
    inputs: { model: evaluate.model, samples: big_flow.samples }
    params: { backend: wasm }
${modelFile ? `  classify_file:
    kind: classify
    inputs: { model: { file: ${JSON.stringify(modelFile)} }, samples: heldout_flow.samples, reports: heldout_extract.reports }
    params: { backend: wasm }
` : ""}`;
}

let dir: string;
let other: string;
let first: Outcome;

const warnings = (o: Outcome, stage: string): string[] =>
  o.events.flatMap((e) => (e.type === "warning" && e.message.startsWith(`${stage}:`) ? [e.message] : []));

/** A published collection as a stage receives it: absolute file paths, the items' meta. */
function published(stage: string, output: string): CollectionIn {
  const manifest = JSON.parse(readFileSync(join(dir, "results", stage, output, "manifest.json"), "utf8")) as { items: ItemIn[] };
  return { items: manifest.items.map((it) => ({ ...it, files: Object.fromEntries(Object.entries(it.files).map(([k, f]) => [k, join(dir, "results", stage, output, f)])) })) };
}

function context(): StageContext & { warnings: string[] } {
  const warned: string[] = [];
  return {
    outDir: mkdtempSync(join(tmpdir(), "classify-out-")), scratch: mkdtempSync(join(tmpdir(), "classify-scratch-")), seed: 1,
    measure: () => {}, log: () => {}, warn: (m) => warned.push(m), progress: () => {}, signal: new AbortController().signal, warnings: warned,
  };
}

const modelInput = () => ({ files: { model: join(dir, "results/evaluate/model/model.json"), weights: join(dir, "results/evaluate/model/weights.bin") }, meta: {} });

describe("classify", () => {
  beforeAll(async () => {
    dir = workspace(pipeline(), false);
    first = await run(dir);
    expect(first.failed, JSON.stringify(first.events.filter((e) => e.type === "task-failed"))).toEqual([]);
  }, 240_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (other) rmSync(other, { recursive: true, force: true });
  });

  it("gives bit-identical log-probabilities to evaluate on the same samples and model", async () => {
    const evaluated = await readPredictions(join(dir, "results/evaluate/report/predictions.h5"));
    const classified = await readPredictions(join(dir, "results/classify/table/subsamples.h5"));
    expect(classified.ids.length).toBe(published("flow", "samples").items.length);
    expect(new Set(classified.ids)).toEqual(new Set(evaluated.ids));
    const row = (p: typeof evaluated, id: string, stream: "spatial" | "temporal" | "fused") => {
      const i = p.ids.indexOf(id);
      return Buffer.from(p.predictions[stream].buffer, p.predictions[stream].byteOffset + 8 * i, 8);
    };
    // Different batches (classify 5 in input order, evaluate 16 per split): each sample's bits must not depend on them.
    for (const id of classified.ids) for (const s of ["spatial", "temporal", "fused"] as const) expect(row(classified, id, s).equals(row(evaluated, id, s)), `${id} ${s}`).toBe(true);
  });

  it("tables, summarises and draws the held-out recordings, with accuracy against the renderer's labels", () => {
    const csv = readFileSync(join(dir, "results/classify_heldout/table/events.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("recording,event,onset_frame,onset_s,duration_s,class,p,spatial_class,p_spatial,temporal_class,p_temporal,subsamples,agree,uncertain,truth");
    expect(csv.length).toBe(1 + 4);
    const json = JSON.parse(readFileSync(join(dir, "results/classify_heldout/table/events.json"), "utf8"));
    for (const e of json.events) {
      expect(e.onset_s).toBeCloseTo(e.onset_frame / 300, 3);
      expect(["spontaneous", "prey"]).toContain(e.fused.class);
      expect(e.agree).toBeLessThanOrEqual(e.subsamples);
      expect(e.uncertain).toBe(e.spatial.class !== e.temporal.class || e.fused.p < 0.8);
    }
    expect(json.accuracy.events).toBe(json.events.filter((e: { truth: string; fused: { class: string } }) => e.truth === e.fused.class).length / 4);
    const recordings = readFileSync(join(dir, "results/classify_heldout/table/recordings.csv"), "utf8").trim().split("\n");
    expect(recordings.length).toBe(3);
    expect(json.recordings[0].rate_per_min).toBeCloseTo((60 * json.recordings[0].events) / json.recordings[0].duration_s, 1);
    const figures = published("classify_heldout", "recordings");
    expect(figures.items.map((i) => i.id)).toEqual(["rec000", "rec001"]);
    expect(readFileSync(figures.items[0]!.files["figure"]!).subarray(1, 4).toString()).toBe("PNG");
  });

  it("warns on a larger fish naming the statistic, and not on the held-out set", () => {
    expect(warnings(first, "classify_heldout")).toEqual([]);
    const big = warnings(first, "classify_big");
    expect(big.length).toBe(1);
    expect(big[0]).toMatch(/recording rec000 is unlike the model's training data.*fish_size \(share of the spatial frame darker than mid-grey/);
  });

  it("gives the same table with the model copied into another workspace and read as a file", async () => {
    other = mkdtempSync(join(tmpdir(), "dag-lab-"));
    mkdirSync(join(other, "models/lab"), { recursive: true });
    for (const f of ["model.json", "weights.bin"]) copyFileSync(join(dir, "results/evaluate/model", f), join(other, "models/lab", f));
    writePipeline(dir, pipeline(join(other, "models/lab/model.json")), false);
    const second = await run(dir);
    expect(second.ran).toEqual(["classify_file"]);
    for (const f of ["events.csv", "recordings.csv", "events.json"]) {
      expect(readFileSync(join(dir, "results/classify_file/table", f), "utf8"), f).toBe(readFileSync(join(dir, "results/classify_heldout/table", f), "utf8"));
    }
  });

  it("refuses a weights.bin that is not the one model.json was saved with", async () => {
    const lab = mkdtempSync(join(tmpdir(), "dag-lab-"));
    try {
      for (const f of ["model.json", "weights.bin"]) copyFileSync(join(dir, "results/evaluate/model", f), join(lab, f));
      const bytes = readFileSync(join(lab, "weights.bin"));
      bytes[100] = bytes[100]! ^ 1;
      writeFileSync(join(lab, "weights.bin"), bytes);
      await expect(classify.run(context(), withSchemaDefaults(classify, { backend: "wasm" }), { model: { files: { data: join(lab, "model.json") }, meta: {} }, samples: published("heldout_flow", "samples") }))
        .rejects.toThrow(/weights\.bin is not the weights file .*model\.json was saved with .*copy model\.json and weights\.bin together/);
    } finally {
      rmSync(lab, { recursive: true, force: true });
    }
  });

  it.each([
    ["fps", { fps: 200 }, {}, /fps: the model was trained on 300 frames\/s, these samples are 200 frames\/s/],
    ["crop", { rows: 128, cols: 128 }, {}, /crop: the model was trained on 64x64 px, these samples are 128x128 px/],
    ["flow stride", { pair_stride: 2 }, {}, /flow pair_stride: the model was trained on pair_stride 5 .*these samples are pair_stride 2/],
    ["classes", {}, { classes: ["prey", "spontaneous"] }, /classes: the model was trained on \[spontaneous, prey\] .*the classes param names \[prey, spontaneous\]/],
  ])("refuses samples made with another %s, naming it and both values", async (_what, meta, params, message) => {
    const samples = published("heldout_flow", "samples");
    const changed = { items: samples.items.map((it) => ({ ...it, meta: { ...it.meta, ...meta } })) };
    await expect(classify.run(context(), withSchemaDefaults(classify, { backend: "wasm", ...params }), { model: modelInput(), samples: changed })).rejects.toThrow(message);
  });

  it("classifies a mismatch listed in allow_mismatch, with a warning naming it", async () => {
    const samples = published("heldout_flow", "samples");
    const ctx = context();
    const out = await classify.run(ctx, withSchemaDefaults(classify, { backend: "wasm", allow_mismatch: ["fps"] }), { model: modelInput(), samples: { items: samples.items.map((it) => ({ ...it, meta: { ...it.meta, fps: 200 } })) } });
    expect(ctx.warnings.filter((w) => /allow_mismatch, fps: the model was trained on 300 frames\/s, these samples are 200/.test(w)).length).toBe(1);
    expect((out["table"] as { meta: { events: number } }).meta.events).toBe(4);
  });
});
