/**
 * The explain stage's work: the samples of the chosen splits, explained in parts, one per thread
 * (part.ts), merged in order and handed to outputs.ts. Loaded lazily.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ArtifactIn, ArtifactOut, CollectionIn, StageContext } from "../../engine/stage-api.js";
import type { MethodName } from "../../lib/explain/methods.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import type { Stream } from "../../lib/model/architecture.js";
import { examplesBySplit, flowLayoutOf } from "../../lib/model/splits.js";
import { readSplits, SPLIT_NAMES, type SplitName } from "../../lib/splits.js";
import type { ExplainParams } from "./index.js";
import { writeOutputs } from "./outputs.js";
import { explainPart, type Explained, type PartRequest, type PartResult, type StreamMaps, type WorkerMessage } from "./part.js";

function chosenSplits(p: ExplainParams["splits"]): SplitName[] {
  if (p === "all") return [...SPLIT_NAMES];
  return typeof p === "string" ? [p] : SPLIT_NAMES.filter((s) => p.includes(s));
}

function classNamesOf(samples: CollectionIn, classes: number): string[] {
  const names = Array.from({ length: classes }, (_, c) => `class ${c}`);
  for (const item of samples.items) {
    const [label, name] = [item.meta["label"], item.meta["class"]];
    if (typeof label === "number" && typeof name === "string" && label < classes) names[label] = name;
  }
  return names;
}

export async function explainModel(ctx: StageContext, params: ExplainParams, model: ArtifactIn, samples: CollectionIn, splitsIn: ArtifactIn): Promise<Record<string, ArtifactOut>> {
  if (!model.files["model"] || !model.files["weights"]) throw new Error(`explain: the model input has no model/weights files (it has: ${Object.keys(model.files).join(", ") || "none"}): feed evaluate.model`);
  if (params.fish_band.bottom <= params.fish_band.top) throw new Error(`explain: fish_band.bottom (${params.fish_band.bottom}) must be below fish_band.top (${params.fish_band.top})`);
  const splitsPath = mainFile(splitsIn, "splits");
  if (!splitsPath) throw new Error(`explain: the splits input has no "splits" file (it has: ${fileNames(splitsIn)}): feed split.splits`);
  const wanted = chosenSplits(params.splits);
  const sets = examplesBySplit(samples.items, readSplits(splitsPath));
  const examples = wanted.flatMap((split) => sets[split].map((example) => ({ example, split })));
  if (examples.length === 0) throw new Error(`explain: the split(s) ${wanted.join(", ")} hold no samples: choose others with explain.splits (test, validation, train, all)`);

  const started = Date.now();
  const threads = Math.max(1, Math.min(params.threads || availableParallelism(), Math.ceil(examples.length / params.batch)));
  const request = (part: PartRequest["examples"]): PartRequest => ({ modelPath: model.files["model"]!, weightsPath: model.files["weights"]!, pairStride: flowLayoutOf(samples.items).pairStride, examples: part, params });
  const parts = threads === 1
    ? [await explainPart(request(examples), (done, rate) => ctx.progress(done, examples.length, progressNote(done, examples.length, rate, params)), ctx.signal, (m) => ctx.log(m))]
    : await inWorkers(ctx, params, chunk(examples, threads).map(request), examples.length);
  const seconds = (Date.now() - started) / 1000;
  ctx.log(`explained ${examples.length} samples of ${wanted.join(", ")} with ${params.methods.join(", ")} in ${seconds.toFixed(1)} s on ${threads} thread(s) (${(examples.length / seconds).toFixed(1)} samples/s, both streams, every method)`);
  return writeOutputs(ctx, params, { ...mergeParts(parts), classNames: classNamesOf(samples, parts[0]!.arch.classes) });
}

const progressNote = (done: number, total: number, rate: number, params: ExplainParams) => `${done}/${total} samples, ${rate.toFixed(1)} samples/s (${params.methods.length} method(s), both streams)`;

/** `items` in `count` contiguous chunks of nearly equal size. */
function chunk<T>(items: T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((c) => c.length > 0);
}

/** Each part in a worker thread of its own (each its own TensorFlow.js backend: wasm runs one thread). */
async function inWorkers(ctx: StageContext, params: ExplainParams, requests: PartRequest[], total: number): Promise<PartResult[]> {
  const done = requests.map(() => 0);
  const started = Date.now();
  const workers = requests.map((r) => new Worker(new URL("./explain-worker.js", import.meta.url), { workerData: r }));
  const stop = (): void => void Promise.all(workers.map((w) => w.terminate()));
  ctx.signal.addEventListener("abort", stop, { once: true });
  try {
    return await Promise.all(
      workers.map((worker, i) => new Promise<PartResult>((resolve, reject) => {
        worker.on("message", (m: WorkerMessage) => {
          if (m.type === "progress") {
            done[i] = m.done;
            const sum = done.reduce((a, b) => a + b, 0);
            ctx.progress(sum, total, progressNote(sum, total, sum / ((Date.now() - started) / 1000), params));
          } else if (m.type === "log") {
            // Every part says which backend it got; the first speaks for all.
            if (i === 0) ctx.log(m.message);
          }
          else resolve(m.result);
        });
        worker.on("error", reject);
        worker.on("exit", (code) => reject(new Error(ctx.signal.aborted ? "cancelled" : `explain: a worker thread stopped (exit code ${code}) before it finished`)));
      })),
    );
  } finally {
    ctx.signal.removeEventListener("abort", stop);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The parts, in order, as one. */
function mergeParts(parts: PartResult[]): Omit<Explained, "classNames"> {
  const first = parts[0]!;
  const concat = (arrays: Float32Array[]) => {
    const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  const maps: Explained["maps"] = {};
  for (const name of Object.keys(first.maps) as MethodName[]) {
    const merged = (stream: Stream): StreamMaps => {
      const all = parts.map((p) => p.maps[name]![stream]);
      return {
        stored: concat(all.map((m) => m.stored)), normalised: concat(all.map((m) => m.normalised)), frames: concat(all.map((m) => m.frames)),
        evidence: concat(all.map((m) => m.evidence)), total: concat(all.map((m) => m.total)), reasons: all.flatMap((m) => m.reasons),
        layerTotals: all[0]!.layerTotals.map((l, k) => ({ layer: l.layer, sum: all.reduce((s, m) => s + (m.layerTotals[k]?.sum ?? 0), 0), count: all.reduce((s, m) => s + (m.layerTotals[k]?.count ?? 0), 0) })),
      };
    };
    maps[name] = { spatial: merged("spatial"), temporal: merged("temporal") };
  }
  const occlusion = first.occlusion.map((o, r) => ({
    region: o.region,
    predicted: { spatial: Int8Array.from(parts.flatMap((p) => [...p.occlusion[r]!.predicted.spatial])), temporal: Int8Array.from(parts.flatMap((p) => [...p.occlusion[r]!.predicted.temporal])) },
  }));
  return { arch: first.arch, geometry: first.geometry, frameIndex: first.frameIndex, samples: parts.flatMap((p) => p.samples), backgrounds: concat(parts.map((p) => p.backgrounds)), maps, occlusion, backend: first.backend };
}

