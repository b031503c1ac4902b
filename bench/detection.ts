/**
 * Bout detection against ground truth: the paper's thresholded frame difference and the adaptive
 * detector (lib/detect/bouts.ts), on synthetic recordings of several rigs (synthesize's options,
 * each with the true onsets and offsets) and on the real Stytra clip (two bouts, onsets 19 and 178
 * by eye and by the paper's detector with examples/stytra.yaml).
 *
 *   node dist/bench/detection.js [recordings per scenario] [--seed N] [scenario ...]
 *
 * `--seed` draws other recordings than the default dataset's (seed 1): a check that the figures
 * do not depend on the recordings the detector was tried on.
 *
 * Per scenario and detector: bouts found per class (a detection whose onset lies in
 * [true onset - 5, true offset]), false detections per recording (matching no bout), and the
 * onset error (detected - true, frames). Detections are compared before events are cut, so a
 * bout lost to the no-overlap rule of events still counts as found.
 */
import { readFileSync } from "node:fs";
import { detectBladder } from "../lib/detect/bladder.js";
import { ADAPTIVE_DEFAULTS, adaptiveProfile, detectBouts } from "../lib/detect/bouts.js";
import { classifyMotion, motionProfile, motionRuns, type Trigger } from "../lib/detect/motion.js";
import { recordingParams, withDefaults, type SynthesizeParams } from "../lib/synth/params.js";
import { renderRecording } from "../lib/synth/recording.js";
import { readHdf5Video } from "../lib/video/hdf5.js";
import { cropVideo, normalizeFrames } from "../lib/video/transform.js";
import { frameAt, type Video } from "../lib/video/types.js";

/** The rigs: synthesize's parameters over its defaults (crop 128 as pipeline.yaml). */
const SCENARIOS: Record<string, Partial<SynthesizeParams>> = {
  default: {},
  "caudal prey": { caudal_prey: true },
  "faint tail, noisy camera": { tail_contrast: 0.35, noise_min: 3, noise_max: 5, brightness_max: 230 },
  "caudal prey, faint, noisy": { caudal_prey: true, tail_contrast: 0.5, noise_min: 2, noise_max: 4, brightness_max: 232 },
  "caudal prey, fainter, noisier": { caudal_prey: true, tail_contrast: 0.3, noise_min: 3, noise_max: 5, brightness_max: 230 },
  "larger fish (60 px/mm)": { px_per_mm: 60, width: 300, height: 220, crop_px: 200, crop_offset_px: 8 },
  "smaller fish (26 px/mm)": { px_per_mm: 26 },
  "dense bouts": { bouts_min: 8, bouts_max: 12, rest_ms_min: 80, rest_ms_max: 200, min_onset_spacing_ms: 250, lead_in_ms: 100 },
  "sparse bouts": { bouts_min: 1, bouts_max: 2, rest_ms_min: 1500, rest_ms_max: 3000 },
};

const CROP = 128;
const OFFSET = 5;
const FPS_DEFAULT = 300;

interface Detector {
  name: string;
  /** `normalised`: the crop, each frame min-max normalised (the paper's input); `raw`: the crop as recorded. */
  detect(normalised: Video, raw: Video, tailRow: number, holdDuplicates: boolean, paperThreshold: number): Promise<Trigger[]>;
}

/** The paper's (FACTS.md): runs of 6 moving frames, else of 3. */
const paper: Detector = {
  name: "paper",
  async detect(video, _raw, _row, holdDuplicates, threshold) {
    const options = { holdDuplicates, threshold };
    const runs = motionRuns(classifyMotion(await motionProfile(video, options), options));
    const six = runs.filter((r) => r.length >= 6);
    return six.length ? six : runs.filter((r) => r.length >= 3);
  },
};

const ms = (t: number, fps: number): number => Math.max(1, Math.round((t * fps) / 1000));
const adaptive: Detector = {
  name: "adaptive",
  async detect(_normalised, video, tailRow, holdDuplicates) {
    const profile = adaptiveProfile(video, ADAPTIVE_DEFAULTS, tailRow);
    return detectBouts(profile, { ...ADAPTIVE_DEFAULTS, holdDuplicates, minDuration: ms(20, video.fps), mergeGap: ms(20, video.fps) }).bouts;
  },
};

const DETECTORS = [paper, adaptive];

interface Tally {
  bouts: [number, number];
  found: [number, number];
  falseDetections: number;
  recordings: number;
  onsetErrors: number[];
  frames: number;
  ms: number;
}

const newTally = (): Tally => ({ bouts: [0, 0], found: [0, 0], falseDetections: 0, recordings: 0, onsetErrors: [], frames: 0, ms: 0 });

/** Matches detections to true bouts in order; returns the onset errors and the unmatched count. */
function match(truth: { onset: number; offset: number }[], detected: Trigger[]): { errors: (number | null)[]; falseDetections: number } {
  const used = new Set<number>();
  const errors = truth.map((b) => {
    const k = detected.findIndex((d, j) => !used.has(j) && d.onset >= b.onset - 5 && d.onset <= b.offset);
    if (k < 0) return null;
    used.add(k);
    return detected[k]!.onset - b.onset;
  });
  // A detection inside a matched bout (a bout split in two) is no event of its own: not false.
  const inside = (d: Trigger): boolean => truth.some((b) => d.onset >= b.onset && d.onset <= b.offset);
  return { errors, falseDetections: detected.filter((d, j) => !used.has(j) && !inside(d)).length };
}

/** Per detector its tally; and, on bouts both found, adaptive's onset minus paper's (frames). */
async function scenario(name: string, overrides: Partial<SynthesizeParams>, recordings: number, seed: number): Promise<{ tallies: Map<string, Tally>; agreement: number[] }> {
  const params = withDefaults({ ...overrides, recordings, seed } as Partial<SynthesizeParams>);
  const tallies = new Map(DETECTORS.map((d) => [d.name, newTally()]));
  const agreement: number[] = [];
  for (let i = 0; i < recordings; i++) {
    const p = recordingParams(params, i);
    const r = renderRecording(p);
    const { rows, cols } = r.video;
    const bladder = await detectBladder(frameAt(r.video, 0), rows, cols, { cropSize: CROP, leftOffset: OFFSET });
    const raw = cropVideo(r.video, bladder.crop);
    const cropped = normalizeFrames(raw);
    const tailRow = bladder.y - bladder.crop.top;
    const perBout: (number | null)[][] = [];
    for (const d of DETECTORS) {
      const t = tallies.get(d.name)!;
      const started = performance.now();
      const detected = await d.detect(cropped, raw, tailRow, false, 200);
      t.ms += performance.now() - started;
      t.frames += raw.count;
      const m = match(r.truth.bouts, detected);
      perBout.push(m.errors);
      t.recordings++;
      t.bouts[p.label] += r.truth.bouts.length;
      t.found[p.label] += m.errors.filter((e) => e !== null).length;
      t.falseDetections += m.falseDetections;
      t.onsetErrors.push(...(m.errors.filter((e) => e !== null) as number[]));
    }
    perBout[0]!.forEach((e, k) => {
      const other = perBout[1]![k];
      if (e !== null && other !== null && other !== undefined) agreement.push(other - e);
    });
  }
  process.stderr.write(`${name}: done\n`);
  return { tallies, agreement };
}

function row(scenarioName: string, detector: string, t: Tally): string {
  const pct = (k: 0 | 1) => (t.bouts[k] ? `${((100 * t.found[k]) / t.bouts[k]).toFixed(1)} % (${t.found[k]}/${t.bouts[k]})` : "-");
  const e = t.onsetErrors;
  const within2 = e.length ? `${((100 * e.filter((x) => Math.abs(x) <= 2).length) / e.length).toFixed(1)} %` : "-";
  const mean = e.length ? (e.reduce((a, b) => a + b, 0) / e.length).toFixed(2) : "-";
  const range = e.length ? `${Math.min(...e)}..${Math.max(...e)}` : "-";
  return `| ${scenarioName} | ${detector} | ${pct(0)} | ${pct(1)} | ${(t.falseDetections / t.recordings).toFixed(3)} | ${mean} | ${range} | ${within2} | ${((1000 * t.frames) / t.ms).toFixed(0)} |`;
}

async function stytra(): Promise<string[]> {
  const path = new URL("../../../shared/data/real/stytra-head-embedded.h5", import.meta.url);
  try {
    readFileSync(path);
  } catch {
    return ["(the Stytra clip is not at ../shared/data/real/: skipped)"];
  }
  const v = await readHdf5Video(path.pathname, { fps: 200 });
  const bladder = await detectBladder(frameAt(v, 0), v.rows, v.cols, { orientation: "head-right", cropSize: 128, threshold: 10 });
  const raw = cropVideo(v, bladder.crop);
  const cropped = normalizeFrames(raw);
  const out: string[] = [];
  for (const d of DETECTORS) {
    const found = await d.detect(cropped, raw, bladder.y - bladder.crop.top, true, 160);
    out.push(`| Stytra (200 fps, repeated frames) | ${d.name} | ${found.map((b) => `${b.onset} (${b.length} frames)`).join(", ") || "none"} |`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seedAt = args.indexOf("--seed");
  const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 1;
  const recordings = Number(args[0] ?? 24);
  const names = args.slice(1);
  const chosen = names.length ? names : Object.keys(SCENARIOS);
  console.log(`recordings per scenario: ${recordings}, synthesize seed ${seed}; default fps ${FPS_DEFAULT}, crop ${CROP}\n`);
  console.log("| rig | detector | spontaneous bouts found | prey bouts found | false detections / recording | onset error mean (frames) | range | within 2 frames | frames/s |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  const agreements: string[] = [];
  for (const name of chosen) {
    const overrides = SCENARIOS[name];
    if (!overrides) throw new Error(`unknown scenario "${name}": one of ${Object.keys(SCENARIOS).join(", ")}`);
    const { tallies, agreement } = await scenario(name, overrides, recordings, seed);
    for (const [d, t] of tallies) console.log(row(name, d, t));
    agreements.push(`| ${name} | ${agreement.length} | ${Math.min(...agreement)}..${Math.max(...agreement)} | ${((100 * agreement.filter((x) => Math.abs(x) <= 2).length) / agreement.length).toFixed(1)} % |`);
  }
  console.log("\nadaptive's onset minus paper's, on the bouts both found (frames):\n\n| rig | bouts | range | within 2 frames |\n|---|---|---|---|");
  for (const line of agreements) console.log(line);
  console.log("\n| recording | detector | onsets (run length) |\n|---|---|---|");
  for (const line of await stytra()) console.log(line);
}

await main();
