/**
 * Farneback optical flow: OpenCV's WebAssembly build (what the flow stage runs) beside Python's
 * OpenCV (Debian's python3-opencv) on the same frames with the paper's parameters: time per frame
 * pair and per event (85 pairs) at 128x128 and 256x256, the mean end-point error between the two
 * flows, the flow stage's whole task, and the speed-up of a Piscina pool of 2 workers over 1.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/flow.js [--sizes 128,256] [--pool-tasks 4] [--python /usr/bin/python3] [--keep DIR] [--pool-only]
 *
 * --keep DIR leaves the frames and both flows there as .npy (frames<size>, ours<size>,
 * python<size> with 1 thread, python<size>-mt with OpenCV's default threads) for inspection;
 * --pool-only measures the pool alone, at the first size.
 *
 * Frames: a synthetic recording (lib/synth) rendered at the crop's scale, cropped at the swim
 * bladder like extract does, min-max normalised, 150 frames from 15 before the first bout's onset,
 * 86 kept as the subsample stage keeps them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { loadOpenCV, type CV } from "../lib/cv/opencv.js";
import { FarnebackFlow, PAPER_FARNEBACK } from "../lib/flow/farneback.js";
import { writeSubsampleFile } from "../lib/flow/files.js";
import { jpegRoundTrip } from "../lib/flow/jpeg.js";
import { quantiseFlowPair } from "../lib/flow/quantise.js";
import { recordingParams, withDefaults } from "../lib/synth/params.js";
import { renderRecording } from "../lib/synth/recording.js";
import { cropVideo, normalizeFrames } from "../lib/video/transform.js";
import flowStage from "../stages/flow/index.js";
import { chooseSubsample } from "../stages/subsample/select.js";
import { readNpyFloat32, writeNpy } from "./flow-npy.js";
import type { FlowTask } from "./flow-worker.js";
import { median } from "./stats.js";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const sizes = option("sizes", "128,256").split(",").map(Number);
const poolTasks = Number(option("pool-tasks", "4"));
const python = option("python", process.env["PYTHON"] ?? "/usr/bin/python3");
const keep = option("keep", "");
const poolOnly = process.argv.includes("--pool-only");
const here = fileURLToPath(new URL(".", import.meta.url));
const reference = resolve(here, "../../bench/flow_reference.py");
const jpegReference = resolve(here, "../../bench/flow_jpeg_reference.py");

interface Subsample {
  frames: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  indices: number[];
}

/** 86 of 150 frames of a synthetic event, cropped to size x size at the bladder. */
function subsampleFrames(size: number): Subsample {
  const scale = size / 128;
  const p = withDefaults({ width: Math.round(200 * scale), height: Math.round(160 * scale), px_per_mm: 38 * scale, crop_px: size, crop_offset_px: Math.round(5 * scale) });
  const { video, truth } = renderRecording(recordingParams(p, 0), { maxFrames: 600 });
  const [bx, by] = truth.fish.bladder_end_px;
  const top = Math.min(Math.max(0, Math.round(by) - size / 2), video.rows - size);
  const left = Math.min(Math.max(0, Math.round(bx) - p.crop_offset_px), video.cols - size);
  const start = Math.min(Math.max(0, (truth.bouts[0]?.onset ?? 15) - 15), video.count - 150);
  const event = normalizeFrames(cropVideo(video, { top, left, width: size, height: size }));
  const { indices } = chooseSubsample(1, 150, 86);
  const plane = size * size;
  const frames = new Uint8Array(indices.length * plane);
  indices.forEach((f, k) => frames.set(event.frames.subarray((start + f) * plane, (start + f + 1) * plane), k * plane));
  return { frames, count: indices.length, rows: size, cols: size, indices };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Our flow of every pair, timed per pair after two warm-up pairs. */
function ours(cv: CV, s: Subsample): { times: number[]; cpuMsPerPair: number; flows: Float32Array } {
  const plane = s.rows * s.cols;
  const runner = new FarnebackFlow(cv, s.rows, s.cols, PAPER_FARNEBACK);
  const frame = (k: number) => s.frames.subarray(k * plane, (k + 1) * plane);
  const flows = new Float32Array((s.count - 1) * plane * 2);
  const times: number[] = [];
  try {
    for (let w = 0; w < 2; w++) runner.pair(frame(0), frame(1));
    const cpu0 = process.cpuUsage();
    for (let k = 0; k < s.count - 1; k++) {
      const t0 = performance.now();
      runner.pair(frame(k), frame(k + 1), flows.subarray(k * plane * 2, (k + 1) * plane * 2));
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    // CPU time of the process (this thread does the work): what the flow costs, whatever else runs.
    return { times, cpuMsPerPair: (cpu.user + cpu.system) / 1000 / (s.count - 1), flows };
  } finally {
    runner.delete();
  }
}

interface PythonResult {
  opencv: string;
  threads: number;
  per_pair_ms_median: number;
  per_pair_ms_mean: number;
  event_s: number;
  cpu_ms_per_pair: number;
}

function theirs(framesPath: string, flowsPath: string, threads: number): PythonResult {
  const r = spawnSync(python, [reference, framesPath, flowsPath, "--threads", String(threads)], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${python} ${reference} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}\nInstall Debian's OpenCV for Python (apt-get install -y python3-opencv) or give --python`);
  }
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as PythonResult;
}

interface Epe {
  /** Mean |ours - theirs| (px) over every pixel of every pair. */
  all: number;
  /** The same, leaving out a 16-px border. */
  interior: number;
  /** Over pixels where the reference moves by more than 0.5 px (the tail), and their share. */
  moving: number;
  movingShare: number;
  /** Share of pixels whose end points differ by more than 0.1 px. */
  over01: number;
  /** The pair with the largest mean error: its index, error and mean reference speed (px). */
  worstPair: { index: number; epe: number; speed: number };
  /** Mean reference speed (px per pair). */
  meanSpeed: number;
}

/** End-point error between our flows and the reference's (both pairs x rows x cols x 2). */
function endPointError(a: Float32Array, b: Float32Array, rows: number, cols: number, margin = 16): Epe {
  const plane = rows * cols;
  const pairs = a.length / (2 * plane);
  let all = 0;
  let interior = 0;
  let interiorN = 0;
  let moving = 0;
  let movingN = 0;
  let over = 0;
  let speed = 0;
  let worstPair = { index: -1, epe: -1, speed: 0 };
  for (let k = 0; k < pairs; k++) {
    let pair = 0;
    let pairSpeed = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = 2 * (k * plane + r * cols + c);
        const e = Math.hypot(a[i]! - b[i]!, a[i + 1]! - b[i + 1]!);
        const v = Math.hypot(b[i]!, b[i + 1]!);
        pair += e;
        pairSpeed += v;
        if (e > 0.1) over++;
        if (v > 0.5) {
          moving += e;
          movingN++;
        }
        if (r >= margin && r < rows - margin && c >= margin && c < cols - margin) {
          interior += e;
          interiorN++;
        }
      }
    }
    all += pair;
    speed += pairSpeed;
    if (pair / plane > worstPair.epe) worstPair = { index: k, epe: pair / plane, speed: pairSpeed / plane };
  }
  const n = pairs * plane;
  return { all: all / n, interior: interior / interiorN, moving: movingN ? moving / movingN : 0, movingShare: movingN / n, over01: over / n, worstPair, meanSpeed: speed / n };
}

/**
 * Our JPEG lossy step (quality 40) on every quantised channel of the event beside OpenCV's grey
 * JPEG round trip (libjpeg): agreement, loss, time per channel.
 */
function jpegCheck(flows: Float32Array, s: Subsample, dir: string): Record<string, number> & { ours_ms_per_channel: number } {
  const plane = s.rows * s.cols;
  const pairs = s.count - 1;
  const stack = new Uint8Array(2 * pairs * plane);
  const range = new Float32Array(4 * pairs);
  for (let k = 0; k < pairs; k++) quantiseFlowPair(flows.subarray(2 * k * plane, 2 * (k + 1) * plane), k, stack, range);
  const out = new Uint8Array(stack.length);
  const t0 = performance.now();
  for (let c = 0; c < 2 * pairs; c++) jpegRoundTrip(stack.subarray(c * plane, (c + 1) * plane), s.rows, s.cols, 40, out.subarray(c * plane, (c + 1) * plane));
  const ms = (performance.now() - t0) / (2 * pairs);
  const channelsPath = join(dir, `channels${s.rows}.npy`);
  const oursPath = join(dir, `jpeg${s.rows}.npy`);
  writeNpy(channelsPath, stack, [2 * pairs, s.rows, s.cols]);
  writeNpy(oursPath, out, [2 * pairs, s.rows, s.cols]);
  const r = spawnSync(python, [jpegReference, channelsPath, oursPath, "40"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${python} ${jpegReference} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  return { ...(JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number>), ours_ms_per_channel: ms };
}

/** The flow stage's whole task (read, flow, quantise, gzip-9 HDF5) on one subsample file. */
async function stageTask(s: Subsample, dir: string): Promise<number> {
  const input = join(dir, `sub${s.rows}.h5`);
  await writeSubsampleFile(input, { ...s, spatialIndex: 0, fps: 300 }, 1);
  const outDir = mkdtempSync(join(dir, "stage-"));
  const t0 = performance.now();
  await flowStage.run(
    { outDir, scratch: join(outDir, ".scratch"), measure: () => {}, seed: 1, log: () => {}, warn: () => {}, progress: () => {}, signal: new AbortController().signal },
    { ...PAPER_FARNEBACK, pair_stride: 1, clip_px: null, jpeg_quality: null, gzip: 9 },
    { subsamples: { id: "bench/ev00/s0", files: { frames: input }, meta: {} } },
  );
  return (performance.now() - t0) / 1000;
}

/**
 * Wall time of `tasks` whole subsamples on a pool of `threads` workers (OpenCV already loaded in
 * each), and the cores the process kept busy meanwhile (its CPU time over wall time: on a shared
 * machine, what the scheduler granted).
 */
async function poolTime(s: Subsample, threads: number, tasks: number): Promise<{ seconds: number; cores: number }> {
  const pool = new Piscina<FlowTask, number>({ filename: resolve(here, "flow-worker.js"), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  try {
    // Warm-up: one short task per thread, at once, so that each loads OpenCV before the clock starts.
    await Promise.all(Array.from({ length: threads }, () => pool.run({ ...s, pairs: 1 })));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: tasks }, () => pool.run({ ...s, pairs: s.count - 1 })));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds };
  } finally {
    await pool.destroy();
  }
}

function machine(): string {
  const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const ocv = JSON.parse(readFileSync(resolve(here, "../../node_modules/@techstark/opencv-js/package.json"), "utf8")) as { version: string };
  return `${availableParallelism()} cores (${cpu}), Node ${process.version}, @techstark/opencv-js ${ocv.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`;
}

async function main(): Promise<void> {
  const dir = keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), "bench-flow-"));
  const results: Record<string, unknown> = { machine: machine(), params: PAPER_FARNEBACK };
  try {
    const cv = await loadOpenCV();
    const subsamples = new Map<number, Subsample>();
    for (const size of sizes) {
      const s = subsampleFrames(size);
      subsamples.set(size, s);
      if (poolOnly) break;
      const framesPath = join(dir, `frames${size}.npy`);
      writeNpy(framesPath, s.frames, [s.count, s.rows, s.cols]);
      const mine = ours(cv, s);
      if (keep) writeNpy(join(dir, `ours${size}.npy`), mine.flows, [s.count - 1, s.rows, s.cols, 2]);
      const py1 = theirs(framesPath, join(dir, `python${size}.npy`), 1);
      const py0 = theirs(framesPath, join(dir, `python${size}-mt.npy`), 0);
      const epe = endPointError(mine.flows, readNpyFloat32(join(dir, `python${size}.npy`)).data, s.rows, s.cols);
      const stage = await stageTask(s, dir);
      const jpeg = jpegCheck(mine.flows, s, dir);
      const row = {
        size,
        ours_ms_median: median(mine.times),
        ours_ms_mean: sum(mine.times) / mine.times.length,
        ours_event_s: sum(mine.times) / 1000,
        ours_cpu_ms_per_pair: mine.cpuMsPerPair,
        python_1thread: py1,
        python_default_threads: py0,
        ratio_median: median(mine.times) / py1.per_pair_ms_median,
        ratio_cpu: mine.cpuMsPerPair / py1.cpu_ms_per_pair,
        stage_task_s: stage,
        epe,
        jpeg,
      };
      results[`size${size}`] = row;
      console.log(`${size}x${size}: ours ${row.ours_ms_median.toFixed(1)} ms/pair (event ${row.ours_event_s.toFixed(2)} s), ` +
        `Python OpenCV ${py1.opencv} 1 thread ${py1.per_pair_ms_median.toFixed(1)} ms/pair (event ${py1.event_s.toFixed(2)} s), ` +
        `${py0.threads} threads ${py0.per_pair_ms_median.toFixed(1)} ms/pair; ours/Python ${row.ratio_median.toFixed(2)}x; ` +
        `CPU time per pair ours ${mine.cpuMsPerPair.toFixed(1)} ms, Python ${py1.cpu_ms_per_pair.toFixed(1)} ms (${row.ratio_cpu.toFixed(2)}x); ` +
        `flow stage task ${stage.toFixed(2)} s; EPE mean ${epe.all.toFixed(4)} px (interior ${epe.interior.toFixed(4)}; ` +
        `moving pixels ${epe.moving.toFixed(4)}, ${(100 * epe.movingShare).toFixed(1)} % of pixels; > 0.1 px at ${(100 * epe.over01).toFixed(2)} % of pixels; ` +
        `worst pair ${epe.worstPair.index}: ${epe.worstPair.epe.toFixed(4)} px at a mean speed of ${epe.worstPair.speed.toFixed(3)} px) for a mean flow of ${epe.meanSpeed.toFixed(3)} px; ` +
        `JPEG 40: ${(100 * jpeg["equal_share"]!).toFixed(2)} % of pixels as OpenCV's (mean |diff| ${jpeg["mean_abs_diff"]!.toFixed(4)}, max ${jpeg["max_abs_diff"]}), ` +
        `loss ${jpeg["loss_ours"]!.toFixed(3)} vs ${jpeg["loss_opencv"]!.toFixed(3)} levels, ${jpeg.ours_ms_per_channel.toFixed(2)} vs ${jpeg["opencv_ms_per_channel"]!.toFixed(2)} ms per channel`);
    }
    if (poolTasks > 0) {
      const poolSize = sizes[0]!;
      const s = subsamples.get(poolSize)!;
      const loadBefore = loadavg()[0]!;
      const one = await poolTime(s, 1, poolTasks);
      const two = await poolTime(s, 2, poolTasks);
      const speedup = one.seconds / two.seconds;
      results["pool"] = { size: poolSize, tasks: poolTasks, one_worker: one, two_workers: two, speedup, load_before: loadBefore, load_after: loadavg()[0] };
      console.log(`pool, ${poolTasks} subsamples of ${poolSize}x${poolSize}: 1 worker ${one.seconds.toFixed(2)} s (${one.cores.toFixed(2)} cores busy), ` +
        `2 workers ${two.seconds.toFixed(2)} s (${two.cores.toFixed(2)} cores busy), speed-up ${speedup.toFixed(2)}x ` +
        `(1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after)`);
    }
    console.log(`machine: ${results["machine"]}`);
    console.log(JSON.stringify(results));
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
