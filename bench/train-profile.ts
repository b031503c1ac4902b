/**
 * Where a training step's time goes, per kernel: one step of the network as the trainer runs it
 * (input preparation, forward, NLL, gradients, Adam) under tf.profile on the chosen backend,
 * in this thread, after a warm-up step; kernels summed by name, forward and backward apart (a
 * step runs its forward pass first: as many kernels as a forward pass profiled alone are forward,
 * the rest backward + Adam; wrappers named *__op are left out, their kernels are counted).
 * Prints a Markdown table for docs/benchmarks-train.md.
 *
 *   node dist/bench/train-profile.js [--backend wasm] [--networks default,half,paper-temporal]
 *                                    [--batch 32] [--paper-batch 4]
 */
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import "../lib/model/gradients.js";
import { selectBackend, type BackendChoice } from "../lib/model/backend.js";
import { trainedLogProbs } from "../lib/model/objective.js";
import { drawMasks, inProcessStep } from "../lib/model/train-step.js";
import { batchTensors } from "../lib/model/input.js";
import { Rng } from "../lib/random.js";
import { benchBatch, benchNetworks, benchWeights } from "./train-networks.js";

interface Options { backend: BackendChoice; networks: string[]; batch: number; paperBatch: number }

function parseArgs(argv: string[]): Options {
  const o: Options = { backend: "wasm", networks: ["default", "half", "paper-temporal"], batch: 32, paperBatch: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--backend") o.backend = next() as BackendChoice;
    else if (a === "--networks") o.networks = next().split(",");
    else if (a === "--batch") o.batch = Number(next());
    else if (a === "--paper-batch") o.paperBatch = Number(next());
    else throw new Error(`unknown argument ${a}; see the comment at the top of bench/train-profile.ts`);
  }
  return o;
}

type Kernel = Awaited<ReturnType<typeof tf.profile>>["kernels"][number];

/** The kernels that ran, without the *__op wrappers (their kernels are listed too). */
const kernelsOf = (kernels: Kernel[]): Kernel[] => kernels.filter((k) => !k.name.endsWith("__op"));

function byKernel(kernels: Kernel[], pass: string): { name: string; pass: string; calls: number; ms: number }[] {
  const out = new Map<string, { name: string; pass: string; calls: number; ms: number }>();
  for (const k of kernels) {
    const r = out.get(k.name) ?? { name: k.name, pass, ms: 0, calls: 0 };
    const ms = k.kernelTimeMs; // a number on the CPU backends
    r.ms += typeof ms === "number" ? ms : 0;
    r.calls++;
    out.set(k.name, r);
  }
  return [...out.values()];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const selection = await selectBackend(o.backend);
  for (const net of benchNetworks().filter((n) => o.networks.includes(n.name))) {
    const batch = net.paper ? o.paperBatch : o.batch;
    const step = inProcessStep(net.arch, benchWeights(net), 1e-4);
    const data = benchBatch(net, batch);
    const rng = new Rng(3);
    const run = () => step.step(data.samples, data.augmentations, data.labels, drawMasks(net.arch, batch, rng, net.streams), 1e-4);
    const forwardPass = () => {
      const masks = drawMasks(net.arch, batch, rng, net.streams);
      const input = batchTensors(data.samples, data.augmentations, net.arch.input_size);
      // On a gradient tape, as in the step: TF.js fuses bias + ReLU into the convolution only off it.
      const engine = tf.engine() as unknown as { startTape(): void; endTape(): void };
      engine.startTape();
      try {
        tf.tidy(() => trainedLogProbs(net.arch, step.tensors().weights, input.spatial, input.temporal, (s, l, [r, c]) => tf.tensor2d(masks.get(`${s}/${l}`)!.values, [r, c])));
      } finally {
        engine.endTape();
      }
      tf.dispose([input.spatial, input.temporal]);
    };
    try {
      await run(); // warm-up: XNNPACK operators and weight caches
      const forwardCount = kernelsOf((await tf.profile(forwardPass)).kernels).length;
      const start = performance.now();
      const whole = kernelsOf((await tf.profile(async () => void (await run()))).kernels);
      const total = performance.now() - start;
      // The step runs its forward pass first (the gradient tape records it), then backward and Adam.
      const rows = [
        ...byKernel(whole.slice(0, forwardCount), "forward"),
        ...byKernel(whole.slice(forwardCount), "backward + Adam"),
      ];
      const sum = rows.reduce((a, r) => a + r.ms, 0);
      console.log(`\n## ${net.name} on tfjs ${selection.backend}, batch ${batch}: ${total.toFixed(0)} ms per step under the profiler (kernels ${sum.toFixed(0)} ms), load ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n`);
      console.log("| kernel | pass | calls | ms | share |\n|---|---|---|---|---|");
      const shown = rows.sort((a, b) => b.ms - a.ms).filter((r) => r.ms >= sum * 0.005);
      const rest = sum - shown.reduce((a, r) => a + r.ms, 0);
      shown.push({ name: "everything else", pass: "", calls: rows.length - shown.length, ms: rest });
      for (const r of shown) {
        console.log(`| ${r.name} | ${r.pass} | ${r.calls} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / sum).toFixed(1)} % |`);
      }
    } finally {
      await step.close();
    }
  }
}

await main();
