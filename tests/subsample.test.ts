import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ItemIn, StageContext } from "../engine/stage-api.js";
import { readSubsampleFile } from "../lib/flow/files.js";
import { writeHdf5Arrays } from "../lib/video/hdf5.js";
import subsample, { type SubsampleParams } from "../stages/subsample/index.js";
import { blockCount, checkSubsampleSize, chooseSubsample, longestOmittedRun, subsampleSeed } from "../stages/subsample/select.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "subsample-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("choosing frames", () => {
  const sizes: [number, number][] = [[150, 86], [150, 75], [150, 150], [151, 76], [151, 100], [7, 4], [2, 1], [3, 2]];

  it("never omits more than 2 consecutive frames, keeps exactly `keep` increasing frames (property, many seeds)", () => {
    // Plain checks in the loop (expect() per value would dominate the run time); the first failure is reported.
    const failures: string[] = [];
    for (const [length, keep] of sizes) {
      for (let seed = 0; seed < 1500 && failures.length === 0; seed++) {
        const { indices, spatialIndex } = chooseSubsample(seed * 2654435761, length, keep);
        const where = `length ${length}, keep ${keep}, seed ${seed}: ${indices.join(",")}`;
        if (indices.length !== keep) failures.push(`${where}: ${indices.length} kept`);
        if (indices.some((v, k) => !Number.isInteger(v) || v < 0 || v >= length || (k > 0 && v <= indices[k - 1]!))) failures.push(`${where}: not increasing in range`);
        if (longestOmittedRun(indices, length) > 2) failures.push(`${where}: omits ${longestOmittedRun(indices, length)} in a row`);
        // Every block of 2 frames keeps at least one (the paper's scheme, not just the constraint).
        const kept = new Set(indices);
        for (let b = 0; b < blockCount(length); b++) if (!kept.has(2 * b) && !kept.has(2 * b + 1)) failures.push(`${where}: block ${b} empty`);
        if (!(Number.isInteger(spatialIndex) && spatialIndex >= 0 && spatialIndex < keep)) failures.push(`${where}: spatial index ${spatialIndex}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("keeps each frame with probability keep/length and picks the spatial frame uniformly", () => {
    const runs = 3000;
    const keptCount = new Float64Array(150);
    const spatialHalves = [0, 0];
    for (let seed = 0; seed < runs; seed++) {
      const { indices, spatialIndex } = chooseSubsample(subsampleSeed(7, seed), 150, 86);
      for (const i of indices) keptCount[i]!++;
      spatialHalves[spatialIndex < 43 ? 0 : 1]!++;
    }
    // 1/2 + 1/2 x 11/75 = 86/150 for every frame.
    for (const c of keptCount) expect(Math.abs(c / runs - 86 / 150)).toBeLessThan(0.05);
    expect(Math.abs(spatialHalves[0]! / runs - 0.5)).toBeLessThan(0.05);
  });

  it("is deterministic per seed, and seeds differ per subsample index", () => {
    expect(chooseSubsample(42, 150, 86)).toEqual(chooseSubsample(42, 150, 86));
    expect(chooseSubsample(subsampleSeed(1, 0), 150, 86).indices).not.toEqual(chooseSubsample(subsampleSeed(1, 1), 150, 86).indices);
    expect(subsampleSeed(5, 3)).toBe(subsampleSeed(5, 3));
  });

  it("measures omitted runs at both ends", () => {
    expect(longestOmittedRun([3, 4], 5)).toBe(3);
    expect(longestOmittedRun([0, 1], 5)).toBe(3);
    expect(longestOmittedRun([0, 2, 4], 5)).toBe(1);
  });

  it("refuses impossible sizes, saying what to change", () => {
    expect(() => checkSubsampleSize(150, 74)).toThrow(/keep at least 75/);
    expect(() => checkSubsampleSize(150, 151)).toThrow(/at most 150/);
    expect(() => checkSubsampleSize(1, 1)).toThrow(/at least 2 frames/);
    expect(() => checkSubsampleSize(151, 76)).not.toThrow();
  });
});

/** A small event as extract writes it: `frames` [count, rows, cols], root attributes start, onset, fps. */
async function writeEvent(path: string, count: number, rows = 16, cols = 16): Promise<Uint8Array> {
  const frames = new Uint8Array(count * rows * cols);
  // Every frame's first pixel is its index, so a kept frame can be recognised.
  for (let f = 0; f < count; f++) for (let i = 0; i < rows * cols; i++) frames[f * rows * cols + i] = i === 0 ? f : (f * 31 + i * 7) % 256;
  await writeHdf5Arrays(path, [{ name: "frames", data: frames, shape: [count, rows, cols], chunks: [1, rows, cols] }], { start: 100, onset: 115, fps: 300 });
  return frames;
}

function fakeContext(outDir: string, seed: number, itemId: string): StageContext & { progressCalls: [number, number][] } {
  const progressCalls: [number, number][] = [];
  return { outDir, scratch: join(outDir, ".scratch"), measure: () => {}, seed, itemId, log: () => {}, warn: () => {}, progress: (d, t) => progressCalls.push([d, t]), signal: new AbortController().signal, progressCalls };
}

const defaults: SubsampleParams = { count: 2, frames: 150, keep: 86, gzip: 4 };

describe("subsample stage", () => {
  let eventPath: string;
  let eventFrames: Uint8Array;
  beforeAll(async () => {
    eventPath = join(dir, "event.h5");
    eventFrames = await writeEvent(eventPath, 150);
  });
  const event = (): ItemIn => ({ id: "rec001/ev00", files: { frames: eventPath }, meta: { fps: 300, label: 1 } });

  async function run(params: SubsampleParams, name: string) {
    const outDir = mkdtempSync(join(dir, name));
    const ctx = fakeContext(outDir, 1234, "rec001/ev00");
    const out = await subsample.run(ctx, params, { events: event() });
    return { outDir, ctx, items: (out.subsamples as { items: { id: string; files: Record<string, string>; meta: Record<string, unknown> }[] }).items };
  }

  it("writes count items s0.. whose files hold the kept frames in the documented layout", async () => {
    const { outDir, ctx, items } = await run(defaults, "a");
    expect(items.map((i) => i.id)).toEqual(["s0", "s1"]);
    expect(ctx.progressCalls.at(-1)).toEqual([2, 2]);
    for (const item of items) {
      const s = await readSubsampleFile(join(outDir, item.files["frames"]!));
      expect([s.count, s.rows, s.cols, s.fps]).toEqual([86, 16, 16, 300]);
      expect(s.indices).toEqual(item.meta["indices"]);
      expect(s.spatialIndex).toBe(item.meta["spatial_index"]);
      expect(longestOmittedRun(s.indices, 150)).toBeLessThanOrEqual(2);
      for (let k = 0; k < s.count; k++) {
        const f = s.indices[k]!;
        expect(s.frames[k * 256]).toBe(f);
        expect(s.frames.subarray(k * 256, (k + 1) * 256)).toEqual(eventFrames.subarray(f * 256, (f + 1) * 256));
      }
    }
    expect(items[0]!.meta["indices"]).not.toEqual(items[1]!.meta["indices"]);
  });

  it("leaves s0, s1 byte-identical when count grows from 2 to 3", async () => {
    const two = await run(defaults, "b");
    await new Promise((r) => setTimeout(r, 1100)); // HDF5 would stamp a new second into its headers
    const three = await run({ ...defaults, count: 3 }, "c");
    expect(three.items.map((i) => i.id)).toEqual(["s0", "s1", "s2"]);
    for (const k of [0, 1]) {
      const a = readFileSync(join(two.outDir, two.items[k]!.files["frames"]!));
      const b = readFileSync(join(three.outDir, three.items[k]!.files["frames"]!));
      expect(a.equals(b)).toBe(true);
    }
  });

  it("fails an event of the wrong length or without frames, naming it and what to change", async () => {
    const shortPath = join(dir, "short.h5");
    await writeEvent(shortPath, 120);
    const ctx = fakeContext(mkdtempSync(join(dir, "d")), 1, "rec002/ev03");
    const short: ItemIn = { id: "rec002/ev03", files: { frames: shortPath }, meta: {} };
    await expect(subsample.run(ctx, defaults, { events: short })).rejects.toThrow(/rec002\/ev03 has 120 frames, expected 150: set .*frames to 120/);
    await expect(subsample.run(ctx, { ...defaults, frames: null, keep: 50 }, { events: short })).rejects.toThrow(/rec002\/ev03.*keep at least 60/);
    const out = await subsample.run(ctx, { ...defaults, frames: null, keep: 70, count: 1 }, { events: short });
    expect(out.subsamples.items[0]!.meta!["indices"]).toHaveLength(70);
    await expect(subsample.run(ctx, defaults, { events: { id: "rec002/ev04", files: {}, meta: {} } })).rejects.toThrow(/rec002\/ev04 has no "frames" file/);
  });
});
