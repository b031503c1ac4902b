import * as tf from "@tensorflow/tfjs-core";
import { resolveArchitecture } from "../dist/lib/model/architecture.js";
import { selectBackend } from "../dist/lib/model/backend.js";
import { streamLayers, forwardAll, linear, linearTranspose } from "../dist/lib/explain/layers.js";
import { method } from "../dist/lib/explain/methods.js";
import { weightsWithBiases, randomInputs } from "../dist/bench/explain-compare.js";
await selectBackend(process.argv[2] ?? "wasm");
const arch = resolveArchitecture({ preset: "default" });
const hw = weightsWithBiases(arch, 1);
const weights = new Map([...hw].map(([k, w]) => [k, tf.tensor(w.values, w.shape)]));
const inp = randomInputs(arch, 16, 2);
for (const stream of ["spatial", "temporal"]) {
  const x = tf.tensor4d(inp[stream].values, inp[stream].shape);
  const layers = streamLayers(arch, stream, weights, 0);
  const m = method("deep_taylor", { epsilon: 0.01, lrn: "identity" });
  for (let rep = 0; rep < 2; rep++) {
    const times = {};
    tf.tidy(() => {
      let t = performance.now();
      const { inputs, output } = forwardAll(layers, x); output.dataSync();
      times.forward = performance.now() - t;
      const flat = tf.reshape(x, [16, -1]);
      const bounds = { low: tf.min(flat, 1), high: tf.max(flat, 1) };
      let s = output;
      for (let i = layers.length - 1; i >= 0; i--) {
        t = performance.now();
        s = m.rule(layers[i], i).backward(layers[i], inputs[i], s, bounds); s.dataSync();
        times[layers[i].name] = (performance.now() - t).toFixed(0);
      }
    });
    if (rep) console.log(stream, JSON.stringify(times));
  }
}
