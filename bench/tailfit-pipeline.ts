/**
 * The SVM baseline end to end on the built-in synthetic data, through the real stages:
 * synthesize -> extract -> tailfit -> features -> svm, run by `dag run` in a fresh workspace;
 * then tail fitting measured against the ground truth (synthesize's truth.h5 midlines, taken into
 * each event's crop): fraction of events fitted, failure reasons, point error (px).
 *
 *   node dist/bench/tailfit-pipeline.js [recordings=24] [workspace]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import h5wasm from "h5wasm/node";
import { readTailPoints } from "../lib/tail/points-file.js";
import { distanceToPolyline } from "./synthetic-events.js";

const recordings = Number(process.argv[2] ?? 24);
const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), "bench-tailfit-pipeline-"));

writeFileSync(join(dir, "pipeline.yaml"), `seed: 0
stages:
  synthesize:
    params: { recordings: ${recordings} }
  extract:
    inputs: { recordings: synthesize.recordings }
    params: { crop_size: 128, bladder: { offset: 5 } }
  tailfit:
    inputs: { events: extract.events }
  features:
    inputs: { tails: tailfit.tails }
  svm:
    inputs: { features: features.features }
`);
const t0 = performance.now();
const r = spawnSync(process.execPath, [resolve("dist/engine/cli.js"), "run", "--keep-going"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const seconds = (performance.now() - t0) / 1000;
if (r.status !== 0) console.error(`dag run exited with ${r.status}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);

interface Item { id: string; files: Record<string, string>; meta: Record<string, unknown> }
const manifest = (stage: string, output: string): Item[] => JSON.parse(readFileSync(join(dir, "results", stage, output, "manifest.json"), "utf8")).items as Item[];

/** Ground-truth midlines of a recording: frames x points x 2, image pixels. */
async function truthMidline(path: string): Promise<{ data: Float32Array; points: number }> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, "r");
  try {
    const ds = file.get("midline") as InstanceType<typeof h5wasm.Dataset>;
    return { data: ds.value as Float32Array, points: ds.shape![1]! };
  } finally {
    file.close();
  }
}

const truths = new Map<string, { data: Float32Array; points: number }>();
for (const rec of manifest("synthesize", "recordings")) truths.set(rec.id, await truthMidline(join(dir, "results", "synthesize", "recordings", rec.files["truth"]!)));
const events = new Map(manifest("extract", "events").map((e) => [e.id, e]));

const errors: number[] = [];
const reasons: Record<string, number> = {};
let fitted = 0;
const tails = manifest("tailfit", "tails");
for (const item of tails) {
  if (item.meta["tailfit"] !== "ok") {
    const kind = String(item.meta["reason"]).split(":")[0]!;
    reasons[kind] = (reasons[kind] ?? 0) + 1;
    continue;
  }
  fitted++;
  const ev = events.get(item.id)!;
  const crop = ev.meta["crop"] as { top: number; left: number; width: number };
  const start = ev.meta["start"] as number;
  const truth = truths.get(ev.meta["recording"] as string)!;
  const tail = readTailPoints(join(dir, "results", "tailfit", "tails", item.files["points"]!));
  const n = truth.points;
  const line = new Float64Array(2 * n);
  for (let f = 0; f < tail.frames; f++) {
    for (let k = 0; k < n; k++) {
      const x = truth.data[2 * ((start + f) * n + k)]! - crop.left;
      line[2 * k] = ev.meta["mirrored"] ? crop.width - 1 - x : x;
      line[2 * k + 1] = truth.data[2 * ((start + f) * n + k) + 1]! - crop.top;
    }
    for (let k = 0; k < tail.points; k++) errors.push(distanceToPolyline(tail.xy[2 * (f * tail.points + k)]!, tail.xy[2 * (f * tail.points + k) + 1]!, line, 0, n));
  }
}
errors.sort((a, b) => a - b);
const q = (p: number): string => (errors[Math.min(errors.length - 1, Math.floor(p * errors.length))] ?? NaN).toFixed(2);
const svm = JSON.parse(readFileSync(join(dir, "results", "svm", "report", "metrics.json"), "utf8"));
console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}; node ${process.version}; workspace ${dir}`);
console.log(`dag run (synthesize ${recordings} recordings -> extract -> tailfit -> features -> svm): ${seconds.toFixed(0)} s`);
console.log(`events ${tails.length}, tail fitted ${fitted} (${((100 * fitted) / tails.length).toFixed(1)} %), failed ${JSON.stringify(reasons)}`);
console.log(`point error vs the true midline (px): median ${q(0.5)}, 90th ${q(0.9)}, 99th ${q(0.99)}, max ${q(1)} (${errors.length} points)`);
console.log(`svm: best ${JSON.stringify(svm.best)}, test ${JSON.stringify({ accuracy: svm.test.accuracy, events: svm.test.events })}`);
