import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PipelineError } from "../dist/engine/diagnostics.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import { FIXTURE_STAGES, workspace } from "./helpers/workspace.js";

async function errorOf(yaml: string, set: string[] = []): Promise<string> {
  const dir = workspace(yaml);
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "data", "one.txt"), "1");
  try {
    await loadPipeline(join(dir, "pipeline.yaml"), { set });
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return (err as Error).message.replaceAll(dir, "<dir>").replaceAll(FIXTURE_STAGES, "<fixtures>");
  }
  throw new Error("expected the pipeline to be rejected");
}

// The fixture header takes line 1 of every pipeline file: line numbers below count from it.
const cases: { name: string; yaml: string; set?: string[]; expect: RegExp[] }[] = [
  { name: "YAML syntax error", yaml: "stages:\n  numbers: {params: {count: 2}\n  square: 1\n", expect: [/pipeline\.yaml:4:\d+: YAML: /] },
  { name: "duplicate key", yaml: "stages:\n  numbers: {}\n  numbers: {}\n", expect: [/pipeline\.yaml:4:\d+: YAML: .*[Uu]nique/] },
  { name: "a list as a key", yaml: "stages:\n  ? [a, b]\n  : {}\n", expect: [/pipeline\.yaml:3:5: a key that is a list or a mapping/, /^  hint: write each key as a plain name/] },
  { name: "a binary value", yaml: "stages:\n  numbers: !!binary aGVsbG8=\n", expect: [/pipeline\.yaml:3:21: a value tagged !!binary$/, /^  hint: write plain values/] },
  { name: "no stages", yaml: "seed: 1\n", expect: [/missing required key "stages"/] },
  { name: "unknown top-level key", yaml: "stagez: {}\nstages:\n  numbers: {}\n", expect: [/pipeline\.yaml:2:1: key "stagez": unknown key "stagez"$/, /^  hint: did you mean "stages"\? allowed keys: seed, cache/] },
  { name: "unknown stage key", yaml: "stages:\n  numbers:\n    parms: {count: 2}\n", expect: [/pipeline\.yaml:4:5: stage "numbers", key "stages.numbers.parms": unknown key "parms"$/, /^  hint: did you mean "params"\? allowed keys: kind, description, inputs, params, resources$/] },
  { name: "unknown param", yaml: "stages:\n  numbers:\n    params:\n      count: 2\n      cuont: 3\n", expect: [/pipeline\.yaml:6:7: stage "numbers", key "cuont": unknown key "cuont"$/, /^  hint: did you mean "count"\? allowed keys: count, base$/] },
  { name: "param of the wrong type", yaml: "stages:\n  numbers:\n    params:\n      count: many\n", expect: [/pipeline\.yaml:5:14: stage "numbers", key "count": expected integer/] },
  { name: "param out of range", yaml: "stages:\n  numbers:\n    params: { count: -1 }\n", expect: [/pipeline\.yaml:4:22: stage "numbers", key "count": expected a number >= 0/] },
  { name: "unknown kind", yaml: "stages:\n  squares:\n    inputs: {}\n", expect: [/pipeline\.yaml:3:3: stage "squares": unknown stage kind "squares"$/, /^  hint: did you mean "square"\? known kinds: .*numbers/] },
  { name: "unknown input name", yaml: "stages:\n  numbers: {}\n  total:\n    inputs: { values: numbers.values, extra: numbers.values }\n", expect: [/stage "total", key "extra": kind "total" has no input "extra"$/, /^  hint: its inputs: values$/] },
  { name: "missing input", yaml: "stages:\n  numbers: {}\n  total: {}\n", expect: [/pipeline\.yaml:4:3: stage "total", key "inputs.values": missing input "values"/, /^  hint: add inputs: \{ values: <stage>\.<output> \}$/] },
  { name: "input from an unknown stage", yaml: "stages:\n  total:\n    inputs: { values: numbrs.values }\n", expect: [/pipeline\.yaml:4:23: stage "total", key "values": no stage "numbrs" produces "numbrs.values"$/, /^  hint: stages: total; for a file write/] },
  { name: "input from an unknown output", yaml: "stages:\n  numbers: {}\n  total:\n    inputs: { values: numbers.value }\n", expect: [/stage "numbers" \(kind numbers\) has no output "value"$/, /^  hint: did you mean "values"\? its outputs: values$/] },
  { name: "input written wrong", yaml: "stages:\n  total:\n    inputs: { values: 3 }\n", expect: [/pipeline\.yaml:4:23: .*expected `<stage>.<output>`/] },
  { name: "glob that matches nothing", yaml: "stages:\n  total:\n    inputs: { values: { glob: \"data/*.csv\" } }\n", expect: [/stage "total", key "values": no file matches the glob "data\/\*\.csv"/] },
  { name: "missing file", yaml: "stages:\n  readfile:\n    inputs: { files: { file: data/none.txt } }\n", expect: [/no such file: data\/none.txt/] },
  { name: "a folder as a file input", yaml: "stages:\n  readfile:\n    inputs: { files: { file: data } }\n", expect: [/stage "readfile", key "files": data is a folder, not a file; for the files in it write \{ glob: "data\/\*" \}$/] },
  {
    name: "stage names that differ only in case (one folder under results/ on macOS and Windows)",
    yaml: "stages:\n  numbers: {}\n  Numbers: { kind: numbers }\n",
    expect: [/pipeline\.yaml:4:3: stage "Numbers": differs from stage "numbers" only in case/, /^  hint: rename one of them$/],
  },
  { name: "artifact where a collection is needed", yaml: "stages:\n  sleepy: {}\n  total:\n    inputs: { values: sleepy.done }\n", expect: [/input "values" takes a collection \(a list of items\) but gets an artifact/] },
  {
    name: "a cycle names its stages",
    yaml: "stages:\n  numbers: {}\n  clamp:\n    inputs: { values: square.squares }\n  square:\n    inputs: { values: clamp.values }\n",
    expect: [/the stages form a cycle: clamp -> square -> clamp$/, /^  hint: a stage cannot depend on its own outputs/],
  },
  { name: "--set on an unknown stage", yaml: "stages:\n  numbers: {}\n", set: ["numbrs.count=3"], expect: [/--set numbrs.count=3: no stage "numbrs"/, /^  hint: did you mean "numbers"\? stages: numbers$/] },
  { name: "--set with a bad value", yaml: "stages:\n  numbers: {}\n", set: ["numbers.count=lots"], expect: [/stage "numbers", key "count": expected integer/] },
  { name: "--set without a value", yaml: "stages:\n  numbers: {}\n", set: ["numbers.count"], expect: [/^--set numbers\.count: expected KEY=VALUE, e\.g\. --set train\.epochs=5$/] },
  {
    name: "a stage name that cannot be a folder: each named at its line, with a rename",
    yaml: `stages:\n  a/b: { kind: numbers }\n  ${"x".repeat(300)}: { kind: numbers }\n`,
    expect: [
      /\/pipeline\.yaml:3:3: stage name "a\/b" is not allowed: a stage name is a letter or _, then letters, digits, _ and - \(at most 64 characters\)$/,
      /^  hint: rename it, e\.g\. a_b$/,
      /\/pipeline\.yaml:4:3: stage name "x{80}\.\.\." is not allowed/,
      /^  hint: rename it, e\.g\. x{64}$/,
    ],
  },
  { name: "more recordings than can be listed (1e12: 'Invalid array length' mid-run)", yaml: "stages:\n  synthesize: { params: { recordings: 1e12 } }\n", expect: [/pipeline\.yaml:3:39: stage "synthesize", key "recordings": expected a number <= 100000$/] },
  { name: "a stage_paths folder that is not there (its kinds silently missing)", yaml: "stages:\n  synthesize: {}\n", set: ["stage_paths=[data, nowhere]"], expect: [/^--set stage_paths=\[data, nowhere\]: key "stage_paths\.1": no such folder: nowhere \(relative to <dir>\)$/, /^  hint: stage_paths lists folders that hold stage kinds/] },
  { name: "several problems at once", yaml: "stages:\n  numbers:\n    params: { count: x, base: y }\n", expect: [/key "count": expected integer/, /key "base": expected integer/] },
];

describe("a bad pipeline.yaml gets a clear error", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const lines = (await errorOf(c.yaml, c.set)).split("\n");
      // Every line is expected, in order: a spurious extra message (one oneOf failure reported
      // as three) fails the test.
      expect(lines, lines.join("\n")).toHaveLength(c.expect.length);
      lines.forEach((line, i) => expect(line).toMatch(c.expect[i]!));
    });
  }

  it("a good pipeline fills in defaults", async () => {
    const dir = workspace("stages:\n  numbers: {}\n  total:\n    inputs: { values: numbers.values }\n");
    const p = await loadPipeline(join(dir, "pipeline.yaml"));
    expect(p.byName.get("numbers")!.params).toEqual({ count: 3, base: 0 });
    expect(p.stages.map((s) => s.name)).toEqual(["numbers", "total"]);
  });
});

describe("the shipped pipelines", () => {
  // The real-data example reads ../shared, which a checkout elsewhere may not have.
  const shipped = ["pipeline.yaml", "examples/paper.yaml", "examples/deeplabcut-tail.yaml"];
  it.each(shipped)("%s is valid", async (file) => {
    const pipeline = await loadPipeline(file);
    expect(pipeline.stages.length).toBeGreaterThan(0);
  });
});

describe("a value that fits no branch of a choice", () => {
  // The shipped kinds, whose params have number-or-list (train.lr) and corner-or-rectangle
  // (mask.regions) choices: one line, for the branch of the value's own shape.
  async function loadShipped(set: string): Promise<string[]> {
    try {
      await loadPipeline("pipeline.yaml", { set: [set] });
    } catch (err) {
      return (err as Error).message.split("\n");
    }
    throw new Error(`expected --set ${set} to be rejected`);
  }
  it("a negative learning rate is a number out of range, not also a list or an input binding", async () => {
    expect(await loadShipped("train.lr=-1")).toEqual(['--set train.lr=-1: stage "train", key "lr": expected a number >= 0']);
  });
  it("a mask corner that does not exist is reported as such, not as a rectangle missing keys", async () => {
    const out = await loadShipped("mask.regions=[{corner: middle, size: 3}]");
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/key "regions\.0\.corner": expected one of "top-left"/);
  });
  it("an error inside a list that a --set flag gave is the flag's", async () => {
    expect(await loadShipped("train.lr=[0.1,-2]")).toEqual(['--set train.lr=[0.1,-2]: stage "train", key "lr.1": expected a number >= 0']);
    expect((await loadShipped("explain.methods=[deep_taylr]"))[0]).toMatch(/^--set explain\.methods=\[deep_taylr\]: stage "explain", key "methods\.0": expected one of "deep_taylor"/);
  });
  it("a value of no branch's type names the types", async () => {
    expect(await loadShipped("train.lr=abc")).toEqual(['--set train.lr=abc: stage "train", key "lr": expected number or array']);
  });
});
