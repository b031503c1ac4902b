/**
 * Data-parallel training (worker threads, each a slice of every batch): the same weights as one
 * thread on the same batches within float tolerance, bit-identical weights across runs with the
 * same seed and thread count, and a resume from a checkpoint landing on the same weights. And
 * threads through the native kernels instead (wasm, where built): the same bits as one thread.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../lib/model/backend.js";
import { MemorySource } from "../lib/model/dataset.js";
import { selectChannels } from "../lib/model/input.js";
import { flowChannels } from "../lib/model/architecture.js";
import { sliceRows } from "../lib/model/parallel/pool.js";
import { trainTwoStream, type TrainSettings } from "../lib/model/trainer.js";
import { NATIVE_ENV, nativeConvolutions } from "../lib/model/native-kernels.js";
import type { HostWeights } from "../lib/model/weights.js";
import { tinyArchitecture, tinyExamples, tinySample } from "./cnn-helpers.js";

const arch = tinyArchitecture();
const train = tinyExamples(24, 6, "t");
const validation = tinyExamples(8, 2, "v");
const source = new MemorySource(new Map([...train, ...validation].map((e, i) => [e.id, selectChannels(tinySample(e.label, 1000 + i), flowChannels(arch))])));
const data = { source, train, validation };
// Batch 7 over 24 samples: slices of 3 and 4, and a last batch of 3 (slices of 1 and 2).
const settings: TrainSettings = { arch, lr: 3e-3, weightDecay: 1e-4, epochs: 2, batchSize: 7, schedule: "inv_sqrt", augmentation: "random", seed: 7, keep: "last" };

const bytes = (w: HostWeights, name: string) => Buffer.from(w.get(name)!.values.buffer, w.get(name)!.values.byteOffset, w.get(name)!.values.byteLength);

function maxRelativeDifference(a: HostWeights, b: HostWeights): number {
  let worst = 0;
  for (const [name, w] of a) {
    const other = b.get(name)!.values;
    let scale = 0;
    let diff = 0;
    w.values.forEach((x, i) => {
      scale = Math.max(scale, Math.abs(x));
      diff = Math.max(diff, Math.abs(x - other[i]!));
    });
    worst = Math.max(worst, diff / Math.max(scale, 1e-6));
  }
  return worst;
}

describe("sliceRows", () => {
  it("cuts a batch into near-equal contiguous slices, none empty", () => {
    expect(sliceRows(7, 2)).toEqual([[0, 3], [3, 7]]);
    expect(sliceRows(2, 3)).toEqual([[0, 1], [1, 2]]);
    expect(sliceRows(9, 3)).toEqual([[0, 3], [3, 6], [6, 9]]);
  });
});

describe.each(["wasm", "cpu"] as const)("data-parallel training on %s", (backend) => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-parallel-"));
  // On wasm the native kernels, where built, take the threads instead of worker threads.
  const before = process.env[NATIVE_ENV];
  beforeAll(() => {
    process.env[NATIVE_ENV] = "off";
  });
  afterAll(() => {
    if (before === undefined) delete process.env[NATIVE_ENV];
    else process.env[NATIVE_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });

  it("equals one thread's weights within float tolerance, and is bit-identical across runs", async () => {
    await selectBackend(backend);
    const one = await trainTwoStream(data, settings, { threads: 1 });
    const logs: string[] = [];
    const two = await trainTwoStream(data, settings, { threads: 2, log: (m) => logs.push(m) });
    expect(logs.join("\n")).toMatch(new RegExp(`2 worker threads on tfjs ${backend}`));
    const again = await trainTwoStream(data, settings, { threads: 2 });
    for (const name of two.weights.keys()) expect(bytes(again.weights, name).equals(bytes(two.weights, name)), name).toBe(true);
    expect(maxRelativeDifference(one.weights, two.weights)).toBeLessThan(1e-3);
    expect(two.history.map((h) => h.loss)).toEqual(one.history.map((h) => expect.closeTo(h.loss, 4)));
    expect(two.history.at(-1)!.validation!.accuracy).toBe(one.history.at(-1)!.validation!.accuracy);
  });

  // The cpu backend is slow even on tiny shapes: the resume path is the same code on both.
  it.runIf(backend === "wasm")("resumes from a checkpoint onto the same weights as an uninterrupted run", async () => {
    await selectBackend(backend);
    const straight = await trainTwoStream(data, settings, { threads: 2 });
    const checkpoint = { dir, fingerprint: `parallel-${backend}` };
    const controller = new AbortController();
    await expect(trainTwoStream(data, settings, { threads: 2, checkpoint, signal: controller.signal, onEpoch: () => controller.abort() })).rejects.toThrow(/cancelled/);
    const resumed = await trainTwoStream(data, settings, { threads: 2, checkpoint });
    expect(resumed.resumedAfter).toBe(1);
    for (const name of straight.weights.keys()) expect(bytes(resumed.weights, name).equals(bytes(straight.weights, name)), name).toBe(true);
  });
});

describe.skipIf(!nativeConvolutions())("training on wasm with the native kernels on several threads", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-native-threads-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives one thread's weights bit for bit, and says so in the log", async () => {
    await selectBackend("wasm");
    const one = await trainTwoStream(data, settings, { threads: 1 });
    const logs: string[] = [];
    const three = await trainTwoStream(data, settings, { threads: 3, log: (m) => logs.push(m) });
    expect(logs.join("\n")).toMatch(/native kernels on 3 threads/);
    for (const name of one.weights.keys()) expect(bytes(three.weights, name).equals(bytes(one.weights, name)), name).toBe(true);
    expect(three.history.map((h) => h.loss)).toEqual(one.history.map((h) => h.loss));
  });

  it("resumes from a checkpoint (weights and Adam's moments on the host) onto the same weights as an uninterrupted run", async () => {
    await selectBackend("wasm");
    const straight = await trainTwoStream(data, settings, { threads: 2 });
    const checkpoint = { dir, fingerprint: "native-threads" };
    const controller = new AbortController();
    await expect(trainTwoStream(data, settings, { threads: 2, checkpoint, signal: controller.signal, onEpoch: () => controller.abort() })).rejects.toThrow(/cancelled/);
    const resumed = await trainTwoStream(data, settings, { threads: 2, checkpoint });
    expect(resumed.resumedAfter).toBe(1);
    for (const name of straight.weights.keys()) expect(bytes(resumed.weights, name).equals(bytes(straight.weights, name)), name).toBe(true);
  });
});
