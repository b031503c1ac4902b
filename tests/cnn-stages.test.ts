/**
 * The train and evaluate stages through the real engine (worker threads, cache): a grid of two
 * points on tiny separable samples, the evaluation picking one, the model loading with
 * tf.loadLayersModel, and the cache keeping every training when only evaluate changes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { PNG } from "pngjs";
import { writeFlowSample } from "../lib/flow/files.js";
import { readHdf5Arrays } from "../lib/flow/hdf5-io.js";
import "../lib/model/layers-model.js"; // registers LocalResponseNormalization for loading
import { registerFileRouter } from "../lib/model/model-files.js";
import { selectBackend } from "../lib/model/backend.js";
import { eventOf, eventPredictions } from "../lib/model/metrics.js";
import { tinySample } from "./cnn-helpers.js";
import { Store } from "../dist/cache/store.js";
import { run, workspace, writePipeline } from "./helpers/workspace.js";

/** A generator stage that hands over prepared sample files with their label and recording. */
const SAMPLES_STAGE = `
import { copyFileSync } from "node:fs";
import { join } from "node:path";
export default {
  name: "cnnsamples", version: 1, description: "test: prepared flow samples",
  params: { type: "object", additionalProperties: true, properties: {} },
  inputs: {}, outputs: { samples: { type: "collection", description: "samples" } },
  split: (p) => p.items.map((it) => ({ id: it.id, params: it, meta: { label: it.label, recording: it.recording } })),
  async run(ctx, p) {
    copyFileSync(p.file, join(ctx.outDir, "sample.h5"));
    // As if the flow stage had computed every 2nd of 8 pairs (pair_stride 2): the files hold 4.
    return { samples: { files: { sample: "sample.h5" }, meta: { flow_pairs: 8, pair_stride: 2 } } };
  },
};
`;

const TINY = {
  preset: "default", input_size: 28, flow_stride: 2,
  conv: [
    { filters: 4, kernel: 3, stride: 2, pad: 0, lrn: "both", pool: true },
    { filters: 6, kernel: 3, stride: 1, pad: 1, lrn: "spatial", pool: false },
  ],
  fc: [12], dropout: 0.25,
};

function pipeline(evaluateBatch: number, lrs: number[]): string {
  return `stage_paths: [stages]
stages:
  cnnsamples:
    params: { items: ${JSON.stringify(items)} }
  train:
    inputs: { samples: cnnsamples.samples, splits: { file: splits.json } }
    params: { architecture: ${JSON.stringify(TINY)}, lr: ${JSON.stringify(lrs)}, weight_decay: 1e-4, epochs: 5, batch: 8, backend: wasm, seed: 3 }
  evaluate:
    inputs: { models: train.models, samples: cnnsamples.samples, splits: { file: splits.json } }
    params: { batch: ${evaluateBatch}, backend: wasm }
  explain:
    inputs: { model: evaluate.model, samples: cnnsamples.samples, splits: { file: splits.json } }
    params: { splits: [validation, test], methods: [deep_taylor, lrp_epsilon, lrp_0, saliency, guided_backprop], backend: wasm, batch: 5, window: 4 }
`;
}

let dir: string;
let items: { id: string; recording: string; label: number; file: string }[] = [];

describe("train and evaluate stages in a pipeline", () => {
  beforeAll(async () => {
    dir = workspace("", false);
    mkdirSync(join(dir, "stages", "cnnsamples"), { recursive: true });
    writeFileSync(join(dir, "stages", "cnnsamples", "index.js"), SAMPLES_STAGE);
    mkdirSync(join(dir, "data"));
    const recordings: Record<string, string> = {};
    const splitOf = (r: number) => (r < 6 ? "train" : r < 8 ? "validation" : "test");
    for (let r = 0; r < 10; r++) {
      recordings[`rec${r}`] = splitOf(r);
      for (let s = 0; s < 8; s++) {
        const label = r % 2;
        const id = `rec${r}/ev00/s${s}`;
        const file = join(dir, "data", `rec${r}-s${s}.h5`);
        await writeFlowSample(file, tinySample(label, 100 * r + s), 1);
        items.push({ id, recording: `rec${r}`, label, file });
      }
    }
    writeFileSync(join(dir, "splits.json"), JSON.stringify({ recordings }));
    writePipeline(dir, pipeline(64, [3e-3, 1e-5]), false);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("trains one model per grid point and evaluates the best", async () => {
    const outcome = await run(dir);
    const failures = outcome.events.filter((e) => e.type === "task-failed");
    expect(failures, JSON.stringify(failures)).toEqual([]);
    expect(outcome.ran.filter((t) => t.startsWith("train"))).toEqual(["train[lr1e-5-wd1e-4]", "train[lr3e-3-wd1e-4]"]);
    const logs = outcome.events.flatMap((e) => (e.type === "task-log" ? [e.message] : [])).join("\n");
    expect(logs).toMatch(/backend wasm: requested/);
    // The backend's reason is train's to print (once per grid point); evaluate and explain name it briefly.
    const backendLines = outcome.events.flatMap((e) => (e.type === "task-log" && e.message.startsWith("backend ") ? [[e.stage, e.message]] : []));
    expect(backendLines.filter(([, m]) => /XNNPACK/.test(m!)).map(([stage]) => stage)).toEqual(["train", "train"]);
    expect(backendLines.filter(([stage]) => stage !== "train")).toEqual([["evaluate", "backend wasm (requested)"], ["explain", "backend wasm (requested)"]]);
    expect(logs).toMatch(/epoch 5\/5: loss/);

    const metrics = JSON.parse(readFileSync(join(dir, "results/evaluate/report/metrics.json"), "utf8"));
    expect(metrics.selected.id).toBe("lr3e-3-wd1e-4");
    expect(metrics.table1.test_fused).toBe(1);
    expect(metrics.splits.test.n).toBe(16);
    expect(metrics.splits.test.fused.confusion).toEqual([[8, 0], [0, 8]]);
    expect(metrics.splits.test.fused.class_recall).toEqual([1, 1]);
    expect([metrics.splits.test.events.n, metrics.splits.test.events.accuracy, metrics.splits.train.events.n]).toEqual([2, 1, 6]);
    const table = readFileSync(join(dir, "results/evaluate/report/table.md"), "utf8");
    expect(table).toMatch(/\| this run \| 1\.0000 \| 1\.0000 \|/);
    expect(readFileSync(join(dir, "results/evaluate/report/predictions.csv"), "utf8").trim().split("\n").length).toBe(81);

    const trainMetrics = JSON.parse(readFileSync(join(dir, "results/train/models/lr3e-3-wd1e-4/metrics.json"), "utf8"));
    expect(trainMetrics.backend).toBe("wasm");
    expect(trainMetrics.samples).toEqual({ train: 48, validation: 16, test: 16 });
    expect(JSON.parse(readFileSync(join(dir, "results/train/models/lr3e-3-wd1e-4/history.json"), "utf8")).length).toBe(5);
  });

  it("saves a model that tf.loadLayersModel reads", async () => {
    await selectBackend("wasm");
    registerFileRouter();
    const model = await tfl.loadLayersModel(pathToFileURL(resolve(dir, "results/evaluate/model/model.json")).href);
    const out = model.predict([tf.zeros([2, 28, 28, 1]), tf.zeros([2, 28, 28, 8])]) as tf.Tensor[];
    expect(out.map((t) => t.shape)).toEqual([[2, 2], [2, 2], [2, 2]]);
  });

  it("explains every validation and test sample with every method, on the evaluated model", async () => {
    const summary = JSON.parse(readFileSync(join(dir, "results/explain/report/summary.json"), "utf8"));
    expect(summary.samples).toBe(32);
    expect(summary.splits).toEqual(["validation", "test"]);
    expect(Object.keys(summary.methods)).toEqual(["deep_taylor", "lrp_epsilon", "lrp_0", "saliency", "guided_backprop"]);
    const dt = summary.methods.deep_taylor;
    for (const stream of ["spatial", "temporal"]) {
      expect(dt[stream].unexplained).toBe(0);
      // z^B and z+ with LRN as identity conserve the evidence
      expect(Math.abs(dt[stream].conservation[0].ratio - 1)).toBeLessThan(1e-3);
    }
    // The tiny samples' cue is in the centre (flow) and in the left/right halves (grey): the flow's
    // relevance lies mostly in the band where the cue is, not in the corners.
    expect(dt.temporal.classes["class 1"].fish.ratio).toBeGreaterThan(1);
    expect(dt.temporal.classes["class 1"].frames.length).toBe(4);
    const h5 = await readHdf5Arrays(join(dir, "results/explain/heatmaps/heatmaps-deep_taylor.h5"), ["spatial", "temporal", "label", "evidence_temporal", "explained_temporal"]);
    expect(h5.arrays["spatial"]!.shape).toEqual([32, 28, 28]);
    expect(h5.arrays["temporal"]!.shape).toEqual([32, 4, 2, 28, 28]);
    expect((h5.attrs["ids"] as string[]).length).toBe(32);
    // A sample's stored relevance sums to its evidence.
    const t = h5.arrays["temporal"]!.data as Float32Array;
    const per = 4 * 2 * 28 * 28;
    let sum = 0;
    for (let i = 0; i < per; i++) sum += t[i]!;
    expect(sum).toBeCloseTo((h5.arrays["evidence_temporal"]!.data as Float32Array)[0]!, 3);
    for (const name of ["deep_taylor-classes.png", "deep_taylor-frames.png", "deep_taylor-negatives.png", "saliency-classes.png"]) {
      const png = PNG.sync.read(readFileSync(join(dir, "results/explain/report", name)));
      expect(png.width).toBeGreaterThan(200);
    }
    const csv = readFileSync(join(dir, "results/explain/report/samples.csv"), "utf8").trim().split("\n");
    expect(csv.length).toBe(33);
    expect(readFileSync(join(dir, "results/explain/report/report.md"), "utf8")).toMatch(/## deep_taylor/);
  });

  it("early cutoff holds after train: a retraining that learns the same weights does not rerun evaluate", async () => {
    const before = ["metrics.json", "history.json", "weights.bin"].map((f) => readFileSync(join(dir, "results/train/models/lr3e-3-wd1e-4", f)));
    const again = await run(dir, { force: ["train"] });
    expect(again.ran).toEqual(["train[lr1e-5-wd1e-4]", "train[lr3e-3-wd1e-4]"]);
    const after = ["metrics.json", "history.json", "weights.bin"].map((f) => readFileSync(join(dir, "results/train/models/lr3e-3-wd1e-4", f)));
    expect(after).toEqual(before);
    // How the run went is measured beside the result, in the run record, not in it.
    const record = new Store(join(dir, ".dag")).listRuns().at(-1)!;
    const measured = record.stages["train"]!.tasks["lr3e-3-wd1e-4"]!.measurements as { seconds: number; resumed_after: number; backend: { name: string } };
    expect(measured.seconds).toBeGreaterThan(0);
    expect(measured.resumed_after).toBe(0);
    expect(measured.backend.name).toBe("wasm");
    expect(existsSync(join(dir, ".dag", "scratch"))).toBe(true);
    expect(readdirSync(join(dir, ".dag", "scratch"))).toEqual([]); // checkpoints removed on success
  });

  it("reruns nothing for another evaluation batch size (an execution param), one training for a new grid point", async () => {
    writePipeline(dir, pipeline(16, [3e-3, 1e-5]), false);
    expect((await run(dir)).ran).toEqual([]);
    writePipeline(dir, pipeline(16, [3e-3, 1e-5, 1e-3]), false);
    // The new grid point is not the best: evaluate reruns, its model is the same, explain stays cached.
    expect((await run(dir)).ran).toEqual(["evaluate", "train[lr1e-3-wd1e-4]"]);
  });

  it("warns when a split it evaluates holds one class only, and writes its undefined recall as '-'", async () => {
    // rec9 (prey) moved to validation: the test split is rec8, spontaneous only.
    const recordings = Object.fromEntries(items.map((i) => { const r = Number(i.recording.slice(3)); return [i.recording, r < 6 ? "train" : r === 8 ? "test" : "validation"]; }));
    writeFileSync(join(dir, "no-prey-test.json"), JSON.stringify({ recordings }));
    writePipeline(dir, pipeline(16, [3e-3]).replaceAll("splits.json", "no-prey-test.json"), false);
    const out = await run(dir, { targets: ["evaluate"] });
    expect(out.failed).toEqual([]);
    const warnings = out.events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
    expect(warnings).toEqual([expect.stringMatching(/the test split holds no prey sample: its accuracy says nothing of that class/)]);
    const logs = out.events.flatMap((e) => (e.type === "task-log" ? [e.message] : []));
    expect(logs.find((l) => l.startsWith("test:"))).toMatch(/recall per class 0\/1: spatial \d\.\d\d\/-,/);
  });

  it("refuses a training split of one class, saying what to do, instead of a network that always answers it", async () => {
    // The same samples, but only the spontaneous recordings (even numbers) in the training split.
    const recordings = Object.fromEntries(items.map((i) => [i.recording, Number(i.recording.slice(3)) % 2 === 0 ? "train" : "test"]));
    writeFileSync(join(dir, "one-class.json"), JSON.stringify({ recordings }));
    writePipeline(dir, pipeline(16, [3e-3]).replaceAll("splits.json", "one-class.json"), false);
    const out = await run(dir, { targets: ["train"] });
    expect(out.failed).toEqual(["train[lr3e-3-wd1e-4]"]);
    const failure = out.events.find((e) => e.type === "task-failed");
    expect(failure && "error" in failure && failure.error).toMatch(/training split holds only spontaneous \(label 0\) samples \(40\): a classifier needs both classes.*labels/);
  });
});

describe("per-event predictions", () => {
  it("sum an event's log-probabilities (not a majority vote) and count each event once", () => {
    const ids = ["rec0/ev00/s0", "rec0/ev00/s1", "rec0/ev00/s2", "rec1/ev03/s0"];
    // Two samples lean to class 1 a little, one to class 0 strongly: the product says 0.
    const p = Float32Array.from([Math.log(0.45), Math.log(0.55), Math.log(0.45), Math.log(0.55), Math.log(0.95), Math.log(0.05), Math.log(0.2), Math.log(0.8)]);
    expect(eventPredictions(ids, [0, 0, 0, 1], p, 2)).toEqual({ labels: [0, 1], predicted: [0, 1] });
    expect(eventOf("rec0/ev00/s2")).toBe("rec0/ev00");
    expect(() => eventPredictions(ids, [0, 1, 0, 1], p, 2)).toThrow(/rec0\/ev00: its samples have different labels/);
  });
});
