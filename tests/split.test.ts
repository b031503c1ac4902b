import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactOut, ItemIn } from "../engine/stage-api.js";
import { assignRecordings, type Fractions, type RecordingInfo } from "../stages/split/assign.js";
import split, { type SplitParams } from "../stages/split/index.js";
import { readSplits, recordingOf } from "../lib/splits.js";
import { examplesBySplit } from "../lib/model/splits.js";
import { lcg, stageContext } from "./helpers/video-stage.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "split-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PAPER: Fractions = { train: 0.77, validation: 0.13, test: 0.1 };

/** `spon` + `prey` recordings with 1..6 events each, as extract's event items. */
function events(spon: number, prey: number, seed = 5): ItemIn[] {
  const rand = lcg(seed);
  const items: ItemIn[] = [];
  for (const [label, n] of [[0, spon], [1, prey]] as const) {
    for (let r = 0; r < n; r++) {
      const recording = `data/${label ? "prey" : "spon"}/fish${r}.h5`;
      const count = 1 + Math.floor(rand() * 6);
      for (let e = 0; e < count; e++) items.push({ id: `${recording}/ev0${e}`, files: {}, meta: { recording, label, class: label ? "prey" : "spontaneous" } });
    }
  }
  return items;
}

interface SplitsFile {
  recordings: Record<string, string>;
  counts: Record<string, { recordings: number; events: number; spontaneous: { recordings: number; events: number }; prey: { recordings: number; events: number } }>;
}

async function runSplitFile(items: ItemIn[], seed = 1, params: Partial<SplitParams> = {}): Promise<string> {
  const ctx = stageContext(dir, undefined, seed);
  const out = (await split.run(ctx, { fractions: PAPER, balance: "events", ...params }, { events: { items } })).splits as ArtifactOut;
  return join(ctx.outDir, out.files!["splits"]!);
}

async function runSplit(items: ItemIn[], seed = 1, params: Partial<SplitParams> = {}): Promise<SplitsFile> {
  return JSON.parse(readFileSync(await runSplitFile(items, seed, params), "utf8")) as SplitsFile;
}

describe("split", () => {
  it("puts every recording in exactly one split, with all of its events, and fills every split with both classes", async () => {
    const items = events(20, 15);
    const s = await runSplit(items);
    const recordings = new Set(items.map((i) => i.meta["recording"] as string));
    expect(Object.keys(s.recordings).sort()).toEqual([...recordings].sort());
    for (const side of Object.values(s.recordings)) expect(["train", "validation", "test"]).toContain(side);
    for (const name of ["train", "validation", "test"]) {
      expect(s.counts[name]!.spontaneous.recordings, name).toBeGreaterThan(0);
      expect(s.counts[name]!.prey.recordings, name).toBeGreaterThan(0);
    }
    expect(Object.values(s.counts).reduce((a, c) => a + c.events, 0)).toBe(items.length);
  });

  it("is stratified: each class's events come close to the fractions", async () => {
    const items = events(40, 30);
    const s = await runSplit(items);
    for (const cls of ["spontaneous", "prey"] as const) {
      const total = Object.values(s.counts).reduce((a, c) => a + c[cls].events, 0);
      for (const [name, f] of Object.entries(PAPER)) {
        // Whole recordings of up to 6 events: within 6 events of the target.
        expect(Math.abs(s.counts[name]![cls].events - f * total), `${cls} ${name}`).toBeLessThanOrEqual(6);
      }
    }
  });

  it("is deterministic from the seed, and another seed gives another assignment", async () => {
    const items = events(20, 15);
    expect(await runSplit(items, 7)).toEqual(await runSplit(items, 7));
    expect((await runSplit(items, 7)).recordings).not.toEqual((await runSplit(items, 8)).recordings);
    // The order of the items does not matter.
    expect((await runSplit(items.slice().reverse(), 7)).recordings).toEqual((await runSplit(items, 7)).recordings);
  });

  it("keeps every split with a fraction above 0 filled for the smallest possible classes (many seeds)", () => {
    const recs: RecordingInfo[] = [0, 1, 2, 3, 4, 5].map((i) => ({ id: `r${i}`, label: (i % 2) as 0 | 1, events: 1 + (i % 4) }));
    for (let seed = 0; seed < 200; seed++) {
      const a = assignRecordings(recs, PAPER, seed, "events");
      for (const label of [0, 1]) {
        const sides = new Set(recs.filter((r) => r.label === label).map((r) => a.get(r.id)));
        expect(sides.size, `seed ${seed}`).toBe(3);
      }
    }
    const two = assignRecordings(recs.slice(0, 4), { train: 0.8, validation: 0, test: 0.2 }, 3, "recordings");
    expect([...two.values()].filter((s) => s === "validation")).toEqual([]);
  });

  it("says when a class has too few recordings to fill every split, and when recordings have no label", async () => {
    await expect(runSplit(events(5, 2))).rejects.toThrow(/split: class prey has 2 recordings \(data\/prey\/fish0\.h5, data\/prey\/fish1\.h5\), too few to put one in each of the 3 splits with a fraction above 0 \(train, validation, test\): add recordings of that class, or set a split's fraction to 0/);
    const unlabelled = events(4, 4).map((i) => (i.meta["recording"] === "data/spon/fish2.h5" ? { ...i, meta: { recording: "data/spon/fish2.h5" } } : i));
    await expect(runSplit(unlabelled)).rejects.toThrow(/split needs each recording's class, and 1 of 8 recordings have none \(data\/spon\/fish2\.h5\): label them in the read stage/);
  });

  it("logs, per split, recordings and events with each class's count, so a lopsided test split shows", async () => {
    // 6 spontaneous recordings of 5 events, 3 prey recordings of 1: whatever the assignment, each
    // split's class counts differ, and the line must show them as splits.json counts them.
    const items: ItemIn[] = [];
    for (let r = 0; r < 6; r++) for (let e = 0; e < 5; e++) items.push({ id: `spon${r}/ev${e}`, files: {}, meta: { recording: `spon${r}`, label: 0 } });
    for (let r = 0; r < 3; r++) items.push({ id: `prey${r}/ev0`, files: {}, meta: { recording: `prey${r}`, label: 1 } });
    const ctx = stageContext(dir, undefined, 3);
    const out = (await split.run(ctx, { fractions: PAPER, balance: "events" }, { events: { items } })).splits as ArtifactOut;
    const { counts } = JSON.parse(readFileSync(join(ctx.outDir, out.files!["splits"]!), "utf8")) as SplitsFile;
    const expected = (["train", "validation", "test"] as const)
      .map((s) => {
        const c = counts[s]!;
        return `${s} ${c.recordings} recordings (spontaneous ${c.spontaneous.recordings}, prey ${c.prey.recordings}), ${c.events} events (spontaneous ${c.spontaneous.events}, prey ${c.prey.events})`;
      })
      .join(" · ");
    expect(ctx.logs).toEqual([expected]);
    // Every split holds one prey recording of 1 event against spontaneous ones of 5 each.
    expect(ctx.logs[0]).toMatch(/^train \d+ recordings \(spontaneous \d+, prey 1\), \d+ events \(spontaneous \d+, prey 1\) · validation /);
    expect(ctx.logs[0]).toMatch(/· test \d+ recordings \(spontaneous \d+, prey 1\), \d+ events \(spontaneous (5|10|15|20), prey 1\)$/);
  });

  it("finds an item's recording by one rule (lib/splits.ts recordingOf) in split and in the stages that read its file", async () => {
    expect(recordingOf({ id: "data/prey/fish1.h5/ev00/s0", meta: { recording: "data/prey/fish1.h5" } })).toBe("data/prey/fish1.h5");
    // Without the meta (or with an empty one), the item is its own recording: not its id's first segment, not all but its last.
    expect(recordingOf({ id: "data/prey/fish1.h5", meta: {} })).toBe("data/prey/fish1.h5");
    expect(recordingOf({ id: "rec3/ev01", meta: { recording: "" } })).toBe("rec3/ev01");
    // Items named by path, carrying no recording meta: split's keys are what train, evaluate and explain look up.
    const items: ItemIn[] = [];
    for (let r = 0; r < 8; r++) items.push({ id: `data/${r % 2 ? "prey" : "spon"}/fish${r}.h5`, files: { sample: `/x/${r}.h5` }, meta: { label: r % 2 } });
    const sets = examplesBySplit(items, readSplits(await runSplitFile(items)));
    expect(Object.values(sets).flat().map((e) => e.recording).sort()).toEqual(items.map((i) => i.id).sort());
  });

  it("writes what the one splits reader (lib/splits.ts) reads back, and that reader names the file and the bad entry", async () => {
    const path = await runSplitFile(events(8, 6));
    const written = (JSON.parse(readFileSync(path, "utf8")) as SplitsFile).recordings;
    expect(Object.fromEntries(readSplits(path))).toEqual(written);
    const bad = join(dir, "bad-splits.json");
    writeFileSync(bad, JSON.stringify({ recordings: { "data/spon/fish0.h5": "holdout" } }));
    expect(() => readSplits(bad)).toThrow(`${bad}: recording data/spon/fish0.h5 is in split "holdout"; splits are train, validation, test`);
    writeFileSync(bad, JSON.stringify({ recordings: ["data/spon/fish0.h5"] }));
    expect(() => readSplits(bad)).toThrow(`${bad} has no "recordings" object`);
    writeFileSync(bad, "{ not json");
    expect(() => readSplits(bad)).toThrow(`cannot read the splits file ${bad}`);
  });
});
