/**
 * The paper's finding on a small run: events where ONLY agarose moving in the top-left corner
 * tells the classes apart (a "fish" moves the same way in both). Through the real stages
 * (mask, subsample, flow, train, evaluate, explain): before masking the network is right and
 * deep Taylor puts the artifact class's temporal relevance in that corner, many times its area
 * share, with a Clever Hans warning; after masking the corners it is at chance and the corner
 * holds about its area share. `dag compare` shows the shares and the figures side by side.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../lib/random.js";
import { writeHdf5Arrays } from "../lib/video/hdf5.js";
import { CLI, run, workspace, writePipeline } from "./helpers/workspace.js";

const SIDE = 64;
const FRAMES = 150;

/** Hands over prepared event files with their label and recording, as extract would. */
const EVENTS_STAGE = `
import { copyFileSync } from "node:fs";
import { join } from "node:path";
export default {
  name: "toyevents", version: 1, description: "test: prepared events",
  params: { type: "object", additionalProperties: true, properties: {} },
  inputs: {}, outputs: { events: { type: "collection", description: "events" } },
  split: (p) => p.items.map((it) => ({ id: it.id, params: it, meta: { label: it.label, class: it.label ? "prey" : "spontaneous", recording: it.recording, fps: 300 } })),
  async run(ctx, p) {
    copyFileSync(p.file, join(ctx.outDir, "frames.h5"));
    return { events: { files: { frames: "frames.h5" }, meta: { frames: ${FRAMES}, rows: ${SIDE}, cols: ${SIDE} } } };
  },
};
`;

/**
 * A smooth textured still scene; a dark "tail" bar across the middle rows that swings with a
 * random frequency and phase in both classes; for class 0 the texture of the top-left 20 x 20
 * pixels slides sideways by up to 3 px during frames 20-110 (the agarose artifact).
 */
function toyEvent(label: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const waves = Array.from({ length: 6 }, () => ({ fx: rng.uniform(-0.7, 0.7), fy: rng.uniform(-0.7, 0.7), phase: rng.uniform(0, 6.28), amp: rng.uniform(8, 16) }));
  const texture = (x: number, y: number) => waves.reduce((v, w) => v + w.amp * Math.sin(w.fx * x + w.fy * y + w.phase), 180);
  const freq = rng.uniform(0.1, 0.3);
  const phase = rng.uniform(0, 6.28);
  const swing = rng.uniform(3, 8);
  const frames = new Uint8Array(FRAMES * SIDE * SIDE);
  for (let f = 0; f < FRAMES; f++) {
    const active = f >= 20 && f < 110;
    const shift = label === 0 && active ? 3 * Math.sin(0.3 * (f - 20)) : 0;
    const tailRow = SIDE / 2 + (active ? swing * Math.sin(freq * f + phase) : 0);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const corner = x < 20 && y < 20;
        let v = texture(x - (corner ? shift : 0), y);
        if (x >= 12) v -= 120 * Math.exp(-((y - tailRow) ** 2) / 4);
        frames[(f * SIDE + y) * SIDE + x] = Math.max(0, Math.min(255, Math.round(v + 2 * rng.normal())));
      }
    }
  }
  return frames;
}

const ARCH = {
  preset: "default", input_size: 56, flow_stride: 5,
  conv: [
    { filters: 8, kernel: 3, stride: 2, pad: 0, lrn: "both", pool: true },
    { filters: 8, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: false },
  ],
  fc: [16], dropout: 0.25,
};

function pipeline(items: unknown[], regions: string): string {
  return `stage_paths: [stages]
stages:
  toyevents:
    params: { items: ${JSON.stringify(items)} }
  mask:
    inputs: { events: toyevents.events }
    params: { regions: ${regions} }
  subsample:
    inputs: { events: mask.events }
    params: { count: 2 }
  flow:
    inputs: { subsamples: subsample.subsamples }
    params: { pair_stride: 5 }
  train:
    inputs: { samples: flow.samples, splits: { file: splits.json } }
    params: { architecture: ${JSON.stringify(ARCH)}, lr: 0.003, weight_decay: 1e-4, epochs: 20, batch: 8, backend: wasm, seed: 1 }
  evaluate:
    inputs: { models: train.models, samples: flow.samples, splits: { file: splits.json } }
    params: { backend: wasm }
  explain:
    inputs: { model: evaluate.model, samples: flow.samples, splits: { file: splits.json } }
    params: { splits: [validation, test], backend: wasm }
`;
}

let dir: string;
const items: { id: string; recording: string; label: number; file: string }[] = [];

type Occluded = { accuracy: number; occluded: number; changed: number };

function summaryOf(): {
  methods: Record<string, Record<string, { classes: Record<string, { regions: { name: string; ratio: number }[] }> }>>;
  occlusion: { region: string; streams: Record<string, Record<string, Occluded>> }[];
  warnings: string[];
} {
  return JSON.parse(readFileSync(join(dir, "results/explain/report/summary.json"), "utf8"));
}

describe("the Clever Hans control: only the corner carries the label", () => {
  beforeAll(async () => {
    dir = workspace("", false);
    mkdirSync(join(dir, "stages", "toyevents"), { recursive: true });
    writeFileSync(join(dir, "stages", "toyevents", "index.js"), EVENTS_STAGE);
    mkdirSync(join(dir, "data"));
    const recordings: Record<string, string> = {};
    for (let r = 0; r < 14; r++) {
      recordings[`rec${r}`] = r < 8 ? "train" : r < 11 ? "validation" : "test";
      for (let e = 0; e < 3; e++) {
        const label = r % 2;
        const file = join(dir, "data", `rec${r}-ev${e}.h5`);
        await writeHdf5Arrays(file, [{ name: "frames", data: toyEvent(label, 1000 * r + e), shape: [FRAMES, SIDE, SIDE], chunks: [1, SIDE, SIDE], gzip: 1 }], { fps: 300 });
        items.push({ id: `rec${r}/ev0${e}`, recording: `rec${r}`, label, file });
      }
    }
    writeFileSync(join(dir, "splits.json"), JSON.stringify({ recordings }));
  });
  afterAll(() => (process.env["KEEP"] ? console.log(dir) : rmSync(dir, { recursive: true, force: true })));

  it("before masking: the network uses the corner, and explain says so", async () => {
    writePipeline(dir, pipeline(items, "[]"), false);
    const outcome = await run(dir, { name: "before" });
    expect(outcome.failed).toEqual([]);
    const metrics = JSON.parse(readFileSync(join(dir, "results/evaluate/report/metrics.json"), "utf8"));
    expect(metrics.splits.test.temporal.accuracy).toBeGreaterThanOrEqual(0.9);
    const s = summaryOf();
    const corner = s.methods["deep_taylor"]!["temporal"]!.classes["spontaneous"]!.regions.find((r) => r.name.startsWith("top-left"))!;
    expect(corner.ratio).toBeGreaterThan(3);
    expect(s.warnings.some((w) => /Clever Hans: deep_taylor .* temporal relevance of class spontaneous in top-left/.test(w))).toBe(true);
    // Zeroing the corner's flow takes the artifact class's evidence away.
    const occluded = s.occlusion.find((o) => o.region.startsWith("top-left"))!.streams["temporal"]!["spontaneous"]!;
    expect(occluded.occluded).toBeLessThan(occluded.accuracy - 0.3);
    const warned = outcome.events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
    expect(warned.some((m) => m.startsWith("explain: Clever Hans: deep_taylor"))).toBe(true);
    expect(warned.some((m) => /^explain: Clever Hans: zeroing top-left 21x21, outside the fish, changes the temporal stream's prediction/.test(m))).toBe(true);
  });

  it("after masking the corners: chance, and the corner holds about its area share", async () => {
    writePipeline(dir, pipeline(items, "[{corner: top-left, size: 21}, {corner: bottom-left, size: 21}]"), false);
    const outcome = await run(dir, { name: "after" });
    expect(outcome.failed).toEqual([]);
    const metrics = JSON.parse(readFileSync(join(dir, "results/evaluate/report/metrics.json"), "utf8"));
    expect(metrics.splits.test.temporal.accuracy).toBeLessThanOrEqual(0.75);
    const s = summaryOf();
    const corner = s.methods["deep_taylor"]!["temporal"]!.classes["spontaneous"]!.regions.find((r) => r.name.startsWith("top-left"))!;
    expect(corner.ratio).toBeLessThan(1.5);
    // The masked corner holds no flow: zeroing it again changes no prediction.
    expect(s.occlusion.find((o) => o.region.startsWith("top-left"))!.streams["temporal"]!["spontaneous"]!.changed).toBe(0);
  });

  it("dag compare shows the corner's share before and after, and the figures side by side", () => {
    const r = spawnSync(process.execPath, [CLI, "compare", "before", "after"], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/explain .*\n(.*\n)*\s+report deep_taylor\.temporal\.spontaneous\.top-left 21x21: [\d.]+ -> [\d.]+/);
    expect(r.stdout).toMatch(/figures that differ, before left and after right:/);
    expect(existsSync(join(dir, "results/compare/before-vs-after/explain.report.deep_taylor_classes.png"))).toBe(true);
  });
});
