/**
 * Whether a training's weights depend on the thread count, per route: a short training (seeded
 * random samples, the default network half as wide) on 1, 2 and 3 threads, on wasm with the
 * native kernels, on wasm without them (DAG_NATIVE_KERNELS=off) and on cpu (a smaller network: it
 * is the slowest). Prints per route and thread count the weights that differ from the route's
 * one-thread run, the largest difference, and the seconds it took (Markdown, for
 * docs/benchmarks-train.md).
 *
 *   node dist/bench/train-threads.js [--samples 24] [--batch 12] [--epochs 2] [--threads 1,2,3] [--routes native,wasm,cpu]
 */
import { selectBackend } from "../lib/model/backend.js";
import { MemorySource } from "../lib/model/dataset.js";
import { NATIVE_ENV } from "../lib/model/native-kernels.js";
import { trainTwoStream, type TrainSettings } from "../lib/model/trainer.js";
import type { HostWeights } from "../lib/model/weights.js";
import { benchBatch, benchNetworks, halfWidth, type BenchNetwork } from "./train-networks.js";

interface Options { samples: number; batch: number; epochs: number; threads: number[]; routes: string[] }

function parseArgs(argv: string[]): Options {
  const o: Options = { samples: 24, batch: 12, epochs: 2, threads: [1, 2, 3], routes: ["native", "wasm", "cpu"] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--samples") o.samples = Number(next());
    else if (a === "--batch") o.batch = Number(next());
    else if (a === "--epochs") o.epochs = Number(next());
    else if (a === "--threads") o.threads = next().split(",").map(Number);
    else if (a === "--routes") o.routes = next().split(",");
    else throw new Error(`unknown argument ${a}; see the comment at the top of bench/train-threads.ts`);
  }
  return o;
}

/** Weights that differ between two trainings, and the largest difference. */
function difference(a: HostWeights, b: HostWeights): { total: number; differing: number; max: number } {
  let total = 0;
  let differing = 0;
  let max = 0;
  for (const [name, w] of a) {
    const other = b.get(name)!.values;
    w.values.forEach((x, i) => {
      total++;
      if (x !== other[i]) {
        differing++;
        max = Math.max(max, Math.abs(x - other[i]!));
      }
    });
  }
  return { total, differing, max };
}

interface Route { id: string; name: string; backend: "wasm" | "cpu"; native: boolean; net: BenchNetwork }

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const def = benchNetworks().find((n) => n.name === "default")!;
  const half: BenchNetwork = { ...def, name: "half", arch: halfWidth(def.arch) };
  const quarter: BenchNetwork = { ...def, name: "quarter", arch: halfWidth(half.arch) };
  const eighth: BenchNetwork = { ...def, name: "eighth", arch: halfWidth(quarter.arch) };
  const all: Route[] = [
    { id: "native", name: "wasm + native kernels", backend: "wasm", native: true, net: quarter },
    { id: "wasm", name: "wasm, DAG_NATIVE_KERNELS=off", backend: "wasm", native: false, net: quarter },
    { id: "cpu", name: "cpu", backend: "cpu", native: false, net: eighth },
  ];
  const routes = all.filter((r) => o.routes.includes(r.id));
  const before = process.env[NATIVE_ENV];
  console.log(`| route | network (weights) | threads | weights differing from 1 thread | largest difference | seconds |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const route of routes) {
    if (route.native) {
      if (before === undefined) delete process.env[NATIVE_ENV];
      else process.env[NATIVE_ENV] = before;
    } else {
      process.env[NATIVE_ENV] = "off";
    }
    await selectBackend(route.backend);
    const batch = benchBatch(route.net, o.samples, 3);
    const train = batch.samples.map((_, i) => ({ id: `s${i}`, recording: `rec${i % 4}`, label: batch.labels[i]!, path: "" }));
    const source = new MemorySource(new Map(train.map((e, i) => [e.id, batch.samples[i]!])));
    const settings: TrainSettings = {
      arch: route.net.arch, lr: 1e-3, weightDecay: 1e-4, epochs: o.epochs, batchSize: o.batch, schedule: "inv_sqrt", augmentation: "random", seed: 5, keep: "last",
    };
    let one: HostWeights | undefined;
    for (const threads of o.threads) {
      const began = performance.now();
      const result = await trainTwoStream({ source, train, validation: [] }, settings, { threads });
      const seconds = (performance.now() - began) / 1000;
      one ??= result.weights;
      const d = difference(one, result.weights);
      console.log(`| ${route.name} | ${route.net.name} (${d.total}) | ${threads} | ${d.differing} | ${d.max.toExponential(1)} | ${seconds.toFixed(1)} |`);
    }
  }
}

await main();
