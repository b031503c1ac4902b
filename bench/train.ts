/**
 * Training throughput of the two-stream CNN (samples/s: input preparation, forward, backward,
 * Adam, as the trainer runs a step) beside PyTorch on the same network, batch and machine
 * (bench/train_reference.py, Debian's python3-torch): ours on one thread and on every core as the
 * trainer runs them (native kernels' threads, or data-parallel workers where those are not
 * built), PyTorch on one thread and torch.set_num_threads(nproc), interleaved, each figure
 * with the load average it was taken under, and the ratios.
 *
 *   node dist/bench/train.js [--networks default,half,paper-temporal] [--backend wasm]
 *                            [--threads 1,<nproc>] [--steps 5] [--paper-steps 1]
 *                            [--batch 32] [--paper-batch 4] [--rounds 1] [--no-torch]
 *   node dist/bench/train.js --gpu   # webgpu against PyTorch on CUDA (paper-temporal, default)
 *   PYTHON=/path/to/python3 picks the interpreter with torch (default /usr/bin/python3).
 *
 * Inputs are seeded random samples in the stored form (quantised flow, grey frames), already in
 * memory: file reading is not timed. One warm-up step is excluded from every figure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { inputChannels, multiplyAdds, parameterCount } from "../lib/model/architecture.js";
import { selectBackend, type BackendChoice } from "../lib/model/backend.js";
import { drawMasks, type TrainStep } from "../lib/model/train-step.js";
import { activeRoute, openStep } from "../lib/model/trainer.js";
import { describeRoute } from "../lib/model/route.js";
import { Rng } from "../lib/random.js";
import { benchBatch, benchNetworks, benchWeights, type BenchNetwork } from "./train-networks.js";

interface Options {
  backend: BackendChoice;
  threads: number[];
  steps: number;
  paperSteps: number;
  batch: number;
  paperBatch: number;
  rounds: number;
  torch: boolean;
  torchDevice: string;
  networks: string[];
}

function parseArgs(argv: string[]): Options {
  const cores = availableParallelism();
  const o: Options = { backend: "wasm", threads: [...new Set([1, cores])], steps: 5, paperSteps: 1, batch: 32, paperBatch: 4, rounds: 1, torch: true, torchDevice: "cpu", networks: ["default", "half", "paper-temporal"] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--backend") o.backend = next() as BackendChoice;
    else if (a === "--threads") o.threads = next().split(",").map(Number);
    else if (a === "--steps") o.steps = Number(next());
    else if (a === "--paper-steps") o.paperSteps = Number(next());
    else if (a === "--batch") o.batch = Number(next());
    else if (a === "--paper-batch") o.paperBatch = Number(next());
    else if (a === "--rounds") o.rounds = Number(next());
    else if (a === "--no-torch") o.torch = false;
    else if (a === "--networks") o.networks = next().split(",");
    // The GPU comparison of issue 16: TF.js WebGPU against PyTorch fp32 on CUDA, batch 32.
    else if (a === "--gpu") Object.assign(o, { backend: "webgpu", threads: [1], torchDevice: "cuda", paperBatch: 32, paperSteps: 5, networks: ["paper-temporal", "default"] });
    else throw new Error(`unknown argument ${a}; see the comment at the top of bench/train.ts`);
  }
  return o;
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(" ");

interface Figure {
  network: string;
  who: "ours" | "PyTorch";
  threads: number;
  batch: number;
  samplesPerSecond: number | null;
  load: string;
  note: string;
}

/** Samples/s of `steps` training steps after one warm-up, through the trainer's own step. */
async function ours(net: BenchNetwork, threads: number, batch: number, steps: number): Promise<{ rate: number; description: string }> {
  const weights = benchWeights(net);
  const data = benchBatch(net, batch);
  const rng = new Rng(3);
  const route = activeRoute(threads, batch); // the trainer's choice for this backend and thread count
  const step: TrainStep = await openStep(net.arch, weights, 1e-4, route);
  try {
    let seconds = 0;
    for (let i = 0; i <= steps; i++) {
      const start = performance.now();
      await step.step(data.samples, data.augmentations, data.labels, drawMasks(net.arch, batch, rng, net.streams), 1e-4);
      if (i > 0) seconds += (performance.now() - start) / 1000;
    }
    return { rate: (batch * steps) / seconds, description: describeRoute(route) };
  } finally {
    await step.close();
  }
}

/** Debian's python3-torch installs into the system Python, which a pyenv or venv python3 on PATH does not see. */
const python = process.env["PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const scratch = mkdtempSync(join(tmpdir(), "bench-train-"));

function torch(net: BenchNetwork, threads: number, batch: number, steps: number, device: string): { rate: number | null; note: string } {
  const file = join(scratch, `${net.name}.json`);
  writeFileSync(file, JSON.stringify({ arch: net.arch, temporal_only: net.streams.length === 1, batch, steps }));
  const r = spawnSync(python, [resolve("bench/train_reference.py"), file, "--threads", String(threads), "--device", device], { encoding: "utf8" });
  if (r.status !== 0) {
    const last = r.stderr.trim().split("\n").at(-1) ?? "failed";
    const why = /No module named 'torch'/.test(r.stderr)
      ? "PyTorch is not installed: apt-get install -y python3-torch"
      : device === "cuda" && /CUDA|NVIDIA driver/.test(r.stderr) ? `PyTorch has no CUDA GPU here (${last}): the comparison needs a CUDA build of torch on an NVIDIA GPU` : last;
    return { rate: null, note: why };
  }
  const m = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { version: string; device: string; samples_per_second: number };
  return { rate: m.samples_per_second, note: `PyTorch ${m.version} on ${m.device}` };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  let selection;
  try {
    selection = await selectBackend(o.backend);
  } catch (error) {
    console.error(`bench/train: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const networks = benchNetworks().filter((n) => o.networks.includes(n.name));
  console.log(`# ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}, TensorFlow.js ${tf.version_core} ${selection.backend}: ${selection.reason}`);
  for (const n of networks) {
    const params = [...benchWeights(n).values()].reduce((a, w) => a + w.values.length, 0);
    const macs = multiplyAdds(n.arch, n.streams);
    console.log(`# ${n.name}: ${n.streams.join(" + ")}, ${n.arch.input_size}x${n.arch.input_size}, ${inputChannels(n.arch, "temporal")} flow channels, ${(params / 1e6).toFixed(2)} M weights (both streams ${(parameterCount(n.arch) / 1e6).toFixed(2)} M), ~${(macs / 1e9).toFixed(2)} G multiply-adds per sample forward`);
  }
  const figures: Figure[] = [];
  const say = (f: Figure) => {
    figures.push(f);
    console.error(`${f.network.padEnd(15)} ${f.who.padEnd(8)} ${String(f.threads).padStart(2)} thread(s) batch ${f.batch}: ${f.samplesPerSecond === null ? "-" : f.samplesPerSecond.toFixed(2)} samples/s (load ${f.load}) ${f.note}`);
  };
  for (let round = 0; round < o.rounds; round++) {
    for (const net of networks) {
      const batch = net.paper ? o.paperBatch : o.batch;
      const steps = net.paper ? o.paperSteps : o.steps;
      // A and B interleaved: ours, then PyTorch, at each thread count in turn.
      for (const threads of o.threads) {
        try {
          const { rate, description } = await ours(net, threads, batch, steps);
          say({ network: net.name, who: "ours", threads, batch, samplesPerSecond: rate, load: load(), note: description });
        } catch (error) {
          say({ network: net.name, who: "ours", threads, batch, samplesPerSecond: null, load: load(), note: (error as Error).message.split("\n")[0]! });
        }
        if (o.torch) {
          const t = torch(net, threads, batch, steps, o.torchDevice);
          say({ network: net.name, who: "PyTorch", threads, batch, samplesPerSecond: t.rate, load: load(), note: t.note });
        }
      }
    }
  }
  console.log("\n| network | threads | batch | ours samples/s | PyTorch samples/s | ours / PyTorch | load (1, 5, 15 min) |\n|---|---|---|---|---|---|---|");
  const fmt = (x: number | null | undefined) => (x === null || x === undefined ? "-" : x.toFixed(2));
  for (const f of figures.filter((x) => x.who === "ours")) {
    const t = figures.find((x) => x.who === "PyTorch" && x.network === f.network && x.threads === f.threads && figures.indexOf(x) > figures.indexOf(f));
    const ratio = f.samplesPerSecond && t?.samplesPerSecond ? `${(f.samplesPerSecond / t.samplesPerSecond).toFixed(2)}x` : "-";
    console.log(`| ${f.network} | ${f.threads} | ${f.batch} | ${fmt(f.samplesPerSecond)} | ${fmt(t?.samplesPerSecond)} | ${ratio} | ${f.load} / ${t?.load ?? "-"} |`);
  }
}

await main();
