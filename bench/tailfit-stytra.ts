/**
 * Tail fitting on the real Stytra recording (../shared/data/real, head on the right): mirror it to
 * the paper's orientation, normalise each frame, find the bladder as extract does, start 3 px past
 * it, fit every frame, and draw the points over the rest frame and the three most bent frames.
 *
 *   node dist/bench/tailfit-stytra.js [out.png=stages/tailfit/stytra-tailfit.png]
 */
import { resolve } from "node:path";
import { writeFileSync } from "node:fs";
import { detectBladder } from "../lib/detect/bladder.js";
import { minMaxNormalize, mirrorX } from "../lib/image/ops.js";
import { eventFeatures } from "../lib/tail/features.js";
import { fitTail } from "../lib/tail/fit.js";
import { tailPreview } from "../lib/tail/preview.js";
import { readHdf5Video } from "../lib/video/hdf5.js";
import { encodeRgbPng } from "../lib/video/png.js";
import { defaultTailfitParams, fitOptions } from "../stages/tailfit/params.js";

// The shared data folder beside the project (run from the project root), or $DAG_SHARED_DATA.
const STYTRA = resolve(process.env["DAG_SHARED_DATA"] ?? "../shared", "data/real/stytra-head-embedded.h5");
const out = process.argv[2] ?? "stages/tailfit/stytra-tailfit.png";

const video = await readHdf5Video(STYTRA);
const size = video.rows * video.cols;
const frames = new Uint8Array(video.frames.length);
for (let f = 0; f < video.count; f++) frames.set(minMaxNormalize(mirrorX(video.frames.subarray(f * size, (f + 1) * size), video.cols)), f * size);
const bladder = await detectBladder(frames.subarray(0, size), video.rows, video.cols, { orientation: "head-left" });
if (!bladder.found) throw new Error(`no bladder found in ${STYTRA}: ${bladder.reason}`);
// The frame is smaller than a crop: fit in the whole frame with the paper's 5 px steps at half scale.
const options = { ...fitOptions({ ...defaultTailfitParams(), step_px: 2.5 }, video.rows, video.cols), startX: bladder.x + 3, startY: bladder.y };
const fit = fitTail(frames, video.count, video.rows, video.cols, options);
if (!fit.ok) throw new Error(`tail fit failed on ${STYTRA}: ${fit.reason}`);
const { features, series } = eventFeatures(fit.xy, fit.frames, fit.points, options.directionDeg);
const bent = series.angle.map((a, i) => [Math.abs(a - series.angle[0]!), i] as const).sort((a, b) => b[0] - a[0]);
const chosen = [0];
for (const [, i] of bent) {
  if (chosen.every((c) => Math.abs(c - i) > 8)) chosen.push(i);
  if (chosen.length === 4) break;
}
chosen.sort((a, b) => a - b);
const sheet = tailPreview(chosen.map((f) => ({ pixels: frames.subarray(f * size, (f + 1) * size), xy: fit.xy.subarray(f * fit.points * 2, (f + 1) * fit.points * 2) })), video.rows, video.cols, 3);
writeFileSync(out, encodeRgbPng(sheet.pixels, sheet.width, sheet.height));
console.log(`${STYTRA}: ${video.count} frames ${video.cols}x${video.rows}; bladder (${bladder.x}, ${bladder.y}) after mirroring; start (${options.startX}, ${options.startY}), step ${options.step} px`);
console.log(`fitted: ${fit.points} points per frame (${((fit.points - 1) * options.step).toFixed(1)} px of tail), ${fit.framesWithLostPoints} frames with a lost point`);
console.log(`frames drawn: ${chosen.join(", ")} -> ${out}`);
console.log(`features: ${JSON.stringify(features)}`);
