/**
 * Our wasm Conv2DBackpropFilter and Conv2DBackpropInput against the cpu backend's, for strides,
 * paddings, dilations and shapes; and the gradient of a whole conv2d through tf.grad on both
 * backends.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import "../lib/model/gradients.js";
import { selectBackend } from "../lib/model/backend.js";
import { conv2dBackpropFilterSimd, conv2dBackpropFilterViaConv2D, missingTrainingKernels, type BackpropFilterArgs } from "../lib/model/wasm-kernels.js";
import { simdKernels, simdVariant, type SimdVariant } from "../lib/model/wasm-simd-kernels.js";
import { nativeConvolutions } from "../lib/model/native-kernels.js";
import type { WasmBackend } from "../lib/model/wasm-backend-access.js";
import { conv2dBackpropInputSimd, conv2dBackpropInputViaConv2D } from "../lib/model/wasm-conv-input-grad.js";
import { maxPoolGradLoop, maxPoolGradSimd } from "../lib/model/wasm-max-pool-grad.js";
import { conv2dSimd } from "../lib/model/wasm-conv2d.js";
import { matMulSimd } from "../lib/model/wasm-matmul.js";
import { Rng } from "../lib/random.js";
import { expectClose } from "./cnn-helpers.js";
import { backpropFilter, CASES, cpuReference, forwardShape, lrnAndGradient, lrnCases, randomCases, randomValues, size, type Case } from "./helpers/conv-cases.js";


/** Every build of our kernels that runs here: the native one where it was built (tests/cnn-native-kernel.test.ts says why not). */
const VARIANTS: SimdVariant[] = nativeConvolutions() ? ["native", "fused", "plain"] : ["fused", "plain"];

describe("wasm Conv2DBackpropFilter", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm"); // registers our kernel
  });

  it("leaves no training kernel missing on wasm", () => {
    expect(missingTrainingKernels("wasm")).toEqual([]);
  });

  it.each(CASES.map((c, i) => [i, c] as const))("case %i equals the cpu backend's gradient", async (i, c) => {
    const xv = randomValues(size(c.x), 100 + i);
    await tf.setBackend("cpu");
    const dyShape = forwardShape(c);
    const dyv = randomValues(size(dyShape), 200 + i);
    const expected = await cpuReference(c, xv, dyv, dyShape);
    await tf.setBackend("wasm");
    const actual = await backpropFilter(c, xv, dyv, dyShape, c.filter, c.dilations);
    expectClose(actual, expected);
    expect(actual.some((v) => v !== 0)).toBe(true);
  });

  it("runs our SIMD kernels on this engine's wasm backend: native where built, else the fused multiply-add build on Node 20 and later", async () => {
    await tf.setBackend("wasm");
    for (const variant of VARIANTS) expect(simdKernels(tf.backend() as WasmBackend, variant)).not.toBeNull();
    expect(simdVariant()).toBe(nativeConvolutions() ? "native" : "fused");
  });

  // Every route (our SIMD kernel in either build and, where it cannot run, XNNPACK's Conv2D) on random shapes.
  const simdRoute = (variant: SimdVariant) => (a: BackpropFilterArgs) => conv2dBackpropFilterSimd(a, simdKernels(a.backend as WasmBackend, variant)!);
  const routes = { ...Object.fromEntries(VARIANTS.map((v) => [v, simdRoute(v)])), xnnpack: conv2dBackpropFilterViaConv2D };
  it.each(Object.keys(routes).flatMap((route) => randomCases(24, 17).map((c, i) => [route, i, c] as const)))(
    "%s route: random case %i equals the cpu backend's gradient",
    async (route, i, c) => {
      const xv = randomValues(size(c.x), 700 + i);
      await tf.setBackend("cpu");
      const d = c.dilations ?? 1;
      const dyShape = forwardShape(c);
      const dyv = randomValues(size(dyShape), 800 + i);
      const expected = await cpuReference(c, xv, dyv, dyShape);
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const actual = tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x);
        const dy = tf.tensor(dyv, dyShape);
        const attrs = { strides: c.strides, pad: c.pad as BackpropFilterArgs["attrs"]["pad"], filterShape: c.filter, dilations: d };
        const out = routes[route as keyof typeof routes]({ inputs: { x, dy }, backend: tf.backend(), attrs });
        return tf.engine().makeTensorFromTensorInfo(out).dataSync() as Float32Array;
      });
      expect(tf.memory().numTensors).toBe(before);
      expectClose(actual, expected);
    },
  );

  it("gives tf.grad of a strided, padded conv2d the cpu backend's filter gradient", async () => {
    const xv = randomValues(2 * 15 * 15 * 3, 7);
    const wv = randomValues(5 * 5 * 3 * 4, 8);
    const grad = () => tf.tidy(() => {
      const x = tf.tensor4d(xv, [2, 15, 15, 3]);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, 2, 1))))(tf.tensor4d(wv, [5, 5, 3, 4]));
      return g.dataSync() as Float32Array;
    });
    await tf.setBackend("cpu");
    const expected = grad();
    await tf.setBackend("wasm");
    expectClose(grad(), expected);
  });

  it("does not leak tensors", async () => {
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const c = CASES[4]!;
    await backpropFilter(c, randomValues(size(c.x), 1), randomValues(3 * 5 * 5 * 6, 2), [3, 5, 5, 6], c.filter);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("wasm Conv2D (our SIMD kernel)", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });

  it.each(VARIANTS.flatMap((variant) => [...CASES, ...randomCases(24, 29)].map((c, i) => [variant, i, c] as const)))("%s build: case %i equals the cpu backend's and XNNPACK's convolution", async (variant, i, c) => {
    const xv = randomValues(size(c.x), 1300 + i);
    const wv = randomValues(size(c.filter), 1400 + i);
    const forward = () => tf.tidy(() => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.filter), c.strides, c.pad as never, "NHWC", c.dilations ?? 1).dataSync() as Float32Array);
    await tf.setBackend("cpu");
    const expected = forward();
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const ours = tf.tidy(() => {
      const args = { inputs: { x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(wv, c.filter) }, backend: tf.backend(), attrs: { strides: c.strides, pad: c.pad as never, dilations: c.dilations ?? 1 } };
      return tf.engine().makeTensorFromTensorInfo(conv2dSimd(args, variant)!).dataSync() as Float32Array;
    });
    // FusedConv2D (no bias, linear) still runs XNNPACK: the same sums in the same order.
    const xnnpack = tf.tidy(() => tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(wv, c.filter), strides: c.strides, pad: c.pad as never, dilations: c.dilations ?? 1 }).dataSync() as Float32Array);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(ours, expected);
    expectClose(forward(), expected); // the registered kernel
    // Where XNNPACK is right it is bit for bit our plain build (the fused one rounds once per
    // multiply-add). It is not everywhere: TF.js 4.22's wasm Conv2D returns zeros for a 1-row
    // filter at strides [3, 2] with "same" padding (random cases 2 and 9 here), where ours
    // equals the cpu backend.
    const xnnpackRight = xnnpack.every((v, k) => Math.abs(v - expected[k]!) < 1e-4);
    if (!xnnpackRight) expect(c.filter[0]).toBe(1);
    else if (variant === "plain") expect(Array.from(ours)).toEqual(Array.from(xnnpack));
  });
});

describe("the fused multiply-add build", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  // -1 * 1 + (1 + 2^-23)(1 - 2^-23) = -2^-46 exactly. Rounding the product first gives 1 and a
  // sum of 0; one rounding keeps -2^-46 (V8 emits FMA on every x86-64 CPU since 2013 and every
  // 64-bit ARM one). Eight output channels, so the SIMD block runs.
  it.each(VARIANTS)("%s build rounds as it says", (variant) => {
    const e = 2 ** -23;
    const out = tf.tidy(() => {
      const x = tf.tensor4d([-1, 1 + e], [1, 1, 1, 2]);
      const filter = tf.tensor4d(Array.from({ length: 16 }, (_, k) => (k < 8 ? 1 : 1 - e)), [1, 1, 2, 8]);
      const args = { inputs: { x, filter }, backend: tf.backend(), attrs: { strides: 1, pad: "valid" as const, dilations: 1 } };
      return Array.from(tf.engine().makeTensorFromTensorInfo(conv2dSimd(args, variant)!).dataSync());
    });
    expect(out).toEqual(new Array(8).fill(variant === "plain" ? 0 : -(2 ** -46)));
  });
});

describe("wasm Conv2DBackpropInput (XNNPACK Conv2D on the spread-out dy)", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });

  // The filter cases without dilation (TF.js's input gradient takes none), a batch of 5, and
  // padding wider than the filter, where the stock kernel takes over.
  const inputCases: Case[] = [
    ...CASES.filter((c) => !c.dilations),
    { x: [5, 7, 9, 3], filter: [3, 3, 3, 2], strides: [1, 2], pad: "same" },
    { x: [2, 6, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: 3 },
  ];

  function backpropInput(c: Case, dyv: Float32Array, dyShape: number[], wv: Float32Array): Float32Array {
    return tf.tidy(() => {
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, inputShape: c.x };
      const out = tf.engine().runKernel("Conv2DBackpropInput", { dy: tf.tensor(dyv, dyShape), filter: tf.tensor4d(wv, c.filter) }, attrs as never) as tf.Tensor;
      expect(out.shape).toEqual(c.x);
      return out.dataSync() as Float32Array;
    });
  }

  it("takes the XNNPACK route for the network's shapes and leaves padding wider than the filter to the stock kernel", async () => {
    await tf.setBackend("wasm");
    const backend = tf.backend();
    const route = (c: Case, dyShape: number[]) => tf.tidy(() => {
      const dy = tf.zeros(dyShape);
      const out = conv2dBackpropInputViaConv2D({ inputs: { dy, filter: tf.zeros(c.filter) }, backend, attrs: { strides: c.strides as number, pad: c.pad as never, inputShape: c.x } });
      if (out) tf.engine().makeTensorFromTensorInfo(out).dispose();
      return out !== null;
    });
    expect(route(inputCases[5]!, [2, 6, 6, 3])).toBe(true); // conv2: 5x5 stride 2 pad 1
    expect(route(inputCases.at(-1)!, [2, 10, 10, 3])).toBe(false);
  });

  // Our SIMD kernel and the XNNPACK route on seeded random shapes (no dilation: TF.js's input
  // gradient takes none), against the cpu backend.
  const inputRoutes = {
    ...Object.fromEntries(VARIANTS.map((v) => [v, (a: Parameters<typeof conv2dBackpropInputSimd>[0]) => conv2dBackpropInputSimd(a, v)])),
    xnnpack: conv2dBackpropInputViaConv2D,
  };
  it.each(Object.keys(inputRoutes).flatMap((route) => randomCases(32, 23).filter((c) => !c.dilations).map((c, i) => [route, i, c] as const)))(
    "%s route: random case %i equals the cpu backend's gradient",
    async (route, i, c) => {
      await tf.setBackend("cpu");
      const dyShape = forwardShape(c);
      const dyv = randomValues(size(dyShape), 1100 + i);
      const wv = randomValues(size(c.filter), 1200 + i);
      const expected = backpropInput(c, dyv, dyShape, wv);
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      let actual: Float32Array | null = null;
      tf.tidy(() => {
        const args = { inputs: { dy: tf.tensor(dyv, dyShape), filter: tf.tensor4d(wv, c.filter) }, backend: tf.backend(), attrs: { strides: c.strides, pad: c.pad as never, inputShape: c.x } };
        const out = inputRoutes[route as keyof typeof inputRoutes](args);
        if (out) actual = tf.engine().makeTensorFromTensorInfo(out).dataSync() as Float32Array;
      });
      expect(tf.memory().numTensors).toBe(before);
      if (route !== "xnnpack") expect(actual).not.toBeNull(); // the XNNPACK route declines padding wider than the filter
      if (actual) expectClose(actual, expected);
    },
  );

  it.each(inputCases.map((c, i) => [i, c] as const))("case %i equals the cpu backend's gradient", async (i, c) => {
    await tf.setBackend("cpu");
    const dyShape = forwardShape(c);
    const dyv = randomValues(size(dyShape), 300 + i);
    const wv = randomValues(size(c.filter), 400 + i);
    const expected = backpropInput(c, dyv, dyShape, wv);
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const actual = backpropInput(c, dyv, dyShape, wv);
    expect(tf.memory().numTensors).toBe(before);
    expectClose(actual, expected);
    expect(actual.some((v) => v !== 0)).toBe(true);
  });
});

describe("wasm MaxPoolGrad (JavaScript on the heap)", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });

  const poolCases: { x: [number, number, number, number]; size: number | [number, number]; strides: number | [number, number]; pad: "valid" | "same" | number; relu: boolean }[] = [
    { x: [2, 11, 11, 3], size: 3, strides: 2, pad: "valid", relu: true }, // the network's 3/2 pool after a ReLU: ties of zeros
    { x: [3, 10, 9, 2], size: 3, strides: 2, pad: "same", relu: false },
    { x: [1, 8, 8, 5], size: 2, strides: 2, pad: "valid", relu: true },
    { x: [2, 9, 7, 1], size: [3, 2], strides: [1, 2], pad: 1, relu: false },
    { x: [2, 11, 13, 7], size: 3, strides: 2, pad: "valid", relu: true }, // 4 channels at a time and 3 one by one
    { x: [1, 9, 9, 9], size: 2, strides: 1, pad: "same", relu: true },
  ];

  // The SIMD kernel (registered) and the JavaScript loop (where it cannot run), on every case.
  it.each(poolCases.map((c, i) => [i, c] as const))("case %i: the JavaScript loop equals our SIMD kernel", async (i, c) => {
    await tf.setBackend("wasm");
    const xv = randomValues(size(c.x), 500 + i).map((v) => (c.relu ? Math.max(0, v) : v));
    const both = tf.tidy(() => {
      const input = tf.tensor4d(xv, c.x);
      const output = tf.maxPool(input, c.size, c.strides, c.pad);
      const dy = tf.tensor(randomValues(size(output.shape), 600 + i), output.shape);
      const args = { inputs: { dy, input, output }, backend: tf.backend(), attrs: { filterSize: c.size, strides: c.strides, pad: c.pad } };
      const read = (t: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(t).dataSync() as Float32Array;
      return [read(maxPoolGradSimd(args, simdKernels(tf.backend() as WasmBackend)!)), read(maxPoolGradLoop(args))];
    });
    expect(Array.from(both[0]!)).toEqual(Array.from(both[1]!));
  });


  it.each(poolCases.map((c, i) => [i, c] as const))("case %i equals the cpu backend's gradient of maxPool", async (i, c) => {
    const xv = randomValues(size(c.x), 500 + i).map((v) => (c.relu ? Math.max(0, v) : v));
    const grad = () => tf.tidy(() => {
      const x = tf.tensor4d(xv, c.x);
      const dyShape = tf.maxPool(x, c.size, c.strides, c.pad).shape;
      const dy = tf.tensor(randomValues(size(dyShape), 600 + i), dyShape);
      return (tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.size, c.strides, c.pad), dy)))(x).dataSync() as Float32Array);
    });
    await tf.setBackend("cpu");
    const expected = grad();
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const actual = grad();
    expect(tf.memory().numTensors).toBe(before);
    expectClose(actual, expected);
  });
});

describe("wasm LRN and LRNGrad (our kernels for beta 3/4, the stock ones otherwise)", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });

  it.each(lrnCases(12, 31).map((c, i) => [i, c] as const))("case %i: output and gradient equal the cpu backend's", async (i, c) => {
    const xv = randomValues(size(c.x), 900 + i);
    const dyv = randomValues(size(c.x), 1000 + i);
    const run = () => lrnAndGradient(c, xv, dyv);
    await tf.setBackend("cpu");
    const expected = await run();
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const actual = await run();
    expect(tf.memory().numTensors).toBe(before);
    expectClose(actual.y, expected.y);
    expectClose(actual.dx, expected.dx);
  });
});

describe("wasm Identity (shares the data instead of copying it)", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("clones without new data, keeps a clone's values when the original goes, frees the data with the last reference", async () => {
    await tf.setBackend("wasm");
    const backend = tf.backend();
    const dataBefore = backend.numDataIds();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(backend.numDataIds()).toBe(dataBefore + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(backend.numDataIds()).toBe(dataBefore);
  });

  it("still gives gradients that need saved tensors (through the tape's clones) the cpu backend's values", async () => {
    const xv = randomValues(2 * 6 * 6 * 3, 11);
    const f = () => tf.tidy(() => {
      const x = tf.tensor4d(xv, [2, 6, 6, 3]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.maxPool(t as tf.Tensor4D, 2, 2, "valid")))))(x).dataSync() as Float32Array;
    });
    await selectBackend("cpu");
    const expected = f();
    await tf.setBackend("wasm");
    expectClose(f(), expected);
  });
});

describe("wasm BatchMatMul with a transposed operand", () => {
  beforeAll(async () => {
    await selectBackend("cpu");
    await selectBackend("wasm");
  });

  // Every combination of flags, odd sizes, and a batched product (which stays stock).
  const rng = new Rng(53);
  const cases = Array.from({ length: 12 }, (_, i) => ({
    m: rng.int(1, 9), k: rng.int(1, 70), n: rng.int(1, 40), batch: i < 10 ? 1 : 3, transposeA: i % 2 === 0, transposeB: i % 4 >= 2,
  }));

  it.each(cases.map((c, i) => [i, c] as const))("case %i equals the cpu backend's product", async (i, c) => {
    const aShape = c.transposeA ? [c.batch, c.k, c.m] : [c.batch, c.m, c.k];
    const bShape = c.transposeB ? [c.batch, c.n, c.k] : [c.batch, c.k, c.n];
    const av = randomValues(size(aShape), 1500 + i);
    const bv = randomValues(size(bShape), 1600 + i);
    const product = () => tf.tidy(() => tf.matMul(tf.tensor3d(av, aShape as [number, number, number]), tf.tensor3d(bv, bShape as [number, number, number]), c.transposeA, c.transposeB).dataSync() as Float32Array);
    await tf.setBackend("cpu");
    const expected = product();
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const actual = product();
    expect(tf.memory().numTensors).toBe(before);
    expectClose(actual, expected);
  });

  // Our kernel in every build: rows in blocks of 4 and alone, columns in blocks of 2 VW, VW and
  // one at a time (VW = 4 in WebAssembly, 8 native), b transposed or not, 2-D and rank 3.
  const ours = Array.from({ length: 16 }, (_, i) => ({ m: rng.int(1, 9), k: rng.int(1, 70), n: rng.int(1, 40), rank3: i % 3 === 0, transposeB: i % 2 === 1 }));
  it.each(VARIANTS.flatMap((variant) => ours.map((c, i) => [variant, i, c] as const)))("%s build: product %i equals the cpu backend's", async (variant, i, c) => {
    const lead = c.rank3 ? [1] : [];
    const aShape = [...lead, c.m, c.k];
    const bShape = [...lead, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
    const av = randomValues(size(aShape), 1700 + i);
    const bv = randomValues(size(bShape), 1800 + i);
    await tf.setBackend("cpu");
    const expected = tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), false, c.transposeB).dataSync() as Float32Array);
    await tf.setBackend("wasm");
    const actual = tf.tidy(() => {
      const args = { inputs: { a: tf.tensor(av, aShape), b: tf.tensor(bv, bShape) }, backend: tf.backend(), attrs: { transposeA: false, transposeB: c.transposeB } };
      const out = tf.engine().makeTensorFromTensorInfo(matMulSimd(args, variant)!);
      expect(out.shape).toEqual([...lead, c.m, c.n]);
      return out.dataSync() as Float32Array;
    });
    expectClose(actual, expected);
  });
});
