/**
 * The native build of the convolution kernels (AVX2 + FMA, several threads; built at install by
 * lib/model/native/build-native.ts) against the cpu backend on random shapes with channel counts
 * that reach every block of 16 and 8 and the scalar remainder; the same bits for any thread
 * count; the WebAssembly fused build's bits where both take only vector blocks; the matrix
 * product and Adam likewise; and its guard against pointers outside the heap. Skipped, saying why, where the native build does not run.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import "../lib/model/gradients.js";
import { selectBackend } from "../lib/model/backend.js";
import { nativeConvolutions, nativeStatus, setNativeThreads } from "../lib/model/native-kernels.js";
import { NATIVE_REPORT } from "../lib/model/native/paths.js";
import { simdKernels, type SimdVariant } from "../lib/model/wasm-simd-kernels.js";
import { conv2dSimd } from "../lib/model/wasm-conv2d.js";
import { conv2dBackpropFilterSimd } from "../lib/model/wasm-kernels.js";
import { conv2dBackpropInputSimd } from "../lib/model/wasm-conv-input-grad.js";
import { matMulSimd } from "../lib/model/wasm-matmul.js";
import type { WasmBackend } from "../lib/model/wasm-backend-access.js";
import { Rng } from "../lib/random.js";
import { expectClose } from "./cnn-helpers.js";

const native = nativeConvolutions();
if (!native) console.warn(`native kernel tests skipped: the native convolutions ${nativeStatus()}`);

type Pad = "valid" | "same" | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

/** Seeded shapes: channels 1-40 in and out (blocks of 16, of 8 and the rest), strides 1-3, any padding. */
function randomCases(count: number, seed: number, multipleOf = 1): Case[] {
  const rng = new Rng(seed);
  const channels = () => multipleOf * rng.int(1, Math.floor(40 / multipleOf));
  const cases: Case[] = [];
  while (cases.length < count) {
    const k = [rng.int(1, 5), rng.int(1, 5)];
    const strides: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
    const x: Case["x"] = [rng.int(1, 3), rng.int(4, 13), rng.int(4, 13), channels()];
    const kind = rng.int(0, 2);
    const pad: Pad = kind === 0 ? "valid" : kind === 1 ? "same" : [[0, 0], [rng.int(0, 2), rng.int(0, 2)], [rng.int(0, 2), rng.int(0, 2)], [0, 0]];
    const reach = (i: number) => k[i]! - (Array.isArray(pad) ? pad[i + 1]![0] + pad[i + 1]![1] : 0);
    if (pad !== "same" && (reach(0) > x[1] || reach(1) > x[2])) continue;
    cases.push({ x, filter: [k[0]!, k[1]!, x[3], channels()], strides, pad });
  }
  return cases;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

type Kernel = "forward" | "filter" | "input";

/** One kernel on the active backend: the registered one, or our `variant` build on wasm. */
function runKernel(kernel: Kernel, c: Case, seed: number, variant?: SimdVariant): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), seed), c.x);
    const filter = tf.tensor4d(values(size(c.filter), seed + 1), c.filter);
    const yShape = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad as never).shape;
    const dy = tf.tensor(values(size(yShape), seed + 2), yShape);
    const backend = tf.backend();
    const attrs = { strides: c.strides, pad: c.pad as never, dataFormat: "NHWC" as const, dimRoundingMode: undefined, dilations: 1 };
    if (!variant) {
      if (kernel === "forward") return tf.conv2d(x, filter, c.strides, c.pad as never).dataSync() as Float32Array;
      const inputs: tf.NamedTensorMap = kernel === "filter" ? { x, dy } : { dy, filter };
      const shapeAttr = kernel === "filter" ? { filterShape: c.filter } : { inputShape: c.x };
      return (tf.engine().runKernel(kernel === "filter" ? "Conv2DBackpropFilter" : "Conv2DBackpropInput", inputs, { ...attrs, ...shapeAttr } as never) as tf.Tensor).dataSync() as Float32Array;
    }
    const out = kernel === "forward"
      ? conv2dSimd({ inputs: { x, filter }, backend, attrs }, variant)
      : kernel === "filter"
        ? conv2dBackpropFilterSimd({ inputs: { x, dy }, backend, attrs: { ...attrs, filterShape: c.filter } }, simdKernels(backend as WasmBackend, variant)!)
        : conv2dBackpropInputSimd({ inputs: { dy, filter }, backend, attrs: { ...attrs, inputShape: c.x } }, variant);
    return tf.engine().makeTensorFromTensorInfo(out!).dataSync() as Float32Array;
  });
}

const KERNELS: Kernel[] = ["forward", "filter", "input"];

describe.skipIf(!native)("native convolution kernels (AVX2 + FMA)", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });
  afterEach(() => setNativeThreads(1));

  it.each(KERNELS.flatMap((kernel) => randomCases(16, 41).map((c, i) => [kernel, i, c] as const)))("%s: random case %i equals the cpu backend", async (kernel, i, c) => {
    await tf.setBackend("cpu");
    const expected = runKernel(kernel, c, 100 * i);
    await tf.setBackend("wasm");
    const actual = runKernel(kernel, c, 100 * i, "native");
    expectClose(actual, expected);
    expect(actual.some((v) => v !== 0)).toBe(true);
  });

  it.each(KERNELS.flatMap((kernel) => randomCases(6, 43).map((c, i) => [kernel, i, c] as const)))("%s: random case %i gives the same bits on 1, 2 and 3 threads", async (kernel, i, c) => {
    await tf.setBackend("wasm");
    const one = runKernel(kernel, c, 7 * i, "native");
    for (const threads of [2, 3]) {
      setNativeThreads(threads);
      expect(Array.from(runKernel(kernel, c, 7 * i, "native"))).toEqual(Array.from(one));
    }
  });

  // With every channel in a vector block (multiples of 8) both builds sum each output in the same
  // order with one rounding per multiply-add: the network's layers train to the same bits either way.
  it.each(KERNELS.flatMap((kernel) => randomCases(6, 47, 8).map((c, i) => [kernel, i, c] as const)))("%s: random case %i with channels in multiples of 8 is bit for bit the WebAssembly fused build", async (kernel, i, c) => {
    await tf.setBackend("wasm");
    expect(Array.from(runKernel(kernel, c, 11 * i, "native"))).toEqual(Array.from(runKernel(kernel, c, 11 * i, "fused")));
  });

  // The fc layers' shapes: a batch of rows by thousands of weights, b transposed or not.
  const products = [{ m: 4, k: 1283, n: 517, t: false }, { m: 4, k: 517, n: 1283, t: true }, { m: 33, k: 96, n: 64, t: false }, { m: 7, k: 65, n: 24, t: true }];
  const product = (c: (typeof products)[number], variant: SimdVariant) => tf.tidy(() => {
    const a = tf.tensor2d(values(c.m * c.k, c.k), [c.m, c.k]);
    const b = tf.tensor2d(values(c.k * c.n, c.n), c.t ? [c.n, c.k] : [c.k, c.n]);
    const args = { inputs: { a, b }, backend: tf.backend(), attrs: { transposeA: false, transposeB: c.t } };
    return Array.from(tf.engine().makeTensorFromTensorInfo(matMulSimd(args, variant)!).dataSync());
  });
  it.each(products.map((c, i) => [i, c] as const))("matmul %i: equals the cpu backend, the same bits on 1 and 2 threads", async (_i, c) => {
    await tf.setBackend("cpu");
    const expected = tf.tidy(() => Array.from(tf.matMul(tf.tensor2d(values(c.m * c.k, c.k), [c.m, c.k]), tf.tensor2d(values(c.k * c.n, c.n), c.t ? [c.n, c.k] : [c.k, c.n]), false, c.t).dataSync()));
    await tf.setBackend("wasm");
    const one = product(c, "native");
    expectClose(Float32Array.from(one), Float32Array.from(expected));
    setNativeThreads(2);
    expect(product(c, "native")).toEqual(one);
    // b not transposed and n a multiple of 8: row by row in both builds, the WebAssembly fused build's bits.
    if (!c.t && c.n % 8 === 0) expect(product(c, "fused")).toEqual(one);
  });

  it("Adam: the JavaScript loop's bits, on 1 and 3 threads, in place or into another array", () => {
    const n = 70_001; // above the 64 K weights where threads start
    const x = values(n, 1), grad = values(n, 2);
    const js = { x: x.slice(), m: new Float32Array(n), v: new Float32Array(n) };
    const ours = { x: x.slice(), m: new Float32Array(n), v: new Float32Array(n) };
    const [beta1, beta2, eps, decay] = [0.9, 0.999, 1e-8, 5e-4];
    for (let step = 1; step <= 3; step++) {
      const stepSize = 1e-3 / (1 - beta1 ** step), c2 = Math.sqrt(1 - beta2 ** step);
      for (let i = 0; i < n; i++) {
        const xi = js.x[i]!, g = grad[i]! + decay * xi;
        const mi = Math.fround(beta1 * js.m[i]! + (1 - beta1) * g), vi = Math.fround(beta2 * js.v[i]! + (1 - beta2) * g * g);
        js.m[i] = mi;
        js.v[i] = vi;
        js.x[i] = xi - (mi / (Math.sqrt(vi) / c2 + eps)) * stepSize;
      }
      const out = step === 2 ? new Float32Array(n) : ours.x;
      native!.adam(ours.x, grad, ours.m, ours.v, out, decay, beta1, beta2, eps, stepSize, c2, step === 3 ? 3 : 1);
      ours.x = out;
      expect(Array.from(ours.x)).toEqual(Array.from(js.x));
      expect(Array.from(ours.v)).toEqual(Array.from(js.v));
    }
    expect(() => native!.adam(x, grad.subarray(1), ours.m, ours.v, x, decay, beta1, beta2, eps, 1, 1, 1)).toThrow(/differ in length/);
  });

  it("refuses a tensor outside the heap instead of writing past it", () => {
    const heap = new ArrayBuffer(4096);
    const shape = [1, 4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 0, 0];
    expect(() => native!.conv2d(heap, 0, 256, 512, 4000, ...shape, 1)).toThrow(/outside the heap/);
    expect(() => native!.conv2d(heap, 0, 256, 512, 1024, ...shape, 1)).not.toThrow();
    expect(() => native!.filterGrad(heap, 0, 256, 5000, ...shape, 1, 1)).toThrow(/outside the heap/);
    expect(() => native!.conv2d(heap, 0, 256, 512, 1024, ...shape)).toThrow(/arguments/);
  });
});

describe("the native build at install", () => {
  // On x86-64 Linux with a C compiler and Node's headers, `npm run build` builds it; elsewhere
  // its report says why not, and the backend line repeats it.
  it("left a report, and built the kernels where it could", () => {
    const report = JSON.parse(readFileSync(fileURLToPath(NATIVE_REPORT), "utf8")) as { built: boolean; reason: string };
    expect(report.reason.length).toBeGreaterThan(10);
    expect(existsSync(fileURLToPath(new URL("convolutions.node", NATIVE_REPORT)))).toBe(report.built);
    if (report.built && process.env["DAG_NATIVE_KERNELS"] !== "off") expect(nativeStatus()).toMatch(/AVX2 \+ FMA|lacks AVX2/);
    else expect(nativeStatus()).not.toBe("AVX2 + FMA");
  });
});
