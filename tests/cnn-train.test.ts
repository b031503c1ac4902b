/**
 * Training end to end on a trivially separable task, on every backend this machine has;
 * reproducibility; and resuming from a checkpoint landing on the very same weights.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { gpuDeviceFound, selectBackend } from "../lib/model/backend.js";
import { MemorySource } from "../lib/model/dataset.js";
import { selectChannels } from "../lib/model/input.js";
import { flowChannels } from "../lib/model/architecture.js";
import { trainTwoStream, validatesBetter, type TrainSettings } from "../lib/model/trainer.js";
import type { HostWeights } from "../lib/model/weights.js";
import { tinyArchitecture, tinyExamples, tinySample } from "./cnn-helpers.js";

const arch = tinyArchitecture();
const train = tinyExamples(48, 8, "t");
const validation = tinyExamples(16, 4, "v");
const source = new MemorySource(new Map([...train, ...validation].map((e, i) => [e.id, selectChannels(tinySample(e.label, 1000 + i), flowChannels(arch))])));
const data = { source, train, validation };
const settings: TrainSettings = { arch, lr: 3e-3, weightDecay: 1e-4, epochs: 6, batchSize: 8, schedule: "inv_sqrt", augmentation: "random", seed: 42, keep: "best" };

function expectSameWeights(a: HostWeights, b: HostWeights): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, w] of a) expect(Buffer.from(w.values.buffer).equals(Buffer.from(b.get(name)!.values.buffer)), name).toBe(true);
}

describe.each(["wasm", "cpu"] as const)("training on %s", (backend) => {
  it("learns the separable task (fused validation accuracy 1) and leaks no tensors", async () => {
    const selection = await selectBackend(backend);
    expect(selection.backend).toBe(backend);
    const before = tf.memory().numTensors;
    const batches: number[] = [];
    const result = await trainTwoStream(data, settings, { onBatch: (p) => batches.push(p.batch) });
    const last = result.history.at(-1)!;
    expect(last.validation!.accuracy).toBe(1);
    expect(last.loss).toBeLessThan(result.history[0]!.loss);
    expect(result.history.map((h) => h.lr)).toEqual([1, 2, 3, 4, 5, 6].map((e) => 3e-3 / Math.sqrt(e)));
    expect(batches.length).toBe(6 * 6);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("reproducibility", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnn-ckpt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const short = { ...settings, epochs: 3 };

  it("auto takes the first backend that works on this machine, and says why it skipped the others", async () => {
    // What this machine has, found as auto finds it: a WebGPU adapter, then tfjs-node.
    // (auto passes over a software adapter such as SwiftShader: wasm is faster.)
    const webgpu = await selectBackend("webgpu").then(
      (s) => !/software adapter/.test(s.reason),
      (err: Error) => {
        expect(err.message).toMatch(/webgpu.*use backend: auto/);
        return false;
      },
    );
    const tfjsNode = await import("@tensorflow/tfjs-node" as string).then(() => true, () => false);
    const expected = webgpu ? "webgpu" : tfjsNode ? "tensorflow" : "wasm";
    const auto = await selectBackend("auto");
    expect(auto.backend).toBe(expected);
    const order = ["webgpu", "tensorflow", "wasm"];
    expect(auto.attempts.map((a) => [a.backend, a.ok])).toEqual(order.slice(0, order.indexOf(expected) + 1).map((b) => [b, b === expected]));
    // Every backend skipped says why (no Vulkan loader, no adapter, tfjs-node not installed).
    for (const skipped of auto.attempts.filter((a) => !a.ok)) expect(auto.reason).toContain(`${skipped.backend}: ${skipped.reason}`);
    if (!webgpu) expect(auto.attempts[0]!.reason).toMatch(/no Vulkan loader here|no GPU device here|Dawn found no WebGPU adapter|software \(CPU\) adapter|webgpu/i);
    if (!tfjsNode && expected === "wasm") expect(auto.reason).toMatch(/tfjs-node is not installed/);
    // The brief form, for the stages after train: the backend and the ones skipped, no reasons.
    const skipped = auto.attempts.filter((a) => !a.ok).map((a) => a.backend);
    expect(auto.brief).toBe(`${expected} (auto${skipped.length ? `; skipped ${skipped.join(", ")}` : ""})`);
    expect((await selectBackend("wasm")).brief).toBe("wasm (requested)");
  });

  it("knows a GPU is there by its device node: NVIDIA's, a DRM render node or WSL's; a card node alone is no GPU for Vulkan", () => {
    const dev = join(dir, "dev");
    mkdirSync(join(dev, "dri"), { recursive: true });
    writeFileSync(join(dev, "dri", "card0"), "");
    expect(gpuDeviceFound(dev)).toBe(false);
    for (const node of ["dri/renderD128", "nvidiactl", "dxg"]) {
      writeFileSync(join(dev, node), "");
      expect(gpuDeviceFound(dev)).toBe(true);
      rmSync(join(dev, node));
    }
    expect(gpuDeviceFound(join(dir, "no-dev"))).toBe(false);
  });

  it("gives the same weights for the same seed and backend, other weights for another seed", async () => {
    await selectBackend("wasm");
    const a = await trainTwoStream(data, short);
    const b = await trainTwoStream(data, short);
    expectSameWeights(a.weights, b.weights);
    const c = await trainTwoStream(data, { ...short, seed: 43 });
    expect(Buffer.from(c.weights.get("temporal/conv1/kernel")!.values.buffer).equals(Buffer.from(a.weights.get("temporal/conv1/kernel")!.values.buffer))).toBe(false);
  });

  it("resumes an interrupted training from its checkpoint to the weights of an uninterrupted one", async () => {
    await selectBackend("wasm");
    const straight = await trainTwoStream(data, short);
    const checkpoint = { dir, fingerprint: "test-run" };
    await expect(trainTwoStream(data, short, {
      checkpoint,
      onEpoch: (r) => {
        if (r.epoch === 1) throw new Error("interrupted");
      },
    })).rejects.toThrow("interrupted");
    const logs: string[] = [];
    const resumed = await trainTwoStream(data, short, { checkpoint, log: (m) => logs.push(m) });
    expect(logs.join("\n")).toMatch(/resuming after epoch 1/);
    expect(resumed.resumedAfter).toBe(1);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expectSameWeights(resumed.weights, straight.weights);
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));
    expect(resumed.keptEpoch).toBe(straight.keptEpoch);
  });

  it("keeps the best validation epoch: the very weights of a training stopped there", async () => {
    await selectBackend("wasm");
    // Validation labels flipped: the better the network learns, the worse it validates, so the
    // best epoch is an early one, not the last.
    const flipped = { ...data, validation: validation.map((e) => ({ ...e, label: 1 - e.label })) };
    const best = await trainTwoStream(flipped, { ...settings, keep: "best" });
    const expected = best.history.reduce((b, h) => (validatesBetter(h.validation!, b.validation!) ? h : b)).epoch;
    expect(best.keptEpoch).toBe(expected);
    expect(best.keptEpoch).toBeLessThan(settings.epochs);
    const stopped = await trainTwoStream(flipped, { ...settings, epochs: best.keptEpoch, keep: "last" });
    expectSameWeights(best.weights, stopped.weights);
    expect(validatesBetter({ loss: 0.9, accuracy: 0.8, accuracy_spatial: 0, accuracy_temporal: 0 }, { loss: 0.1, accuracy: 0.7, accuracy_spatial: 0, accuracy_temporal: 0 })).toBe(true);
    expect(validatesBetter({ loss: 0.5, accuracy: 0.8, accuracy_spatial: 0, accuracy_temporal: 0 }, { loss: 0.4, accuracy: 0.8, accuracy_spatial: 0, accuracy_temporal: 0 })).toBe(false);
  });

  it("ignores a checkpoint of another training", async () => {
    await selectBackend("wasm");
    const logs: string[] = [];
    const result = await trainTwoStream(data, { ...short, epochs: 1 }, { checkpoint: { dir, fingerprint: "another" }, log: (m) => logs.push(m) });
    expect(logs.join("\n")).toMatch(/belongs to another training/);
    expect(result.resumedAfter).toBe(0);
  });
});
