/**
 * The SVM baseline against scikit-learn on one feature table: same split, same folds, same grid.
 * Our side (libsvm-js, stages/svm) runs first and writes the table with its split and fold
 * assignments; bench/svm_reference.py (scikit-learn's SVC in a StandardScaler pipeline,
 * GridSearchCV over a PredefinedSplit) then reads that very table. Passes when both pick the same
 * best parameters and their test accuracies differ by at most one event.
 *
 *   node dist/bench/svm-compare.js [--recordings 48] [--seed 1] [--table results/svm/report/table.csv]
 *
 * Without --table the features come from synthetic events (lib/synth, cut like extract) through
 * tailfit and features. Needs a python3 with scikit-learn (apt-get install -y python3-sklearn);
 * without one it says so and exits 0. PYTHON=/path/to/python3 picks the interpreter.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { eventFeatures, featureVector, FEATURE_NAMES } from "../lib/tail/features.js";
import { fitTail } from "../lib/tail/fit.js";
import { parseCsv } from "../lib/csv.js";
import { runBaseline, type BaselineOptions } from "../lib/svm/baseline.js";
import { svmTrainer } from "../lib/svm/libsvm.js";
import { tableCsv } from "../stages/svm/report.js";
import type { Row } from "../lib/svm/split.js";
import { defaultTailfitParams, fitOptions } from "../stages/tailfit/params.js";
import { syntheticEvents } from "./synthetic-events.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** A python3 that imports scikit-learn, or null. */
function findPython(): string | null {
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ["-c", "import sklearn"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return null;
}

function syntheticRows(recordings: number, seed: number): { rows: Row[]; failed: number } {
  const rows: Row[] = [];
  let failed = 0;
  for (const ev of syntheticEvents(recordings, seed)) {
    const o = fitOptions(defaultTailfitParams(), ev.crop, ev.crop);
    const fit = fitTail(ev.frames, ev.count, ev.crop, ev.crop, o);
    if (!fit.ok) {
      failed++;
      continue;
    }
    const { features } = eventFeatures(fit.xy, fit.frames, fit.points, o.directionDeg);
    rows.push({ id: ev.id, recording: ev.recording, label: ev.label, x: featureVector(features) });
  }
  return { rows, failed };
}

function tableRows(path: string): Row[] {
  const [head, ...body] = parseCsv(readFileSync(path, "utf8"), path).map((r) => r.cells);
  const col = (n: string): number => head!.indexOf(n);
  const featureCols = FEATURE_NAMES.map(col);
  if (featureCols.some((c) => c < 0) || col("label") < 0) throw new Error(`${path}: expected the svm stage's table.csv (id, recording, label, split, fold, ${FEATURE_NAMES.join(", ")})`);
  return body.map((r) => ({ id: r[col("id")]!, recording: r[col("recording")]!, label: Number(r[col("label")]) as 0 | 1, x: featureCols.map((c) => Number(r[c])) }));
}

const seed = Number(arg("seed", "1"));
const recordings = Number(arg("recordings", "48"));
const tablePath = arg("table", "");
const options: BaselineOptions = { folds: 5, testFraction: 0.15, C: [0.01, 0.1, 1, 10], gamma: [0.1, 0.01, 0.001, 0.0001], kernels: ["rbf", "linear"], standardise: true, seed };

const python = findPython();
if (!python) {
  console.log("svm-compare: skipped: no python3 with scikit-learn found (apt-get install -y python3-sklearn, or set PYTHON)");
  process.exit(0);
}

const t0 = performance.now();
const source = tablePath ? { rows: tableRows(resolve(tablePath)), failed: 0 } : syntheticRows(recordings, seed);
const featureSeconds = (performance.now() - t0) / 1000;
const train = await svmTrainer();
const t1 = performance.now();
const ours = runBaseline(train, source.rows, options);
const ourSeconds = (performance.now() - t1) / 1000;

const dir = mkdtempSync(join(tmpdir(), "svm-compare-"));
try {
  const table = join(dir, "table.csv");
  writeFileSync(table, tableCsv(source.rows, ours, FEATURE_NAMES));
  const py = spawnSync(python, [resolve("bench/svm_reference.py"), table, JSON.stringify({ C: options.C, gamma: options.gamma, kernels: options.kernels })], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (py.status !== 0) throw new Error(`svm_reference.py failed:\n${py.stderr}`);
  const ref = JSON.parse(py.stdout) as {
    sklearn: string; numpy: string; seconds: number;
    grid: { kernel: string; C: number; gamma: number | null; cv_mean: number; cv_sd: number }[];
    best: { kernel: string; C: number; gamma: number | null; cv_mean: number };
    test: { events: number; correct: number; accuracy: number };
    ids: string[];
    predicted: number[];
  };

  const label = (p: { kernel: string; C: number; gamma?: number | null }): string => (p.kernel === "rbf" ? `rbf C=${p.C} gamma=${p.gamma}` : `linear C=${p.C}`);
  const sameBest = label(ours.best) === label(ref.best);
  const ourPrediction = new Map(ours.split.test.map((i) => [source.rows[i]!.id, ours.predicted[i]]));
  const agree = ref.ids.filter((id, j) => ourPrediction.get(id) === ref.predicted[j]).length;
  const testDiff = Math.abs(ours.test.correct - ref.test.correct);
  let maxCvDiff = 0;
  const lines = ours.grid.map((g, i) => {
    const r = ref.grid[i]!;
    if (label(g) !== label(r)) throw new Error(`grid order differs at ${i}: ${label(g)} vs ${label(r)}`);
    maxCvDiff = Math.max(maxCvDiff, Math.abs(g.cvMean - r.cv_mean));
    return `| ${label(g)} | ${g.cvMean.toFixed(4)} ± ${g.cvSd.toFixed(4)} | ${r.cv_mean.toFixed(4)} ± ${r.cv_sd.toFixed(4)} |`;
  });
  const train0 = ours.split.train.filter((i) => source.rows[i]!.label === 0).length;
  const test0 = ours.split.test.filter((i) => source.rows[i]!.label === 0).length;
  console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}; node ${process.version}; scikit-learn ${ref.sklearn}, numpy ${ref.numpy} (${python})`);
  console.log(`table: ${tablePath || `synthetic, ${recordings} recordings (seed ${seed}), ${source.failed} events without a tail fit`}; ${source.rows.length} events; features in ${featureSeconds.toFixed(1)} s`);
  console.log(`split: ${ours.split.source}: train ${ours.split.train.length} (${train0} spontaneous), test ${ours.split.test.length} (${test0} spontaneous)`);
  console.log("");
  console.log("| grid point | CV accuracy, libsvm-js (ours) | CV accuracy, scikit-learn |");
  console.log("|---|---|---|");
  for (const l of lines) console.log(l);
  console.log("");
  console.log(`| | ours (libsvm-js) | scikit-learn |`);
  console.log(`|---|---|---|`);
  console.log(`| best | ${label(ours.best)} | ${label(ref.best)} |`);
  console.log(`| best CV accuracy | ${ours.best.cvMean.toFixed(4)} | ${ref.best.cv_mean.toFixed(4)} |`);
  console.log(`| test accuracy | ${ours.test.accuracy.toFixed(4)} (${ours.test.correct}/${ours.test.n}) | ${ref.test.accuracy.toFixed(4)} (${ref.test.correct}/${ref.test.events}) |`);
  console.log(`| grid search + refit + test, wall time | ${ourSeconds.toFixed(2)} s | ${ref.seconds.toFixed(2)} s |`);
  console.log("");
  console.log(`largest CV accuracy difference over the grid: ${maxCvDiff.toFixed(4)}; same best: ${sameBest}; test accuracy differs by ${testDiff} event(s); the same prediction for ${agree} of ${ref.ids.length} test events`);
  const pass = sameBest && testDiff <= 1;
  console.log(pass ? "PASS" : "FAIL");
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
