/**
 * Render speed of the synthesize stage, in frames per second on one core (one recording per
 * worker, as the engine runs it), measured as frames per CPU-second of this process:
 * - render: the renderer alone (frames into a reused buffer, ground truth included);
 * - render + files: what a task does (render, write video.h5 with gzip, truth.h5, truth.json);
 * - the same at the paper's scale (400 x 320 frames, 76 px/mm).
 *
 *   npm run build && node dist/bench/synthesize.js [recordings=8]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { writeRecordingFiles } from "../lib/synth/output.js";
import { recordingParams, withDefaults, type SynthesizeParams } from "../lib/synth/params.js";
import { recordingFrames, renderRecording } from "../lib/synth/recording.js";

const recordings = Number(process.argv[2] ?? 8);
let buffer = new Uint8Array(0);

interface Measure {
  frames: number;
  /** Wall-clock seconds, and CPU seconds of this process (what other processes on the machine do not inflate). */
  seconds: number;
  cpuSeconds: number;
  bytes: number;
}

async function measure(overrides: Partial<SynthesizeParams>, withFiles: boolean): Promise<Measure> {
  const params = withDefaults(overrides);
  const dir = mkdtempSync(join(tmpdir(), "bench-synthesize-"));
  try {
    // Warm-up: compile the hot loops, grow the buffer.
    for (let i = 0; i < 2; i++) await one(params, recordings + i, dir, withFiles);
    const result: Measure = { frames: 0, seconds: 0, cpuSeconds: 0, bytes: 0 };
    for (let i = 0; i < recordings; i++) {
      const m = await one(params, i, dir, withFiles);
      result.frames += m.frames;
      result.seconds += m.seconds;
      result.cpuSeconds += m.cpuSeconds;
      result.bytes += m.bytes;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function one(params: SynthesizeParams, index: number, dir: string, withFiles: boolean): Promise<Measure> {
  const p = recordingParams(params, index);
  const need = recordingFrames(p) * p.width * p.height;
  if (buffer.length < need) buffer = new Uint8Array(Math.ceil(need * 1.2));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const r = renderRecording(p, { buffer });
  let bytes = 0;
  if (withFiles) {
    const files = await writeRecordingFiles(dir, r, p.format, p.gzip);
    bytes = statSync(join(dir, files.video)).size;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { frames: r.video.count, seconds, cpuSeconds: (used.user + used.system) / 1e6, bytes };
}

function line(name: string, m: Measure, size: string): string {
  const cpuFps = m.frames / m.cpuSeconds;
  const wallFps = m.frames / m.seconds;
  const mb = m.bytes > 0 ? `  ${(m.bytes / m.frames / 1024).toFixed(1)} KiB/frame on disk` : "";
  return `${name.padEnd(34)} ${size.padEnd(9)} ${String(m.frames).padStart(6)} frames  ${cpuFps.toFixed(0).padStart(6)} frames/CPU-s  (${wallFps.toFixed(0)} frames/s wall)${mb}`;
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(`synthesize render speed, ${recordings} recordings each, one thread (${cpu}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)})`);
console.log("frames per CPU-second = frames/s on one core; the wall-clock rate is lower when other processes share the cores");
const paper: Partial<SynthesizeParams> = { width: 400, height: 320, px_per_mm: 76, crop_px: 256, crop_offset_px: 10, position_jitter_px: 8 };
console.log(line("render (default)", await measure({}, false), "200x160"));
console.log(line("render + files (default, gzip 1)", await measure({}, true), "200x160"));
console.log(line("render (paper scale)", await measure(paper, false), "400x320"));
console.log(line("render + files (paper scale)", await measure(paper, true), "400x320"));
