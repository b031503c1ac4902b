/**
 * The synthesize stage: its split (seeds, classes, stability), determinism, the kinematics of the
 * two classes (from the ground truth), still rest frames, the artifact, and the files it writes.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { afterAll, describe, expect, it } from "vitest";
import synthesize from "../stages/synthesize/index.js";
import { PARAMS_SCHEMA, recordingParams, withDefaults, type RecordingParams, type SynthesizeParams } from "../lib/synth/params.js";
import { renderRecording, type RecordingResult } from "../lib/synth/recording.js";
import { boutFeatures, trunkMotion } from "../lib/synth/truth-stats.js";
import { readAviVideo } from "../lib/video/avi-reader.js";
import { readHdf5Video } from "../lib/video/hdf5.js";
import type { StageContext } from "../engine/stage-api.js";

const tmp = mkdtempSync(join(tmpdir(), "synthesize-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The default params, as the engine hands them over (schema defaults applied by ajv). */
function engineDefaults(overrides: Record<string, unknown> = {}): SynthesizeParams {
  const ajv = new Ajv({ useDefaults: true, strict: false });
  const validate = ajv.compile(PARAMS_SCHEMA);
  const params = structuredClone(overrides);
  if (!validate(params)) throw new Error(JSON.stringify(validate.errors));
  return params as unknown as SynthesizeParams;
}

function split(overrides: Record<string, unknown> = {}) {
  return synthesize.split!(engineDefaults(overrides));
}

function rec(index: number, overrides: Partial<SynthesizeParams> = {}): RecordingParams {
  return recordingParams(withDefaults(overrides), index);
}

function ctx(outDir: string): StageContext {
  return { outDir, scratch: join(outDir, ".scratch"), measure: () => {}, seed: 0, itemId: "rec000", log: () => {}, warn: () => {}, progress: () => {}, signal: new AbortController().signal };
}

/** Frames covered by a bout's motion, widened by `pad` frames after its offset. */
function inBout(r: RecordingResult, f: number, pad = 0): boolean {
  return r.truth.bouts.some((b) => f >= b.onset && f <= b.offset + pad);
}

describe("synthesize: parameters and split", () => {
  it("documents every parameter (description, default) and rejects unknown ones", () => {
    expect(PARAMS_SCHEMA.additionalProperties).toBe(false);
    for (const [name, spec] of Object.entries(PARAMS_SCHEMA.properties)) {
      expect((spec as { description?: string }).description, name).toBeTruthy();
      expect((spec as { default?: unknown }).default, name).not.toBeUndefined();
    }
    const ajv = new Ajv({ useDefaults: true, strict: false });
    expect(ajv.validate(PARAMS_SCHEMA, { no_such_param: 1 })).toBe(false);
    expect(synthesize.name).toBe("synthesize");
    expect(synthesize.outputs["recordings"]!.type).toBe("collection");
  });

  it("lists one item per recording with its own seed, class and label", () => {
    const items = split();
    expect(items).toHaveLength(24);
    expect(items.map((i) => i.id).slice(0, 3)).toEqual(["rec000", "rec001", "rec002"]);
    const seeds = new Set(items.map((i) => i.params["seed"]));
    expect(seeds.size).toBe(24);
    for (const item of items) {
      expect(item.meta!["label"]).toBe(item.params["label"]);
      expect(item.meta!["class"]).toBe(item.params["label"] === 1 ? "prey" : "spontaneous");
    }
    // 0.44 of 24 = 10.6 prey recordings, give or take one.
    const prey = items.filter((i) => i.meta!["label"] === 1).length;
    expect(prey).toBeGreaterThanOrEqual(10);
    expect(prey).toBeLessThanOrEqual(11);
  });

  it("adding recordings leaves the others' params identical; another seed changes them", () => {
    const small = split({ recordings: 5 });
    const large = split({ recordings: 9 });
    expect(large.slice(0, 5)).toEqual(small);
    const other = split({ recordings: 5, seed: 2 });
    expect(other.map((i) => i.params["seed"])).not.toEqual(small.map((i) => i.params["seed"]));
    // Every class fraction keeps the counts close to the fraction at every prefix.
    for (const p of [0, 0.25, 0.5, 0.9, 1]) {
      const items = split({ recordings: 40, prey_fraction: p });
      const prey = items.filter((i) => i.meta!["label"] === 1).length;
      expect(Math.abs(prey - 40 * p)).toBeLessThanOrEqual(1);
    }
  });

  it("refuses frames that cannot hold the fish and the crop, saying what to change", () => {
    expect(() => renderRecording(rec(0, { width: 120 }), { truthOnly: true })).toThrow(/widen the frame|width/);
    expect(() => renderRecording(rec(0, { height: 100 }), { truthOnly: true })).toThrow(/height >=/);
    expect(() => renderRecording(rec(0, { bouts_min: 5, bouts_max: 3 }), { truthOnly: true })).toThrow(/bouts_min/);
  });
});

describe("synthesize: determinism", () => {
  it("the same seed gives the same bytes; other recordings are other fish", () => {
    const a = renderRecording(rec(3), { maxFrames: 120 });
    const b = renderRecording(rec(3), { maxFrames: 120 });
    expect(Buffer.from(a.video.frames).equals(Buffer.from(b.video.frames))).toBe(true);
    expect(a.truth).toEqual(b.truth);
    expect(Buffer.from(a.midline.buffer).equals(Buffer.from(b.midline.buffer))).toBe(true);

    const c = renderRecording(rec(5), { maxFrames: 120 });
    expect(c.truth.fish.length_mm).not.toBe(a.truth.fish.length_mm);
    expect(c.truth.fish.bladder_end_px).not.toEqual(a.truth.fish.bladder_end_px);
    let differing = 0;
    for (let i = 0; i < a.video.rows * a.video.cols; i++) if (Math.abs(a.video.frames[i]! - c.video.frames[i]!) > 8) differing++;
    expect(differing).toBeGreaterThan(200);

    const d = renderRecording(rec(3, { seed: 7 }), { maxFrames: 120 });
    expect(Buffer.from(d.video.frames).equals(Buffer.from(a.video.frames))).toBe(false);
  });
});

describe("synthesize: kinematics from the ground truth", () => {
  // The default dataset's ground truth (no images: fast).
  const results = Array.from({ length: 24 }, (_, i) => renderRecording(rec(i), { truthOnly: true }));
  const bouts = results.flatMap((r) => r.truth.bouts.map((b) => ({ ...b, r })));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it("has 4-6 bouts per recording, separated by more than an event (150 frames)", () => {
    for (const r of results) {
      expect(r.truth.bouts.length).toBeGreaterThanOrEqual(4);
      expect(r.truth.bouts.length).toBeLessThanOrEqual(6);
      const on = r.truth.bouts.map((b) => b.onset);
      expect(on[0]!).toBeGreaterThanOrEqual(15);
      for (let i = 1; i < on.length; i++) expect(on[i]! - on[i - 1]!).toBeGreaterThan(150);
      expect(r.truth.frames - on.at(-1)!).toBeGreaterThanOrEqual(150);
      for (const b of r.truth.bouts) {
        const ms = ((b.offset - b.onset + 1) / r.truth.fps) * 1000;
        expect(ms).toBeGreaterThan(50);
        expect(ms).toBeLessThan(260);
      }
    }
  });

  it("spontaneous bouts have more tail-angle peaks and more trunk motion than prey bouts", () => {
    const spont = bouts.filter((b) => b.class === "spontaneous");
    const prey = bouts.filter((b) => b.class === "prey");
    expect(spont.length).toBeGreaterThan(30);
    expect(prey.length).toBeGreaterThan(30);
    const peaks = (bs: typeof bouts) => mean(bs.map((b) => b.measured.tail_angle_peaks));
    const trunk = (bs: typeof bouts) => mean(bs.map((b) => b.measured.trunk_motion_deg));
    expect(peaks(spont)).toBeGreaterThan(1.4 * peaks(prey));
    expect(trunk(spont)).toBeGreaterThan(4 * trunk(prey));
    // Tail beats of spontaneous swims: 20-35 Hz.
    for (const b of spont.filter((x) => x.type === "slow_swim" || x.type === "routine_turn")) {
      expect(b.frequency_hz).toBeGreaterThanOrEqual(20);
      expect(b.frequency_hz).toBeLessThanOrEqual(35);
    }
  });

  it("the five tail features separate the classes well but not perfectly; the trunk adds information", () => {
    // Events as the extraction cuts them (15 frames before onset, 150 frames), features of
    // Semmelhack et al. (2014) on the exact midline, leave-one-out 9-nearest-neighbours.
    const rows: { x: number[]; trunk: number; y: number }[] = [];
    for (const r of results) {
      const n = r.truth.midline_points;
      for (const b of r.truth.bouts) {
        const start = b.onset - 15;
        const f = boutFeatures(r.midlineBody, n, start, start + 150);
        rows.push({ x: [f.maxCurvature, f.peaks, f.meanTipAngle, f.maxAngle, f.meanTipPosition], trunk: trunkMotion(r.midlineBody, n, 12, start, start + 150), y: r.truth.label });
      }
    }
    const accuracy = (vectors: number[][]) => {
      const d = vectors[0]!.length;
      const mu = Array.from({ length: d }, (_, j) => mean(vectors.map((v) => v[j]!)));
      const sd = Array.from({ length: d }, (_, j) => Math.sqrt(mean(vectors.map((v) => (v[j]! - mu[j]!) ** 2))) || 1);
      const z = vectors.map((v) => v.map((x, j) => (x - mu[j]!) / sd[j]!));
      let correct = 0;
      z.forEach((zi, i) => {
        const near = z.map((zj, j) => ({ j, d: j === i ? Infinity : zj.reduce((a, x, k) => a + (x - zi[k]!) ** 2, 0) })).sort((a, b) => a.d - b.d).slice(0, 9);
        const vote = near.reduce((a, { j }) => a + rows[j]!.y, 0) / near.length;
        if ((vote > 0.5 ? 1 : 0) === rows[i]!.y) correct++;
      });
      return correct / z.length;
    };
    const tail = accuracy(rows.map((r) => r.x));
    const withTrunk = accuracy(rows.map((r) => [...r.x, r.trunk]));
    expect(tail).toBeGreaterThan(0.8);
    expect(tail).toBeLessThan(0.98);
    expect(withTrunk).toBeGreaterThan(tail);
  });
});

describe("synthesize: frames", () => {
  const spontaneous = [0, 1, 2, 3, 4, 5].map((i) => rec(i)).find((p) => p.class === "spontaneous")!;
  const prey = [0, 1, 2, 3, 4, 5].map((i) => rec(i)).find((p) => p.class === "prey")!;

  it("rest frames are still: the midline does not move and frames differ by camera noise only", () => {
    const quiet = renderRecording(spontaneous, { noNoise: true });
    const noisy = renderRecording(spontaneous);
    const { rows, cols, count } = quiet.video;
    const size = rows * cols;
    const n = quiet.truth.midline_points;
    const pad = Math.ceil(0.07 * quiet.truth.fps); // the artifact's decay after a bout
    let restPairs = 0;
    let sumSq = 0;
    let values = 0;
    for (let f = 1; f < count; f++) {
      if (inBout(quiet, f, pad) || inBout(quiet, f - 1, pad)) continue;
      restPairs++;
      for (let k = 0; k < 2 * n; k++) expect(quiet.midline[f * 2 * n + k]).toBe(quiet.midline[(f - 1) * 2 * n + k]);
      // Without noise, only the slow illumination drift can move a pixel, by one grey level at most.
      let maxDiff = 0;
      for (let i = 0; i < size; i++) maxDiff = Math.max(maxDiff, Math.abs(quiet.video.frames[f * size + i]! - quiet.video.frames[(f - 1) * size + i]!));
      expect(maxDiff).toBeLessThanOrEqual(1);
      if (f % 50 === 0) {
        for (let i = 0; i < size; i++) {
          const d = noisy.video.frames[f * size + i]! - noisy.video.frames[(f - 1) * size + i]!;
          sumSq += d * d;
          values++;
        }
      }
    }
    expect(restPairs).toBeGreaterThan(count / 2);
    // Differences of two noisy frames: sqrt(2) x the recording's noise.
    const rms = Math.sqrt(sumSq / values);
    expect(rms).toBeGreaterThan(1.2 * noisy.truth.scene.noise_sigma);
    expect(rms).toBeLessThan(1.7 * noisy.truth.scene.noise_sigma + 0.4);
    // During bouts the fish moves.
    const b = quiet.truth.bouts[0]!;
    let moved = 0;
    for (let i = 0; i < size; i++) if (Math.abs(quiet.video.frames[(b.onset + 5) * size + i]! - quiet.video.frames[(b.onset - 1) * size + i]!) > 10) moved++;
    expect(moved).toBeGreaterThan(50);
  });

  it("the artifact moves only its corner region, only during bouts of its class", () => {
    const withArtifact = renderRecording(spontaneous);
    const without = renderRecording({ ...spontaneous, artifact_strength_px: 0 });
    const { rows, cols, count } = withArtifact.video;
    const size = rows * cols;
    const region = withArtifact.truth.artifact.region_px!;
    expect(withArtifact.truth.artifact.active).toBe(true);
    expect(without.truth.artifact.active).toBe(false);
    // The region is the top-left third of the extraction's crop (85 / 256 of 128 pixels).
    const [bx, by] = withArtifact.truth.fish.bladder_end_px;
    expect(Math.abs(region.x0 - (bx - spontaneous.crop_offset_px))).toBeLessThanOrEqual(1);
    expect(Math.abs(region.y0 - (by - spontaneous.crop_px / 2))).toBeLessThanOrEqual(1);
    expect(Math.abs(region.x1 - region.x0 - (85 / 256) * spontaneous.crop_px)).toBeLessThanOrEqual(1);

    const pad = Math.ceil(0.07 * withArtifact.truth.fps);
    let maxShift = 0;
    let changedFrames = 0;
    for (let f = 0; f < count; f++) {
      const s = Math.hypot(withArtifact.artifactShift[2 * f]!, withArtifact.artifactShift[2 * f + 1]!);
      maxShift = Math.max(maxShift, s);
      if (!inBout(withArtifact, f, pad)) expect(s, `frame ${f}`).toBe(0);
      let changed = 0;
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const i = f * size + y * cols + x;
          if (withArtifact.video.frames[i] === without.video.frames[i]) continue;
          const inside = x >= region.x0 && x < region.x1 && y >= region.y0 && y < region.y1;
          if (!inside) throw new Error(`frame ${f}: pixel (${x}, ${y}) outside the artifact region changed`);
          changed++;
        }
      }
      if (changed > 0) {
        changedFrames++;
        expect(inBout(withArtifact, f, pad), `frame ${f}`).toBe(true);
      }
    }
    expect(maxShift).toBeGreaterThan(0.6 * spontaneous.artifact_strength_px);
    expect(maxShift).toBeLessThanOrEqual(spontaneous.artifact_strength_px + 1e-6);
    expect(changedFrames).toBeGreaterThan(withArtifact.truth.bouts.length * 20);

    // Prey recordings (not the artifact's class) carry no artifact at all.
    const p1 = renderRecording(prey, { maxFrames: 400 });
    const p0 = renderRecording({ ...prey, artifact_strength_px: 0 }, { maxFrames: 400 });
    expect(p1.truth.artifact.active).toBe(false);
    expect(p1.artifactShift.every((v) => v === 0)).toBe(true);
    expect(Buffer.from(p1.video.frames).equals(Buffer.from(p0.video.frames))).toBe(true);
  });

  it("head-right mirrors the scene", () => {
    const left = renderRecording(rec(0), { maxFrames: 1, noNoise: true });
    const right = renderRecording(rec(0, { orientation: "head-right" }), { maxFrames: 1, noNoise: true });
    const { cols } = left.video;
    expect(right.truth.fish.bladder_end_px[0]).toBeCloseTo(cols - 1 - left.truth.fish.bladder_end_px[0], 6);
    expect(right.truth.fish.axis[0]).toBeLessThan(0);
    // The tail tip is on the head's other side.
    const n = left.truth.midline_points;
    expect(right.midline[2 * n - 2]!).toBeLessThan(right.truth.fish.bladder_end_px[0]);
    expect(left.midline[2 * n - 2]!).toBeGreaterThan(left.truth.fish.bladder_end_px[0]);
  });
});

describe("synthesize: the stage's files", () => {
  it("writes an HDF5 video like the real example, truth arrays and a JSON description", async () => {
    const item = split({ recordings: 1, bouts_min: 1, bouts_max: 1 })[0]!;
    const dir = mkdtempSync(join(tmp, "h5-"));
    const out = await synthesize.run(ctx(dir), item.params);
    const artifact = out["recordings"] as { files: Record<string, string>; meta: Record<string, unknown> };
    expect(artifact.files).toEqual({ video: "video.h5", truth: "truth.h5", truth_json: "truth.json" });
    expect(artifact.meta["label"]).toBe(item.meta!["label"]);
    expect(artifact.meta["bouts"]).toBe(1);
    const video = await readHdf5Video(join(dir, "video.h5"));
    expect(video.fps).toBe(300);
    expect([video.rows, video.cols, video.count]).toEqual([160, 200, artifact.meta["frames"]]);
    const direct = renderRecording(item.params as unknown as RecordingParams);
    expect(Buffer.from(video.frames).equals(Buffer.from(direct.video.frames))).toBe(true);
    const truth = JSON.parse(readFileSync(join(dir, "truth.json"), "utf8"));
    expect(truth.bouts).toHaveLength(1);
    expect(truth.bouts[0].onset).toBe(direct.truth.bouts[0]!.onset);
    const h5 = await import("h5wasm/node");
    await h5.default.ready;
    const f = new h5.default.File(join(dir, "truth.h5"), "r");
    try {
      expect((f.get("midline") as InstanceType<typeof h5.default.Dataset>).shape).toEqual([video.count, truth.midline_points, 2]);
      expect((f.get("artifact_shift") as InstanceType<typeof h5.default.Dataset>).shape).toEqual([video.count, 2]);
    } finally {
      f.close();
    }
  });

  it("writes the same bytes for the same recording (HDF5 timestamps pinned)", async () => {
    const item = split({ recordings: 1, bouts_min: 1, bouts_max: 1 })[0]!;
    const digests = [];
    for (let k = 0; k < 2; k++) {
      const dir = mkdtempSync(join(tmp, "bytes-"));
      const out = (await synthesize.run(ctx(dir), item.params))["recordings"] as { files: Record<string, string> };
      digests.push(Object.fromEntries(Object.entries(out.files).map(([k2, f]) => [k2, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")])));
      if (k === 0) await new Promise((resolve) => setTimeout(resolve, 1100)); // HDF5 stamps seconds
    }
    expect(digests[1]).toEqual(digests[0]);
  });

  it("writes a lossless AVI on request", async () => {
    const item = split({ recordings: 1, bouts_min: 1, bouts_max: 1, format: "avi" })[0]!;
    const dir = mkdtempSync(join(tmp, "avi-"));
    const out = await synthesize.run(ctx(dir), item.params);
    const artifact = out["recordings"] as { files: Record<string, string> };
    expect(artifact.files["video"]).toBe("video.avi");
    const video = readAviVideo(join(dir, "video.avi"));
    const direct = renderRecording(item.params as unknown as RecordingParams);
    expect(video.fps).toBe(300);
    expect([video.rows, video.cols, video.count]).toEqual([direct.video.rows, direct.video.cols, direct.video.count]);
    expect(Buffer.from(video.frames).equals(Buffer.from(direct.video.frames))).toBe(true);
    const head = readFileSync(join(dir, "video.avi")).subarray(0, 12).toString("latin1");
    expect(head.slice(0, 4)).toBe("RIFF");
    expect(head.slice(8)).toBe("AVI ");
  });

  it("stops when cancelled", async () => {
    const item = split({ recordings: 1 })[0]!;
    const controller = new AbortController();
    controller.abort();
    await expect(synthesize.run({ ...ctx(mkdtempSync(join(tmp, "abort-"))), signal: controller.signal }, item.params)).rejects.toThrow(/cancel/);
  });
});
