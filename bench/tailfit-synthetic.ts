/**
 * Tail fitting on synthetic events whose midline is known: the fraction of events fitted, why the
 * others failed, and the distance of fitted points to the true midline (px), over all frames and
 * over the bout's moving frames; also the fitted tail's length against the true one.
 *
 *   node dist/bench/tailfit-synthetic.js [recordings=24] [seed=1]
 */
import { cpus } from "node:os";
import { fitTail } from "../lib/tail/fit.js";
import { defaultTailfitParams, fitOptions } from "../stages/tailfit/params.js";
import { distanceToPolyline, syntheticEvents } from "./synthetic-events.js";

const recordings = Number(process.argv[2] ?? 24);
const seed = Number(process.argv[3] ?? 1);

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

const all: number[] = [];
const moving: number[] = [];
const tipShort: number[] = [];
const reasons: Record<string, number> = {};
let events = 0;
let fitted = 0;
let fitMs = 0;
let truthLeaves = 0;
for (const ev of syntheticEvents(recordings, seed)) {
  events++;
  const o = fitOptions(defaultTailfitParams(), ev.crop, ev.crop);
  const t0 = performance.now();
  const fit = fitTail(ev.frames, ev.count, ev.crop, ev.crop, o);
  fitMs += performance.now() - t0;
  if (!fit.ok) {
    const kind = fit.reason.split(":")[0]!;
    reasons[kind] = (reasons[kind] ?? 0) + 1;
    // Is the failure the truth's? Does the true midline leave the crop in this event?
    let leaves = false;
    for (let i = 0; i < ev.midline.length; i++) if (ev.midline[i]! < 0 || ev.midline[i]! > ev.crop - 1) leaves = true;
    if (leaves) truthLeaves++;
    console.error(`${ev.id} (${ev.boutType}): ${fit.reason}${leaves ? " [the true tail leaves the crop]" : ""}`);
    continue;
  }
  fitted++;
  const n = ev.midlinePoints;
  for (let f = 0; f < ev.count; f++) {
    for (let k = 0; k < fit.points; k++) {
      const d = distanceToPolyline(fit.xy[2 * (f * fit.points + k)]!, fit.xy[2 * (f * fit.points + k) + 1]!, ev.midline, f * n * 2, n);
      all.push(d);
      if (f >= ev.onset && f <= ev.offset) moving.push(d);
    }
  }
  // True tail length from the start column on vs the fitted length, in frame 0 (at rest).
  let trueLength = 0;
  for (let k = 1; k < n; k++) {
    const x0 = ev.midline[2 * (k - 1)]!;
    const x1 = ev.midline[2 * k]!;
    if (x1 <= o.startX) continue;
    const from = Math.max(x0, o.startX);
    trueLength += ((x1 - from) / (x1 - x0)) * Math.hypot(x1 - x0, ev.midline[2 * k + 1]! - ev.midline[2 * k - 1]!);
  }
  tipShort.push(trueLength - (fit.points - 1) * o.step);
}
all.sort((a, b) => a - b);
moving.sort((a, b) => a - b);
tipShort.sort((a, b) => a - b);
const f2 = (v: number): string => v.toFixed(2);
console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}; node ${process.version}`);
console.log(`synthetic recordings ${recordings} (seed ${seed}), events ${events}, fitted ${fitted} (${((100 * fitted) / events).toFixed(1)} %); failed: ${JSON.stringify(reasons)}, of which the true tail leaves the crop: ${truthLeaves}`);
console.log(`point error (px), all frames:    median ${f2(quantile(all, 0.5))}, 90th ${f2(quantile(all, 0.9))}, 99th ${f2(quantile(all, 0.99))}, max ${f2(all.at(-1) ?? NaN)}  (${all.length} points)`);
console.log(`point error (px), moving frames: median ${f2(quantile(moving, 0.5))}, 90th ${f2(quantile(moving, 0.9))}, 99th ${f2(quantile(moving, 0.99))}, max ${f2(moving.at(-1) ?? NaN)}  (${moving.length} points)`);
console.log(`fitted tail shorter than the true one (px, frame 0): median ${f2(quantile(tipShort, 0.5))}, range ${f2(tipShort[0] ?? NaN)} .. ${f2(tipShort.at(-1) ?? NaN)}`);
console.log(`fit time: ${(fitMs / Math.max(1, events)).toFixed(0)} ms per 150-frame event`);
