/**
 * Training throughput of the two-stream CNN (samples/s, forward + backward + Adam) on each
 * TensorFlow.js backend available here, beside PyTorch on the same network and machine
 * (bench/train_reference.py, Debian's python3-torch): the default network and the paper's
 * (both streams), and the paper's temporal stream alone (the GPU figures are for it).
 *
 *   node dist/bench/train.js [--backends wasm,cpu] [--steps 3] [--paper-steps 1]
 *                            [--batch 32] [--paper-batch 4] [--cpu-paper-batch 1] [--no-torch]
 *                            [--networks default,paper,paper-temporal]
 *   PYTHON=/path/to/python3 picks the interpreter with torch (default /usr/bin/python3).
 *
 * Inputs are random tensors of the right shapes: this measures the network, not the data
 * loading (input preparation is timed on its own, per sample). One warm-up step is excluded.
 * Prints a Markdown table for docs/benchmarks-train.md.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "../lib/model/gradients.js";
import { AdamL2 } from "../lib/model/adam.js";
import { flowChannels, inputChannels, multiplyAdds, parameterCount, resolveArchitecture, type Architecture } from "../lib/model/architecture.js";
import { selectBackend, type BackendChoice } from "../lib/model/backend.js";
import { nllLoss, streamLogits, twoStream } from "../lib/model/forward.js";
import { cropGeometry, writeExample, type StreamSample } from "../lib/model/input.js";
import { Rng } from "../lib/random.js";
import { initialWeights } from "../lib/model/weights.js";

interface Options {
  backends: BackendChoice[];
  steps: number;
  paperSteps: number;
  batch: number;
  paperBatch: number;
  cpuPaperBatch: number;
  torch: boolean;
  /** Which of default, paper, paper-temporal to measure. */
  networks: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { backends: ["wasm", "cpu"], steps: 3, paperSteps: 1, batch: 32, paperBatch: 4, cpuPaperBatch: 1, torch: true, networks: ["default", "paper", "paper-temporal"] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? "";
    if (a === "--backends") o.backends = next().split(",").filter(Boolean) as BackendChoice[];
    else if (a === "--steps") o.steps = Number(next());
    else if (a === "--paper-steps") o.paperSteps = Number(next());
    else if (a === "--batch") o.batch = Number(next());
    else if (a === "--paper-batch") o.paperBatch = Number(next());
    else if (a === "--cpu-paper-batch") o.cpuPaperBatch = Number(next());
    else if (a === "--no-torch") o.torch = false;
    else if (a === "--networks") o.networks = next().split(",");
    else throw new Error(`unknown argument ${a}; see the comment at the top of bench/train.ts`);
  }
  return o;
}

function random(shape: number[], rng: Rng): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape as [number, number, number, number]);
}

/** What is trained: both streams fused (the network), or the temporal stream alone (as the GPU figures). */
type Streams = "both" | "temporal";

/** Seconds per training step (after one warm-up step), as the trainer runs it. */
async function stepSeconds(arch: Architecture, streams: Streams, batch: number, steps: number): Promise<number> {
  const rng = new Rng(1);
  const vars = new Map<string, tf.Variable>();
  for (const [name, w] of initialWeights(arch, 1)) {
    if (streams === "temporal" && !name.startsWith("temporal/")) continue;
    const t = tf.tensor(w.values, w.shape);
    vars.set(name, tf.variable(t));
    t.dispose();
  }
  const names = new Map([...vars].map(([k, v]) => [v.name, k]));
  const adam = new AdamL2(vars, { weightDecay: 1e-4 });
  const s = arch.input_size;
  const spatial = random([batch, s, s, 1], rng);
  const temporal = random([batch, s, s, inputChannels(arch, "temporal")], rng);
  const target = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 2), "int32"), 2), "float32") as tf.Tensor2D;
  const mask = (_: unknown, __: unknown, [r, c]: [number, number]) => tf.tensor2d(Float32Array.from({ length: r * c }, () => (rng.next() < arch.dropout ? 0 : 1 / (1 - arch.dropout))), [r, c]);
  const times: number[] = [];
  try {
    for (let i = 0; i <= steps; i++) {
      const start = performance.now();
      const loss = () => nllLoss(streams === "both" ? twoStream(arch, vars, spatial, temporal, mask).fused : tf.logSoftmax(streamLogits(arch, "temporal", vars, temporal, mask)), target);
      const { value, grads } = tf.variableGrads(loss, [...vars.values()]);
      const named: Record<string, tf.Tensor> = {};
      for (const [id, g] of Object.entries(grads)) named[names.get(id)!] = g;
      adam.apply(named, 1e-4);
      await value.data();
      await vars.values().next().value!.data(); // wait for the update on asynchronous backends
      tf.dispose([value, ...Object.values(grads)]);
      if (i > 0) times.push((performance.now() - start) / 1000);
    }
  } finally {
    adam.dispose();
    tf.dispose([spatial, temporal, target, ...vars.values()]);
  }
  return times.reduce((a, b) => a + b, 0) / times.length;
}

/** Samples per second of the input preparation (crop, dequantise, flip, transpose) for one architecture. */
function preparationRate(arch: Architecture): number {
  const side = Math.round((arch.input_size * 256) / 224);
  const channels = flowChannels(arch).length;
  const rng = new Rng(2);
  const sample: StreamSample = {
    flow: Uint8Array.from({ length: channels * side * side }, () => Math.floor(rng.next() * 256)),
    range: Float32Array.from({ length: 2 * channels }, (_, i) => (i % 2 ? 1 : -1)),
    spatial: new Uint8Array(side * side), channels, rows: side, cols: side,
  };
  const size = cropGeometry(side).size;
  const spatial = new Float32Array(size * size);
  const temporal = new Float32Array(size * size * channels);
  const n = 40;
  const start = performance.now();
  for (let i = 0; i < n; i++) writeExample(sample, i % 18, spatial, temporal, 0);
  return n / ((performance.now() - start) / 1000);
}

interface Row {
  network: string;
  backend: string;
  batch: number;
  steps: number;
  samplesPerSecond: number | null;
  note: string;
}

/** Debian's python3-torch installs into the system Python, which a pyenv or venv python3 on PATH does not see. */
const python = process.env["PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

function torchRows(archs: Record<string, Architecture>, o: Options): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "bench-train-"));
  const file = join(dir, "archs.json");
  writeFileSync(file, JSON.stringify(archs));
  const rows: Row[] = [];
  for (const threads of [1, cpus().length]) {
    const args = [resolve("bench/train_reference.py"), file, "--threads", String(threads), "--steps", String(o.steps), "--paper-steps", String(o.paperSteps), "--batch", String(o.batch), "--paper-batch", String(o.paperBatch)];
    const r = spawnSync(python, args, { encoding: "utf8" });
    if (r.status !== 0) {
      const why = /No module named 'torch'/.test(r.stderr) ? "PyTorch is not installed: apt-get install -y python3-torch" : r.stderr.trim().split("\n").at(-1);
      rows.push({ network: "-", backend: `PyTorch CPU, ${threads} thread(s)`, batch: 0, steps: 0, samplesPerSecond: null, note: why ?? "failed" });
      continue;
    }
    for (const line of r.stdout.trim().split("\n")) {
      const m = JSON.parse(line) as { network: string; version: string; threads: number; batch: number; steps: number; samples_per_second: number };
      rows.push({ network: m.network, backend: `PyTorch ${m.version} CPU, ${m.threads} thread(s)`, batch: m.batch, steps: m.steps, samplesPerSecond: m.samples_per_second, note: "" });
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const archs = { default: resolveArchitecture({ preset: "default" }), paper: resolveArchitecture({ preset: "paper" }) };
  const all: { name: string; arch: Architecture; streams: Streams }[] = [
    { name: "default", arch: archs.default, streams: "both" },
    { name: "paper", arch: archs.paper, streams: "both" },
    { name: "paper-temporal", arch: archs.paper, streams: "temporal" },
  ];
  const networks = all.filter((n) => o.networks.includes(n.name));
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`# ${cpus().length} cores (${cpu}), load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}, Node ${process.version}, TensorFlow.js ${tf.version_core}`);
  for (const [name, arch] of Object.entries(archs)) {
    console.log(`# ${name}: ${arch.input_size}x${arch.input_size}, ${inputChannels(arch, "temporal")} flow channels, ${(parameterCount(arch) / 1e6).toFixed(1)} M weights, ${(multiplyAdds(arch) / 1e9).toFixed(2)} G multiply-adds per sample (forward); input preparation ${preparationRate(arch).toFixed(0)} samples/s`);
  }
  const rows: Row[] = [];
  for (const backend of o.backends) {
    let selection;
    try {
      selection = await selectBackend(backend);
    } catch (error) {
      rows.push({ network: "-", backend, batch: 0, steps: 0, samplesPerSecond: null, note: (error as Error).message });
      continue;
    }
    for (const { name, arch, streams } of networks) {
      const paper = name !== "default";
      const batch = paper ? (selection.backend === "cpu" ? o.cpuPaperBatch : o.paperBatch) : o.batch;
      const steps = paper ? o.paperSteps : o.steps;
      try {
        const seconds = await stepSeconds(arch, streams, batch, steps);
        rows.push({ network: name, backend: `tfjs ${selection.backend}`, batch, steps, samplesPerSecond: batch / seconds, note: "" });
      } catch (error) {
        rows.push({ network: name, backend: `tfjs ${selection.backend}`, batch, steps, samplesPerSecond: null, note: (error as Error).message.split("\n")[0]! });
      }
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
  if (o.torch) rows.push(...torchRows(archs, o));
  console.log("\n| network | backend | batch | timed steps | samples/s | note |\n|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.network} | ${r.backend} | ${r.batch || "-"} | ${r.steps || "-"} | ${r.samplesPerSecond === null ? "-" : r.samplesPerSecond.toFixed(2)} | ${r.note} |`);
}

await main();
