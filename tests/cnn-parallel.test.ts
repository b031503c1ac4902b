/**
 * Training on several threads gives one thread's bits: on fixed batch shards (worker threads,
 * wasm without the native kernels and cpu) and through the native kernels (wasm, where built);
 * a resume from a checkpoint, on another thread count, lands on the same weights.
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
import { batchShards } from "../lib/model/route.js";
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

describe("batch shards and the slices of them each worker takes", () => {
  it("cuts a batch into shards of 4 samples whatever the thread count, and the shards into near-equal contiguous runs", () => {
    expect(batchShards(10)).toEqual([[0, 4], [4, 8], [8, 10]]);
    expect(batchShards(3)).toEqual([[0, 3]]);
    expect(sliceRows(3, 2)).toEqual([[0, 1], [1, 3]]);
    expect(sliceRows(2, 3)).toEqual([[0, 1], [1, 2]]);
  });
});

// Batch 10 over 24 samples: shards of 4, 4 and 2, so 3 threads take one shard each, 2 threads 1 and 2.
const sharded: TrainSettings = { ...settings, batchSize: 10 };

describe.each(["wasm", "cpu"] as const)("training on fixed batch shards on %s (no native kernels)", (backend) => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-parallel-"));
  // On wasm the native kernels, where built, take the threads instead of batch shards.
  const before = process.env[NATIVE_ENV];
  beforeAll(() => {
    process.env[NATIVE_ENV] = "off";
  });
  afterAll(() => {
    if (before === undefined) delete process.env[NATIVE_ENV];
    else process.env[NATIVE_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the same weights, bit for bit, on 1, 2 and 3 threads (issue 29: the thread count changed the bits)", async () => {
    await selectBackend(backend);
    const logs: string[] = [];
    const one = await trainTwoStream(data, sharded, { threads: 1, log: (m) => logs.push(m) });
    expect(logs.join("\n")).toMatch(new RegExp(`training on ${backend} \\(params\\), kernels \\S+, 1 thread on shards of 4 samples per batch, adam-js`));
    for (const threads of backend === "wasm" ? [2, 3] : [3]) {
      const other = await trainTwoStream(data, sharded, { threads });
      for (const name of one.weights.keys()) expect(bytes(other.weights, name).equals(bytes(one.weights, name)), `${threads} threads: ${name}`).toBe(true);
      expect(other.history.map((h) => h.loss)).toEqual(one.history.map((h) => h.loss));
    }
  });

  // The cpu backend is slow even on tiny shapes: the resume path is the same code on both.
  it.runIf(backend === "wasm")("resumes from a checkpoint onto the same weights as an uninterrupted run", async () => {
    await selectBackend(backend);
    const straight = await trainTwoStream(data, sharded, { threads: 2 });
    const checkpoint = { dir, fingerprint: `parallel-${backend}` };
    const controller = new AbortController();
    await expect(trainTwoStream(data, sharded, { threads: 2, checkpoint, signal: controller.signal, onEpoch: () => controller.abort() })).rejects.toThrow(/cancelled/);
    const resumed = await trainTwoStream(data, sharded, { threads: 3, checkpoint });
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
    expect(logs.join("\n")).toMatch(/kernels native-avx2-fma, 3 threads in the native kernels, adam-native/);
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
