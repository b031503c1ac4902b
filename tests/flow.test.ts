import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ItemIn, StageContext } from "../engine/stage-api.js";
import { loadOpenCV, type CV } from "../lib/cv/opencv.js";
import { cropStack, flipFlowVertical, flipQuantisedFlowVertical, flipRows, interleavedToPlanar, PAPER_CROP_OFFSETS } from "../lib/flow/augment.js";
import { FarnebackFlow, farnebackPair, PAPER_FARNEBACK } from "../lib/flow/farneback.js";
import { readFlowSample } from "../lib/flow/files.js";
import jpeg from "jpeg-js";
import { jpegRoundTrip, luminanceTable } from "../lib/flow/jpeg.js";
import { dequantise, dequantiseStack, quantise, quantiseFlowPair } from "../lib/flow/quantise.js";
import { writeHdf5Arrays } from "../lib/video/hdf5.js";
import flow, { type FlowParams } from "../stages/flow/index.js";
import subsample from "../stages/subsample/index.js";

let dir: string;
let cv: CV;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flow-"));
  cv = await loadOpenCV();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A smooth random texture, evaluated anywhere, so that a sub-pixel shift is exact (no resampling). */
function texture(seed: number): (x: number, y: number) => number {
  const waves = Array.from({ length: 12 }, (_, i) => {
    const a = Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453;
    const r = a - Math.floor(a);
    const angle = r * 2 * Math.PI;
    const period = 9 + 14 * ((r * 7.31) % 1);
    return { kx: (Math.cos(angle) * 2 * Math.PI) / period, ky: (Math.sin(angle) * 2 * Math.PI) / period, phase: r * 31.7 };
  });
  return (x, y) => 128 + waves.reduce((s, w) => s + 28 * Math.sin(w.kx * x + w.ky * y + w.phase), 0) / Math.sqrt(waves.length / 2);
}

/** The texture seen shifted by (dx, dy): content moves right by dx and down by dy. */
function render(f: (x: number, y: number) => number, rows: number, cols: number, dx = 0, dy = 0): Uint8Array {
  const img = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) img[r * cols + c] = Math.max(0, Math.min(255, Math.round(f(c - dx, r - dy))));
  return img;
}

/** Mean of one component (0 = x, 1 = y) of an interleaved field over the interior (a margin on every side). */
function interiorMean(field: Float32Array, rows: number, cols: number, component: number, margin: number): number {
  let sum = 0;
  let n = 0;
  for (let r = margin; r < rows - margin; r++) for (let c = margin; c < cols - margin; c++, n++) sum += field[2 * (r * cols + c) + component]!;
  return sum / n;
}

const N = 96;

describe("Farneback flow (OpenCV wasm)", () => {
  it("recovers integer and sub-pixel translations in the interior within 0.1 px", () => {
    const f = texture(3);
    const base = render(f, N, N);
    const runner = new FarnebackFlow(cv, N, N, PAPER_FARNEBACK);
    try {
      for (const [dx, dy] of [[1, 0], [0, -2], [0.5, 0.3], [-1.7, 0.6]] as const) {
        const field = runner.pair(base, render(f, N, N, dx, dy));
        expect(Math.abs(interiorMean(field, N, N, 0, 16) - dx), `x of (${dx}, ${dy})`).toBeLessThan(0.1);
        expect(Math.abs(interiorMean(field, N, N, 1, 16) - dy), `y of (${dx}, ${dy})`).toBeLessThan(0.1);
      }
    } finally {
      runner.delete();
    }
  });

  it("gives the same field from a reused runner and a one-off call", () => {
    const f = texture(5);
    const a = render(f, N, N);
    const b = render(f, N, N, 0.4, -0.7);
    const runner = new FarnebackFlow(cv, N, N);
    try {
      runner.pair(b, a); // something else first: no state may carry over
      expect(runner.pair(a, b)).toEqual(farnebackPair(cv, a, b, N, N));
    } finally {
      runner.delete();
    }
    expect(() => farnebackPair(cv, a, b.subarray(1), N, N)).toThrow(/9216 pixels/);
  });

  it("a flipped flow field equals the flow of the flipped frames, with y negated", () => {
    const f = texture(11);
    const a = render(f, N, N);
    const b = render(f, N, N, 0.6, 0.8);
    const flipped = flipFlowVertical(interleavedToPlanar(farnebackPair(cv, a, b, N, N)), 2, N, N);
    const ofFlipped = interleavedToPlanar(farnebackPair(cv, flipRows(a, 1, N, N), flipRows(b, 1, N, N), N, N));
    let diff = 0;
    let meanY = 0;
    let n = 0;
    for (let r = 16; r < N - 16; r++) {
      for (let c = 16; c < N - 16; c++, n++) {
        const i = r * N + c;
        diff += Math.abs(flipped[i]! - ofFlipped[i]!) + Math.abs(flipped[N * N + i]! - ofFlipped[N * N + i]!);
        meanY += ofFlipped[N * N + i]!;
      }
    }
    expect(meanY / n).toBeCloseTo(-0.8, 1);
    expect(diff / n).toBeLessThan(0.02);
  });
});

describe("quantisation, flips and crops", () => {
  it("round-trips each channel within (max - min) / 510", () => {
    let s = 1;
    const values = Float32Array.from({ length: 5000 }, () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.3) * 7.5);
    const { q, min, max } = quantise(values);
    expect(q.includes(0) && q.includes(255)).toBe(true);
    const back = dequantise(q, min, max);
    const bound = (max - min) / 510;
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(back[i]! - values[i]!));
    expect(worst).toBeLessThanOrEqual(bound * (1 + 1e-5));
    expect(worst).toBeGreaterThan(bound * 0.5); // the bound is tight, not vacuous
    const flat = quantise(new Float32Array(10).fill(-1.25));
    expect(dequantise(flat.q, flat.min, flat.max)).toEqual(new Float32Array(10).fill(-1.25));
    expect(() => quantise(Float32Array.of(1, NaN))).toThrow(/non-finite/);
  });

  it("quantises an interleaved pair into channels 2k (x) and 2k+1 (y)", () => {
    const field = Float32Array.of(1, -1, 2, -3, 3, -2); // 3 pixels: x = 1, 2, 3; y = -1, -3, -2
    const stack = new Uint8Array(4 * 3);
    const range = new Float32Array(8);
    quantiseFlowPair(field, 1, stack, range);
    expect([...stack.subarray(6, 9)]).toEqual([0, 128, 255]);
    expect([...stack.subarray(9, 12)]).toEqual([255, 0, 128]);
    expect([...range.subarray(4)]).toEqual([1, 3, -3, -1]);
    const back = dequantiseStack(stack, range);
    expect(back[6]).toBeCloseTo(1, 5);
    expect(back[10]).toBeCloseTo(-3, 5);
  });

  it("flips a quantised stack exactly like the float stack", () => {
    const rows = 4;
    const cols = 3;
    const float = Float32Array.from({ length: 4 * rows * cols }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 5)));
    const stack = new Uint8Array(float.length);
    const range = new Float32Array(8);
    for (let c = 0; c < 4; c++) {
      const { q, min, max } = quantise(float.subarray(c * 12, (c + 1) * 12));
      stack.set(q, c * 12);
      range.set([min, max], 2 * c);
    }
    const viaQuantised = flipQuantisedFlowVertical(stack, range, rows, cols);
    const viaFloat = flipFlowVertical(dequantiseStack(stack, range), 4, rows, cols);
    const decoded = dequantiseStack(viaQuantised.stack, viaQuantised.range);
    for (let i = 0; i < decoded.length; i++) expect(decoded[i]).toBeCloseTo(viaFloat[i]!, 5);
    expect(viaFloat[0]).toBeCloseTo(dequantiseStack(stack, range)[9]!, 5); // row 0 of channel 0 was row 3
  });

  it("crops every plane at the paper's 9 origins", () => {
    expect(PAPER_CROP_OFFSETS).toHaveLength(9);
    const rows = 6;
    const cols = 5;
    const stack = Uint8Array.from({ length: 2 * rows * cols }, (_, i) => i);
    const crop = cropStack(stack, 2, rows, cols, 1, 2, 3, 2);
    expect([...crop]).toEqual([7, 8, 12, 13, 17, 18, 37, 38, 42, 43, 47, 48]);
    expect(() => cropStack(stack, 2, rows, cols, 4, 0, 3, 2)).toThrow(/leaves the 6x5 frame/);
    const [top, left] = PAPER_CROP_OFFSETS.at(-1)!;
    expect(cropStack(new Uint8Array(256 * 256), 1, 256, 256, top, left, 224, 224)).toHaveLength(224 * 224);
  });

  it("JPEG's lossy step agrees with a real JPEG codec (jpeg-js) at quality 40 and 90", () => {
    // A quantised-flow-like plane: flat background with a sharp-edged moving blob.
    const rows = 64;
    const cols = 72; // not a multiple of 8: edge blocks are padded
    const f = texture(2);
    const plane = new Uint8Array(rows * cols).fill(127);
    for (let r = 16; r < 48; r++) for (let c = 20; c < 60; c++) plane[r * cols + c] = Math.round(f(c, r));
    for (const quality of [40, 90]) {
      const ours = jpegRoundTrip(plane, rows, cols, quality);
      const rgba = new Uint8Array(rows * cols * 4).map((_, i) => (i % 4 === 3 ? 255 : plane[i >> 2]!));
      const codec = jpeg.decode(jpeg.encode({ data: rgba, width: cols, height: rows }, quality).data, { useTArray: true, formatAsRGBA: false }).data;
      let equal = 0;
      let loss = 0;
      for (let i = 0; i < plane.length; i++) {
        if (ours[i] === codec[3 * i]) equal++;
        loss += Math.abs(ours[i]! - plane[i]!);
      }
      expect(equal / plane.length, `quality ${quality}`).toBeGreaterThan(0.95);
      expect(loss).toBeGreaterThan(0);
    }
    expect([...luminanceTable(40).subarray(0, 4)]).toEqual([20, 14, 13, 20]); // libjpeg's table at quality 40
    expect(jpegRoundTrip(new Uint8Array(64).fill(61), 8, 8, 40)).toEqual(new Uint8Array(64).fill(61)); // an exact half rounds up, as in libjpeg
    expect(() => jpegRoundTrip(plane, rows, cols, 0)).toThrow(/1\.\.100/);
  });
});

function fakeContext(outDir: string, seed: number, itemId: string): StageContext & { progressCalls: [number, number][]; logs: string[] } {
  const progressCalls: [number, number][] = [];
  const logs: string[] = [];
  return {
    outDir, scratch: join(outDir, ".scratch"), measure: () => {}, seed, itemId, signal: new AbortController().signal,
    log: (m) => logs.push(m), warn: (m) => logs.push(`warning: ${m}`), progress: (d, t) => progressCalls.push([d, t]), progressCalls, logs,
  };
}

const flowDefaults: FlowParams = { ...PAPER_FARNEBACK, pair_stride: 1, clip_px: null, jpeg_quality: null, gzip: 9 };

describe("subsample then flow stages on a synthetic event", () => {
  const rows = 64;
  const cols = 64;
  const speed = 0.5; // px per frame, to the right
  let eventPath: string;

  beforeAll(async () => {
    const f = texture(8);
    const frames = new Uint8Array(150 * rows * cols);
    for (let t = 0; t < 150; t++) frames.set(render(f, rows, cols, speed * t, 0), t * rows * cols);
    eventPath = join(dir, "event.h5");
    await writeHdf5Arrays(eventPath, [{ name: "frames", data: frames, shape: [150, rows, cols], chunks: [1, rows, cols] }], { start: 0, onset: 15, fps: 300 });
  });

  async function subsampleOf(keep: number, frames: number | null = 150): Promise<ItemIn> {
    const outDir = mkdtempSync(join(dir, "sub-"));
    const out = await subsample.run(fakeContext(outDir, 99, "rec000/ev00"), { count: 1, frames, keep, gzip: 1 }, {
      events: { id: "rec000/ev00", files: { frames: eventPath }, meta: { fps: 300 } },
    });
    const item = (out.subsamples as { items: { id: string; files: Record<string, string>; meta: Record<string, unknown> }[] }).items[0]!;
    return { id: `rec000/ev00/${item.id}`, files: { frames: join(outDir, item.files["frames"]!) }, meta: item.meta as ItemIn["meta"] };
  }

  it("writes 170 flow channels that recover the motion between kept frames, their ranges and the spatial frame", async () => {
    const item = await subsampleOf(86);
    const outDir = mkdtempSync(join(dir, "flow-"));
    const ctx = fakeContext(outDir, 1, item.id);
    const out = await flow.run(ctx, flowDefaults, { subsamples: item });
    const result = out.samples as { files: Record<string, string>; meta: Record<string, unknown> };
    expect(result.meta["flow_pairs"]).toBe(85);
    expect(ctx.progressCalls).toHaveLength(85);
    expect(ctx.progressCalls.at(-1)).toEqual([85, 85]);

    const sample = await readFlowSample(join(outDir, result.files["sample"]!));
    expect([sample.channels, sample.rows, sample.cols]).toEqual([170, rows, cols]);
    expect(sample.attrs["flow_pairs"]).toBe(85);
    const indices = item.meta["indices"] as number[];
    const values = dequantiseStack(sample.flow, sample.range);
    const plane = rows * cols;
    let worst = 0;
    for (let k = 0; k < 85; k++) {
      let x = 0;
      let y = 0;
      let n = 0;
      for (let r = 12; r < rows - 12; r++) for (let c = 12; c < cols - 12; c++, n++) {
        x += values[2 * k * plane + r * cols + c]!;
        y += values[(2 * k + 1) * plane + r * cols + c]!;
      }
      const expected = speed * (indices[k + 1]! - indices[k]!);
      worst = Math.max(worst, Math.abs(x / n - expected), Math.abs(y / n));
    }
    expect(worst).toBeLessThan(0.1);
    const spatialFrame = indices[item.meta["spatial_index"] as number]!;
    expect(sample.spatial).toEqual(render(texture(8), rows, cols, speed * spatialFrame, 0));
  });

  it("writes the same bytes twice, and JPEG changes the flow but not the layout", async () => {
    // A short event keeps this quick: 20 frames, 12 kept, 11 flow pairs.
    const shortPath = join(dir, "short.h5");
    const f = texture(4);
    const frames = new Uint8Array(20 * rows * cols);
    for (let t = 0; t < 20; t++) frames.set(render(f, rows, cols, 0, -0.4 * t), t * rows * cols);
    await writeHdf5Arrays(shortPath, [{ name: "frames", data: frames, shape: [20, rows, cols] }], { fps: 300 });
    const subDir = mkdtempSync(join(dir, "sub-"));
    const sub = await subsample.run(fakeContext(subDir, 5, "rec000/ev01"), { count: 1, frames: 20, keep: 12, gzip: 1 }, {
      events: { id: "rec000/ev01", files: { frames: shortPath }, meta: {} },
    });
    const subItem = (sub.subsamples as { items: { files: Record<string, string> }[] }).items[0]!;
    const item: ItemIn = { id: "rec000/ev01/s0", files: { frames: join(subDir, subItem.files["frames"]!) }, meta: {} };

    const runFlow = async (params: FlowParams) => {
      const outDir = mkdtempSync(join(dir, "flow-"));
      const ctx = fakeContext(outDir, 1, item.id);
      const out = await flow.run(ctx, params, { subsamples: item });
      return { path: join(outDir, (out.samples as { files: Record<string, string> }).files["sample"]!), ctx };
    };
    const first = await runFlow(flowDefaults);
    await new Promise((r) => setTimeout(r, 1100)); // a new second that HDF5 would stamp into its headers
    const second = await runFlow(flowDefaults);
    expect(readFileSync(first.path).equals(readFileSync(second.path))).toBe(true);

    const lossless = await readFlowSample(first.path);
    const jpeg = await runFlow({ ...flowDefaults, jpeg_quality: 40 });
    const lossy = await readFlowSample(jpeg.path);
    expect([lossy.channels, lossy.rows, lossy.cols]).toEqual([22, rows, cols]);
    expect(lossy.range).toEqual(lossless.range);
    expect(lossy.attrs["jpeg_quality"]).toBe(40);
    expect(lossy.flow).not.toEqual(lossless.flow);
    let error = 0;
    for (let i = 0; i < lossy.flow.length; i++) error += Math.abs(lossy.flow[i]! - lossless.flow[i]!);
    expect(error / lossy.flow.length).toBeLessThan(4); // grey levels of 255

    // pair_stride 3 computes pairs 0, 3, 6, 9 only: exactly those channels of the full stack.
    const strided = await readFlowSample((await runFlow({ ...flowDefaults, pair_stride: 3 })).path);
    expect([strided.channels, strided.attrs["pair_stride"], strided.attrs["subsample_pairs"]]).toEqual([8, 3, 11]);
    const plane = rows * cols;
    [0, 3, 6, 9].forEach((pair, j) => {
      for (const c of [0, 1]) {
        expect(strided.flow.subarray((2 * j + c) * plane, (2 * j + c + 1) * plane)).toEqual(lossless.flow.subarray((2 * pair + c) * plane, (2 * pair + c + 1) * plane));
        expect(strided.range[2 * (2 * j + c)]).toBe(lossless.range[2 * (2 * pair + c)]);
      }
    });

    // clip_px clamps before quantising: no channel's range reaches past the bound (the frames move 0.4 px up).
    const clamped = await readFlowSample((await runFlow({ ...flowDefaults, clip_px: 0.2 })).path);
    expect(clamped.attrs["clip_px"]).toBe(0.2);
    expect(Math.max(...Array.from(clamped.range, Math.abs))).toBeLessThanOrEqual(0.2 + 1e-6);
    expect(Math.max(...Array.from(lossless.range, Math.abs))).toBeGreaterThan(0.3);

    const cancelled = new AbortController();
    cancelled.abort();
    const ctx = { ...fakeContext(mkdtempSync(join(dir, "flow-")), 1, item.id), signal: cancelled.signal };
    await expect(flow.run(ctx, flowDefaults, { subsamples: item })).rejects.toThrow(/^flow: subsample rec000\/ev01\/s0: cancelled$/);
  });

  it("fails a subsample without frames, naming it", async () => {
    const ctx = fakeContext(mkdtempSync(join(dir, "flow-")), 1, "rec009/ev02/s3");
    await expect(flow.run(ctx, flowDefaults, { subsamples: { id: "rec009/ev02/s3", files: {}, meta: {} } })).rejects.toThrow(/rec009\/ev02\/s3 has no "frames" file/);
    const missing: ItemIn = { id: "rec009/ev02/s4", files: { frames: join(dir, "nope.h5") }, meta: {} };
    await expect(flow.run(ctx, flowDefaults, { subsamples: missing })).rejects.toThrow(/rec009\/ev02\/s4: HDF5 file .*nope.h5 does not exist/);
  });
});
