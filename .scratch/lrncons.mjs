import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { readModel } from "../dist/lib/model/model-files.js";
import { selectBackend } from "../dist/lib/model/backend.js";
import { flowChannels } from "../dist/lib/model/architecture.js";
import { SampleCache } from "../dist/lib/model/dataset.js";
import { batchTensors } from "../dist/lib/model/input.js";
import { CENTER } from "../dist/lib/model/batches.js";
import { explainStream } from "../dist/lib/explain/explain.js";
import { method } from "../dist/lib/explain/methods.js";
import { streamLogits } from "../dist/lib/model/forward.js";
const dir = process.argv[2];
await selectBackend("wasm");
const { arch, weights } = await readModel(`${dir}/results/evaluate/model/model.json`);
const tensors = new Map([...weights].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
const manifest = JSON.parse(readFileSync(`${dir}/results/flow/samples/manifest.json`, "utf8"));
const items = manifest.items.filter((_, i) => i % 12 === 0).slice(0, 32);
const pairStride = items[0].meta.pair_stride ?? 1;
const source = new SampleCache(flowChannels(arch, pairStride), 1e9);
const samples = await Promise.all(items.map((it) => source.get({ id: it.id, recording: "", label: 0, path: `${dir}/results/flow/samples/${it.id}/sample.h5` })));
const input = batchTensors(samples, samples.map(() => CENTER), arch.input_size);
for (const stream of ["spatial", "temporal"]) {
  const targets = Array.from(tf.argMax(streamLogits(arch, stream, tensors, input[stream]), 1).dataSync());
  for (const lrn of ["identity", "gradient"]) {
    const r = explainStream(arch, stream, tensors, input[stream], targets, method("deep_taylor", { epsilon: 0.01, lrn }));
    const ok = r.reasons.map((x, i) => (x === null ? i : -1)).filter((i) => i >= 0);
    const ratios = ok.map((i) => r.total[i] / r.evidence[i]).sort((a, b) => a - b);
    const lrnLayers = r.layerTotals.map((l, k) => [l.layer, k]).filter(([n]) => n.endsWith("/lrn"));
    const perLrn = lrnLayers.map(([n, k]) => { const v = ok.map((i) => r.layerTotals[k].totals[i] / r.layerTotals[k + 1].totals[i]).sort((a, b) => a - b); return `${n}: in/out median ${v[v.length >> 1].toFixed(4)} [${v[0].toFixed(4)}, ${v.at(-1).toFixed(4)}]`; });
    console.log(stream, lrn, `explained ${ok.length}/${targets.length}`, `input/evidence median ${ratios[ratios.length >> 1].toFixed(4)} range [${ratios[0].toFixed(4)}, ${ratios.at(-1).toFixed(4)}]`, perLrn.join("; "));
  }
}
