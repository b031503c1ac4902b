/**
 * Explanation speed (samples/s, both streams) per method on the default network, beside the
 * PyTorch reference of the same rules on the same machine (bench/explain_reference.py, Debian's
 * python3-torch), and how far the two agree (largest difference over the largest |value|).
 *
 *   node dist/bench/explain.js [--samples 64] [--batch 16] [--backend wasm] [--threads N]
 *                              [--methods deep_taylor,saliency,...] [--preset default|paper]
 *
 * Weights: the seeded initialisation with small random biases; inputs: random tensors shaped
 * like the real ones (this measures the relevance pass, not reading samples). Prints a Markdown
 * table for docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { METHOD_NAMES, type MethodName } from "../lib/explain/methods.js";
import { resolveArchitecture, type PresetName } from "../lib/model/architecture.js";
import { selectBackend, type BackendChoice } from "../lib/model/backend.js";
import { compareWithReference, explainOurs, predictedTargets, randomInputs, runReference, weightsWithBiases, writeCase, type Case } from "./explain-compare.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const samples = Number(option("samples", "64"));
const batch = Number(option("batch", "16"));
const methods = option("methods", METHOD_NAMES.join(",")).split(",") as MethodName[];
const threads = Number(option("threads", String(cpus().length)));
const arch = resolveArchitecture({ preset: option("preset", "default") as PresetName });

const backend = await selectBackend(option("backend", "wasm") as BackendChoice);
const weights = weightsWithBiases(arch, 1);
const inputs = randomInputs(arch, samples, 2);
const c: Case = { arch, weights, inputs, targets: predictedTargets({ arch, weights, inputs }), methods, epsilon: 0.01 };
const dir = mkdtempSync(join(tmpdir(), "explain-bench-"));
try {
  writeCase(dir, c);
  explainOurs({ ...c, inputs: randomInputs(arch, batch, 3), targets: { spatial: new Array(batch).fill(0), temporal: new Array(batch).fill(0) } }, batch); // warm-up
  const ours = explainOurs(c, batch);
  const reference = runReference(dir, threads);
  const agreement = reference.ok ? compareWithReference(dir, ours.maps, samples) : {};
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${samples} samples, batch ${batch}, ${option("preset", "default")} network`);
  console.log(`ours: TensorFlow.js ${backend.backend}; reference: ${reference.ok ? `PyTorch ${reference.torch}, ${reference.threads} threads` : `not run (${reference.why})`}`);
  console.log("");
  console.log("| method | ours (samples/s, both streams) | PyTorch (samples/s) | ours / PyTorch | relative difference per sample, median: spatial | temporal |");
  console.log("|---|---|---|---|---|---|");
  for (const m of methods) {
    const mine = samples / ours.seconds[m]!;
    const theirs = reference.ok ? reference.timings[m]!.samples_per_s : Number.NaN;
    const diff = (s: string) => {
      const a = agreement[`${m}-${s}`];
      return a ? `${a.median.toExponential(1)} (${a.within} of ${samples} within 1e-4; worst ${a.worst.toExponential(1)})` : "-";
    };
    console.log(`| ${m} | ${mine.toFixed(1)} | ${reference.ok ? theirs.toFixed(1) : "-"} | ${reference.ok ? (mine / theirs).toFixed(2) : "-"} | ${diff("spatial")} | ${diff("temporal")} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
