import { readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Store } from "../dist/cache/store.js";
import { chainPipeline, GLOB_SUM, run, workspace, writePipeline } from "./helpers/workspace.js";

const CHAIN = chainPipeline({ seed: 1, count: 4, base: 8, max: 100 });

const read = (dir: string, path: string): string => readFileSync(join(dir, "results", path), "utf8");

describe("incremental runs", () => {
  it("computes real results, and a second run runs nothing", async () => {
    const dir = workspace(CHAIN);
    const first = await run(dir);
    expect(first.ok).toBe(true);
    expect(first.ran).toHaveLength(4 * 4 + 1);
    // 8..11 squared = 64, 81, 100, 121: digits 6+4+8+1+1+0+0+1+2+1 = 24
    expect(read(dir, "total/sum/sum.txt")).toBe("24");
    const second = await run(dir);
    expect(second.ok).toBe(true);
    expect(second.ran).toEqual([]);
    expect(second.cached).toBe(17);
  });

  it("changing one param reruns exactly that stage and its dependants", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    const again = await run(dir, { set: ["square.offset=1"] });
    expect(again.ran).toEqual([
      "digits[n0]", "digits[n1]", "digits[n2]", "digits[n3]",
      "square[n0]", "square[n1]", "square[n2]", "square[n3]", "total",
    ]);
    expect(read(dir, "total/sum/sum.txt")).toBe(String(11 + 10 + 2 + 5)); // 65, 82, 101, 122
  });

  it("an execution param (how, not what) is left out of the key: changing it reruns nothing", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    const again = await run(dir, { set: ["square.threads=4"] });
    expect(again.ran).toEqual([]);
    expect(again.cached).toBe(17);
    // ...while a param beside it in the same stage still counts.
    const offset = await run(dir, { set: ["square.threads=4", "square.offset=1"] });
    expect(offset.ran).toContain("square[n0]");
  });

  it("early cutoff: an upstream change that leaves its outputs identical does not rerun dependants", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    const again = await run(dir, { set: ["clamp.max=1000"] });
    expect(again.ran).toEqual(["clamp[n0]", "clamp[n1]", "clamp[n2]", "clamp[n3]"]);
    const lower = await run(dir, { set: ["clamp.max=10"] });
    // 8 and 9 stay below 10; only n2 (10 -> 10) and n3 (11 -> 10)... n2 is unchanged too.
    expect(lower.ran).toEqual(["clamp[n0]", "clamp[n1]", "clamp[n2]", "clamp[n3]", "digits[n3]", "square[n3]", "total"]);
  });

  it("adding one item runs that item only (and the stages that need the whole collection)", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    const more = await run(dir, { set: ["numbers.count=5"] });
    expect(more.ran).toEqual(["clamp[n4]", "digits[n4]", "numbers[n4]", "square[n4]", "total"]);
    const manifest = JSON.parse(read(dir, "digits/digits/manifest.json")) as { items: { id: string }[] };
    expect(manifest.items.map((i) => i.id)).toContain("n4/d2"); // 12^2 = 144
  });

  it("adding one file to a glob input runs that file's task only", async () => {
    const dir = workspace(GLOB_SUM);
    const data = join(dir, "data");
    rmSync(data, { recursive: true, force: true });
    (await import("node:fs")).mkdirSync(data);
    writeFileSync(join(data, "a.txt"), "abc");
    writeFileSync(join(data, "b.txt"), "hello");
    expect((await run(dir)).ran).toEqual(["readfile[data/a.txt]", "readfile[data/b.txt]", "total"]);
    writeFileSync(join(data, "c.txt"), "xy");
    expect((await run(dir)).ran).toEqual(["readfile[data/c.txt]", "total"]);
    expect(read(dir, "total/sum/sum.txt")).toBe("10");
    writeFileSync(join(data, "a.txt"), "abcd"); // same size class of change: content, not time, decides
    expect((await run(dir)).ran).toEqual(["readfile[data/a.txt]", "total"]);
  });

  it("inputs are known by path: two input files with equal bytes are each read from their own folder", async () => {
    // Two frame folders, each with an empty frames.txt (the README's "every image"): equal bytes.
    const dir = workspace(`stages:
  siblings:
    inputs: { files: { glob: "*/frames.txt" } }
`);
    const { mkdirSync } = await import("node:fs");
    for (const [folder, frames] of [["a", 3], ["b", 1]] as const) {
      mkdirSync(join(dir, folder));
      writeFileSync(join(dir, folder, "frames.txt"), "");
      for (let i = 0; i < frames; i++) writeFileSync(join(dir, folder, `f${i}.png`), `frame ${folder}${i}`);
    }
    expect((await run(dir)).ok).toBe(true);
    const manifest = JSON.parse(read(dir, "siblings/counts/manifest.json")) as { items: { id: string; files: { value: string } }[] };
    const counts = Object.fromEntries(manifest.items.map((i) => [i.id, readFileSync(join(dir, "results/siblings/counts", i.files.value), "utf8")]));
    expect(counts).toEqual({ "a/frames.txt": "4", "b/frames.txt": "2" });
  });

  it("a cached result whose file was deleted is rebuilt instead of failing", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    const store = new Store(join(dir, ".dag"));
    const manifest = JSON.parse(read(dir, "square/squares/manifest.json")) as { items: { id: string }[] };
    expect(manifest.items).toHaveLength(4);
    const blobs = readdirSync(store.blobDir).flatMap((d) => readdirSync(join(store.blobDir, d)).map((f) => join(store.blobDir, d, f)));
    const sumBlob = blobs.find((b) => readFileSync(b, "utf8") === "24")!;
    unlinkSync(sumBlob);
    const again = await run(dir);
    expect(again.ok).toBe(true);
    expect(again.ran).toEqual(["total"]);
    expect(existsSync(sumBlob)).toBe(true);
  });

  it("collections keep their order whatever finished first", async () => {
    const one = workspace(CHAIN);
    const two = workspace(CHAIN);
    await run(one, { jobs: 1 });
    await run(two, { jobs: 2 });
    expect(read(one, "digits/digits/manifest.json")).toBe(read(two, "digits/digits/manifest.json"));
  });

  it("a target runs with what it needs, and nothing else", async () => {
    const dir = workspace(CHAIN);
    const out = await run(dir, { targets: ["clamp"] });
    expect(out.ran).toEqual(["clamp[n0]", "clamp[n1]", "clamp[n2]", "clamp[n3]", "numbers[n0]", "numbers[n1]", "numbers[n2]", "numbers[n3]"]);
  });

  it("--force reruns a stage, and early cutoff spares its dependants", async () => {
    const dir = workspace(CHAIN);
    await run(dir);
    expect((await run(dir, { force: ["square"] })).ran).toEqual(["square[n0]", "square[n1]", "square[n2]", "square[n3]"]);
  });

  it("a dry run runs and writes nothing", async () => {
    const dir = workspace(CHAIN);
    const out = await run(dir, { dryRun: true });
    expect(out.ran).toEqual([]);
    expect(out.events.filter((e) => e.type === "task-would-run")).toHaveLength(4);
    expect(existsSync(join(dir, ".dag"))).toBe(false);
    // The summary counts what would run and names the stages it cannot list yet (not "nothing to do").
    const done = out.events.find((e) => e.type === "run-done");
    expect(done && done.type === "run-done" && done.dryRun).toEqual({ wouldRun: 4, unknownStages: ["clamp", "square", "digits", "total"] });
  });
});

describe("failures", () => {
  it("a failing task stops its dependants, the run fails, and the failure names the item", async () => {
    const dir = workspace(CHAIN);
    const out = await run(dir, { set: ["square.fail_on=9"], jobs: 1 });
    expect(out.ok).toBe(false);
    expect(out.failed).toEqual(["square[n1]"]);
    const failure = out.events.find((e) => e.type === "task-failed");
    expect(failure && "error" in failure && failure.error).toContain("refusing to square 9");
    expect(out.ran).not.toContain("total");
    expect(existsSync(join(dir, "results/total"))).toBe(false);
  });

  it("a stage the failure does not block, left unrun, says the run stopped and how to run it anyway", async () => {
    const dir = workspace(`${CHAIN}  side:\n    kind: digits\n    inputs: { values: numbers.values }\n`);
    const out = await run(dir, { set: ["square.fail_on=8"], jobs: 1 });
    const blocked = new Map(out.events.flatMap((e) => (e.type === "stage-blocked" ? [[e.stage, e.reason]] : [])));
    expect(blocked.get("total")).toBe('upstream stage "square" failed');
    expect(blocked.get("side")).toMatch(/run stopped at the first failure \(--keep-going runs/);
  });

  it("--keep-going finishes every item that does not depend on the failure", async () => {
    const dir = workspace(CHAIN);
    const out = await run(dir, { set: ["square.fail_on=9"], keepGoing: true });
    expect(out.failed).toEqual(["square[n1]"]);
    expect(out.ran).toEqual(expect.arrayContaining(["digits[n0]", "digits[n2]", "digits[n3]"]));
    expect(out.ran).not.toContain("digits[n1]");
    expect(out.ran).not.toContain("total");
    // Once fixed, square reruns (its params changed) but early cutoff spares the digits already done.
    const fixed = await run(dir);
    expect(fixed.ran).toEqual(["digits[n1]", "square[n0]", "square[n1]", "square[n2]", "square[n3]", "total"]);
  });
});

describe("a task's scratch folder", () => {
  it("survives a failed attempt, is found by the next one, and is removed when the task succeeds", async () => {
    const dir = workspace("stages:\n  resumable: {}\n");
    const first = await run(dir);
    expect(first.failed).toEqual(["resumable"]);
    const scratch = join(dir, ".dag", "scratch");
    expect(readdirSync(scratch)).toHaveLength(1);
    const second = await run(dir);
    expect(second.ran).toEqual(["resumable"]);
    expect(read(dir, "resumable/result/attempts.txt")).toBe("2");
    expect(readdirSync(scratch)).toEqual([]);
    // The attempt is measured beside the result, not in it.
    const record = new Store(join(dir, ".dag")).listRuns().at(-1)!;
    expect(record.stages["resumable"]!.tasks[""]!.measurements).toEqual({ attempt: 2 });
  });

  it("gc removes scratch folders left by failed attempts", async () => {
    const dir = workspace("stages:\n  resumable: {}\n");
    await run(dir);
    const store = new Store(join(dir, ".dag"));
    store.gc(store.listRuns());
    expect(existsSync(store.scratchRoot)).toBe(false);
  });
});

describe("results and housekeeping", () => {
  it("gc keeps what the kept runs use and removes the rest", async () => {
    const dir = workspace(CHAIN);
    await run(dir, { set: ["square.offset=5"] });
    await run(dir);
    const store = new Store(join(dir, ".dag"));
    const runs = store.listRuns();
    expect(runs).toHaveLength(2);
    const removed = store.gc([runs[1]!]);
    expect(removed.tasks).toBe(4 + 4 + 1); // square, digits, total of the first run
    expect((await run(dir)).ran).toEqual([]);
    expect((await run(dir, { set: ["square.offset=5"] })).ran).toHaveLength(9);
  });
});

describe("publishing results", () => {
  it("items named after files outside the pipeline's folder stay inside results/, under a readable name", async () => {
    const dir = workspace("stages: {}\n");
    const outside = `outside-${dir.split("/").pop()}.txt`;
    writeFileSync(join(dir, "..", outside), "abc");
    writePipeline(dir, `stages:\n  readfile:\n    inputs: { files: { glob: "../${outside}" } }\n`);
    expect((await run(dir)).ok).toBe(true);
    const manifest = JSON.parse(read(dir, "readfile/values/manifest.json")) as { items: { id: string; files: { value: string } }[] };
    expect(manifest.items[0]!.id).toMatch(/^\.\.\/outside-/);
    expect(manifest.items[0]!.files.value).toBe(`${outside}/value.txt`);
    expect(readFileSync(join(dir, "results/readfile/values", manifest.items[0]!.files.value), "utf8")).toBe("3");
  });
});
