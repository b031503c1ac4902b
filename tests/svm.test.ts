import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBaseline, type BaselineOptions } from "../lib/svm/baseline.js";
import { stratifiedFolds } from "../lib/svm/folds.js";
import { svmTrainer } from "../lib/svm/libsvm.js";
import { tableCsv } from "../stages/svm/report.js";
import { splitFromFile, stratifiedRecordingSplit, type Row } from "../lib/svm/split.js";
import { parseSplits } from "../lib/splits.js";
import { run, workspace } from "./helpers/workspace.js";

const OPTIONS: BaselineOptions = { folds: 5, testFraction: 0.15, C: [0.01, 0.1, 1, 10], gamma: [0.1, 0.01, 0.001, 0.0001], kernels: ["rbf", "linear"], standardise: true, seed: 7 };

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function gauss(random: () => number): number {
  return random() + random() + random() + random() - 2;
}

/** Two classes apart in 5 features (on different scales, as the tail features are), one class per recording. */
function toyTable(recordings: number, perRecording: number, seed: number, gap = 3): Row[] {
  const random = lcg(seed);
  const rows: Row[] = [];
  for (let r = 0; r < recordings; r++) {
    const label = (r % 2) as 0 | 1;
    for (let e = 0; e < perRecording; e++) {
      const x = [10, 1, 30, 20, 0.5].map((scale, j) => scale * ((j < 2 ? label * gap : 0) + gauss(random)));
      rows.push({ id: `rec${r}/ev${e}`, recording: `rec${r}`, label, x });
    }
  }
  return rows;
}

describe("svm baseline", () => {
  it("classifies a separable toy table almost perfectly, and scores every grid point", async () => {
    const train = await svmTrainer();
    const rows = toyTable(20, 6, 1);
    const res = runBaseline(train, rows, OPTIONS);
    expect(res.grid).toHaveLength(20);
    expect(res.best.cvMean).toBeGreaterThan(0.95);
    expect(res.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(res.test.confusion.flat().reduce((a, b) => a + b, 0)).toBe(res.split.test.length);
    for (const g of res.grid) {
      expect(g.folds).toHaveLength(5);
      expect(g.cvMean).toBeCloseTo(g.folds.reduce((a, b) => a + b, 0) / 5, 12);
    }
  });

  it("never puts events of one recording in both the training and the test set", () => {
    for (let seed = 0; seed < 50; seed++) {
      const rows = toyTable(7 + (seed % 13), 1 + (seed % 5), seed);
      const split = stratifiedRecordingSplit(rows, 0.15, seed);
      const trainRecs = new Set(split.train.map((i) => rows[i]!.recording));
      const testRecs = new Set(split.test.map((i) => rows[i]!.recording));
      expect([...testRecs].filter((r) => trainRecs.has(r))).toEqual([]);
      expect(split.train.length + split.test.length).toBe(rows.length);
      expect(split.test.length).toBeGreaterThan(0);
      expect(split.train.length).toBeGreaterThan(0);
    }
  });

  it("holds out about 15 % of each class", () => {
    const rows = toyTable(40, 5, 3);
    const split = stratifiedRecordingSplit(rows, 0.15, 3);
    for (const c of [0, 1]) {
      const share = split.test.filter((i) => rows[i]!.label === c).length / rows.filter((r) => r.label === c).length;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.2);
    }
  });

  it("takes the CNN's test recordings from a splits file, and names recordings it lacks", () => {
    const rows = toyTable(6, 2, 5);
    const splits = { recordings: { rec0: "train", rec1: "train", rec2: "validation", rec3: "train", rec4: "test", rec5: "test" } };
    const split = splitFromFile(rows, parseSplits(splits, "splits.json"), "splits.json");
    expect(split.test.map((i) => rows[i]!.recording).sort()).toEqual(["rec4", "rec4", "rec5", "rec5"]);
    expect(split.train).toHaveLength(8);
    expect(() => splitFromFile(rows, parseSplits({ recordings: { rec0: "train" } }, "splits.json"), "splits.json")).toThrow(/does not assign recordings rec1, rec2, rec3, rec4, rec5/);
  });

  it("deals stratified folds of equal size", () => {
    const labels = Array.from({ length: 103 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const folds = stratifiedFolds(labels, 5, 11);
    for (let f = 0; f < 5; f++) {
      const members = folds.flatMap((g, i) => (g === f ? [i] : []));
      expect(members.length === 20 || members.length === 21).toBe(true);
      const prey = members.filter((i) => labels[i] === 1).length;
      expect(Math.abs(prey - 35 / 5)).toBeLessThanOrEqual(1);
    }
  });

  it("keeps libsvm's output out of stdout and stderr", () => {
    // A fresh process: the first load of libsvm is what prints the wasm warning.
    const script = `
      const { svmTrainer } = await import(${JSON.stringify(resolve("dist/lib/svm/libsvm.js"))});
      const train = await svmTrainer();
      const m = train([[0, 0], [1, 1], [1, 0], [0, 1], [0.1, 0.2], [0.9, 0.8]], [0, 0, 1, 1, 0, 0], { kernel: "rbf", C: 1, gamma: 1 });
      m.predict([[0.5, 0.5]]);
      m.free();
      await new Promise((r) => setTimeout(r, 200));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toBe("");
    const both = execFileSync("sh", ["-c", `"${process.execPath}" --input-type=module -e '${script.replace(/'/g, "'\\''")}' 2>&1`], { encoding: "utf8" });
    expect(both).toBe("");
  });
});

/** A python3 that imports scikit-learn (PYTHON, python3, /usr/bin/python3), or null. */
function findPython(): string | null {
  for (const py of [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p)) {
    if (spawnSync(py, ["-c", "import sklearn"]).status === 0) return py;
  }
  return null;
}
const PYTHON = findPython();

describe.skipIf(!PYTHON)(`svm against scikit-learn (${PYTHON ? `with ${PYTHON}` : "SKIPPED: no python3 with scikit-learn; apt-get install -y python3-sklearn"})`, () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("gives the same CV accuracy per grid point, best parameters and test accuracy on the same table, split and folds", async () => {
    const train = await svmTrainer();
    const rows = toyTable(24, 5, 9, 1.2);
    const ours = runBaseline(train, rows, OPTIONS);
    const dir = workspace("stages: {}\n", false);
    dirs.push(dir);
    writeFileSync(join(dir, "table.csv"), tableCsv(rows, ours, ["a", "b", "c", "d", "e"]));
    const out = execFileSync(PYTHON!, [resolve("bench/svm_reference.py"), join(dir, "table.csv"), JSON.stringify({ C: OPTIONS.C, gamma: OPTIONS.gamma, kernels: OPTIONS.kernels })], { encoding: "utf8" });
    const ref = JSON.parse(out) as { grid: { cv_mean: number }[]; best: { kernel: string; C: number; gamma: number | null }; test: { correct: number } };
    ref.grid.forEach((g, i) => expect(g.cv_mean).toBeCloseTo(ours.grid[i]!.cvMean, 9));
    expect({ kernel: ref.best.kernel, C: ref.best.C, gamma: ref.best.gamma ?? undefined }).toEqual({ kernel: ours.best.kernel, C: ours.best.C, gamma: ours.best.gamma });
    expect(Math.abs(ref.test.correct - ours.test.correct)).toBeLessThanOrEqual(1);
  });
});

/** Tail points of one event, as DeepLabCut tracks 6 body parts: a beating tail, stronger and one-sided for prey. */
function dlcEvent(label: 0 | 1, seed: number, frames = 30, lowLikelihood = false): string {
  const random = lcg(seed);
  const parts = ["tail0", "tail1", "tail2", "tail3", "tail4", "tail5"];
  const amplitude = label ? 22 + 6 * random() : 8 + 4 * random();
  const bias = label ? 10 + 5 * random() : 0;
  const period = label ? 10 : 16;
  const phase = 2 * Math.PI * random();
  const scorer = "DLC_resnet50_tailJan1shuffle1_100000";
  const lines = [
    ["scorer", ...parts.flatMap(() => [scorer, scorer, scorer])].join(","),
    ["bodyparts", ...parts.flatMap((p) => [p, p, p])].join(","),
    ["coords", ...parts.flatMap(() => ["x", "y", "likelihood"])].join(","),
  ];
  for (let f = 0; f < frames; f++) {
    let x = 8;
    let y = 64;
    let theta = 0;
    const cells: string[] = [String(f)];
    parts.forEach((_, k) => {
      if (k > 0) {
        const s = k / (parts.length - 1);
        theta = (((bias * s + amplitude * s * Math.sin((2 * Math.PI * f) / period + phase - 2 * s)) * Math.PI) / 180);
        x += 19 * Math.cos(theta);
        y += 19 * Math.sin(theta);
      }
      const p = lowLikelihood && k === 5 && f % 2 === 0 ? 0.1 : 0.95 + 0.05 * random();
      cells.push((x + 0.2 * gauss(random)).toFixed(2), (y + 0.2 * gauss(random)).toFixed(2), p.toFixed(3));
    });
    lines.push(cells.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** The example's data: 12 recordings (6 per class) of 2 events each, and one event whose tip is mostly untracked. */
function writeDlcExample(dir: string): void {
  mkdirSync(join(dir, "tracks"), { recursive: true });
  const labels = ["file,label,recording"];
  for (let r = 0; r < 12; r++) {
    const label = (r % 2) as 0 | 1;
    for (let e = 0; e < 2; e++) {
      const name = `fish${String(r).padStart(2, "0")}-ev${e}`;
      writeFileSync(join(dir, "tracks", `${name}.csv`), dlcEvent(label, 100 * r + e));
      labels.push(`${name},${label},fish${String(r).padStart(2, "0")}`);
    }
  }
  writeFileSync(join(dir, "tracks", "fish00-ev2.csv"), dlcEvent(0, 999, 30, true));
  labels.push("fish00-ev2,0,fish00");
  writeFileSync(join(dir, "labels.csv"), `${labels.join("\n")}\n`);
}

describe("DeepLabCut tracks through tailpoints, features and svm (examples/deeplabcut-tail.yaml)", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("writes the example's sample data and runs the example pipeline", async () => {
    // The example ships this data; the test writes it (deterministic bytes) and runs a copy.
    writeDlcExample(resolve("examples/deeplabcut-tail"));
    const dir = workspace("stages: {}\n", false);
    dirs.push(dir);
    cpSync(resolve("examples/deeplabcut-tail.yaml"), join(dir, "pipeline.yaml"));
    cpSync(resolve("examples/deeplabcut-tail"), join(dir, "deeplabcut-tail"), { recursive: true });
    const outcome = await run(dir);
    expect(outcome.failed).toEqual([]);
    expect(outcome.ok).toBe(true);
    const metrics = JSON.parse(readFileSync(join(dir, "results", "svm", "report", "metrics.json"), "utf8"));
    expect(metrics.events).toMatchObject({ total: 25, fitted: 24, tail_fit_failed: 1, failed_by_reason: { "tail lost": 1 } });
    expect(metrics.best.cv_mean).toBeGreaterThan(0.9);
    const fit = JSON.parse(readFileSync(join(dir, "results", "tailpoints", "tails", "deeplabcut-tail", "tracks", "fish00-ev2.csv", "fit.json"), "utf8").toString());
    expect(fit.reason).toMatch(/^tail lost: 15 of 180 tracked points/);
    expect(existsSync(join(dir, "results", "svm", "report", "report.md"))).toBe(true);
  });
});
