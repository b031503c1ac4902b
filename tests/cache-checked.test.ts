import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sealJson, unsealJson } from "../dist/cache/sealed.js";
import { verifyStore } from "../dist/cache/verify.js";
import { Store } from "../dist/cache/store.js";
import { sha256 } from "../dist/engine/hash.js";
import { dag, run, workspace } from "./helpers/workspace.js";

// 2, 3, 4 squared: 4, 9, 16 (sum 29); each number's meta holds its value.
const CHAIN = `stages:
  numbers: { params: { count: 3, base: 2 } }
  square:
    inputs: { values: numbers.values }
  total:
    inputs: { values: square.squares }
`;

/** Every file under a folder, by relative path, with its bytes (hex): two trees compare equal only byte for byte. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path).toString("hex");
    }
  };
  walk(root);
  return out;
}

/** Every file under a folder, paths only. */
const files = (root: string): string[] => Object.keys(tree(root)).map((p) => join(root, p));

/** Flip one bit of a file in place (blobs are read-only: made writable first, as a disk or a tool ignores that). */
function flipBit(path: string, byte: number, bit: number): void {
  const bytes = readFileSync(path);
  bytes[byte] = bytes[byte]! ^ (1 << bit);
  chmodSync(path, 0o644);
  writeFileSync(path, bytes);
}

/** The one task record of `stage` whose text holds `text`. */
function recordWith(dir: string, stage: string, text: string): string {
  const found = files(join(dir, ".dag", "tasks")).filter((p) => {
    const content = readFileSync(p, "utf8");
    return JSON.parse(content).stage === stage && content.includes(text);
  });
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** A finished run of the chain, and the results/ a clean run publishes (to compare with). */
function finished(): { dir: string; reference: Record<string, string> } {
  const dir = workspace(CHAIN);
  expect(dag(dir, "run").code).toBe(0);
  return { dir, reference: tree(join(dir, "results")) };
}

describe("sealed JSON (task records, stage indexes)", () => {
  it("keeps every field of an object, whatever its fields; every single-bit flip of the file is refused", () => {
    // A record with fields of today and of later (a route, warnings): the checksum covers them all.
    const record = { key: "ab".repeat(32), stage: "square", outputs: { squares: { type: "collection", items: [{ id: "n0", files: { square: { hash: sha256("4"), size: 1 } }, meta: { é: "ü\u0000", n: -0.5 } }] } }, route: { backend: "wasm", threads: 2 }, warnings: ["no bout"] };
    for (const value of [record, {}, { checksum: "mine" }]) expect(unsealJson(sealJson(value))).toEqual(value);
    const sealed = Buffer.from(sealJson(record));
    for (let byte = 0; byte < sealed.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(sealed);
        flipped[byte] = flipped[byte]! ^ (1 << bit);
        expect(unsealJson(flipped.toString("utf8")), `byte ${byte} bit ${bit}`).toBeUndefined();
      }
    }
    expect(unsealJson(JSON.stringify(record))).toBeUndefined(); // unsealed (an older dag's, or edited): not trusted
  });
});

describe("records, indexes and published files are checked, never trusted as they are (issue 29 item 2)", () => {
  it("a flipped bit in a stage index's meta (value 3 -> 2, as label 0 -> 1): verify names the index; the run uses the records and publishes the right meta", () => {
    const { dir, reference } = finished();
    const index = join(dir, ".dag", "stages", "numbers.json");
    flipBit(index, readFileSync(index, "utf8").indexOf('"value":3') + 8, 0);
    expect(readFileSync(index, "utf8")).toContain('"value":2');
    const found = dag(dir, "verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/corrupt stage-index numbers \(.*\): its checksum does not match its content/);
    rmSync(join(dir, "results"), { recursive: true });
    const rerun = dag(dir, "run");
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/Nothing to do/); // nothing reran: every record was whole
    expect(tree(join(dir, "results"))).toEqual(reference);
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/); // the index was written anew from the records
  });

  it("another item's file hash (same size) in a stage index, or in a task record with the index gone: a miss, never that item's file; verify names each", async () => {
    const { dir, reference } = finished();
    const [four, nine] = [sha256("4"), sha256("9")];
    const index = join(dir, ".dag", "stages", "square.json");
    const pristine = readFileSync(index, "utf8");
    writeFileSync(index, pristine.replace(four, nine));
    expect(dag(dir, "verify").stdout).toMatch(/corrupt stage-index square \(.*\): its checksum does not match its content/);
    rmSync(join(dir, "results"), { recursive: true });
    expect(dag(dir, "run").code).toBe(0);
    expect(readFileSync(join(dir, "results/square/squares/n0/square.txt"), "utf8")).toBe("4");
    expect(tree(join(dir, "results"))).toEqual(reference);

    // The record that made "4" (another reads the number 4: the same hash in its list of reads).
    const record = recordWith(dir, "square", `"hash":"${four}"`);
    writeFileSync(record, readFileSync(record, "utf8").replace(`"hash":"${four}"`, `"hash":"${nine}"`));
    rmSync(index);
    const found = dag(dir, "verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/corrupt record [0-9a-f]{12} \(.*\): its checksum does not match its content/);
    rmSync(join(dir, "results"), { recursive: true });
    const rerun = dag(dir, "run");
    expect(rerun.stderr).toMatch(/done: 1 ran, 6 cached/);
    expect(tree(join(dir, "results"))).toEqual(reference);

    // An index that is whole (sealed) but says other outputs than a record: verify compares them.
    const store = new Store(join(dir, ".dag"));
    const entries = store.readStageIndex("square").entries;
    const [key] = [...entries].find(([, outputs]) => JSON.stringify(outputs).includes(four))!;
    entries.set(key, JSON.parse(JSON.stringify(entries.get(key)).replace(four, nine)));
    store.writeStageIndex("square", entries);
    const report = await verifyStore(store);
    expect(report.corrupt).toEqual([expect.objectContaining({ type: "stage-index", id: "square", reason: `1 entry disagrees with the task records: task ${key.slice(0, 12)} has other outputs in its record` })]);
  });

  it("a blob with one flipped byte (same size) is never published when its stage is republished; after verify --repair and a run, results/ equals the cache", () => {
    const { dir, reference } = finished();
    const blob = join(dir, ".dag", "blobs", sha256("16").slice(0, 2), sha256("16"));
    flipBit(blob, 1, 0); // "16" -> "17"
    rmSync(join(dir, "results/square/squares/n0/square.txt")); // the stage is published again
    const refused = dag(dir, "run");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^dag: cannot publish \S*results\/square\/squares\/n2\/square\.txt: its cached copy \S*\.dag\/blobs\/\S+ is damaged .* Run dag verify --repair/m);
    expect(existsSync(join(dir, "results/square/squares/n2/square.txt"))).toBe(false);
    expect(dag(dir, "run").code).toBe(1); // the same answer until the cache is repaired
    const repaired = dag(dir, "verify", "--repair");
    expect(repaired.stdout).toMatch(/removed 1 files, 2 task records/); // the blob, square[n2] and total, which read it
    const rerun = dag(dir, "run");
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/done: 2 ran, 5 cached/);
    expect(tree(join(dir, "results"))).toEqual(reference);
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
  });

  it("random single-bit flips anywhere in .dag/, then rm -rf results and a run: never a wrong published result with a successful run", { timeout: 300_000 }, async () => {
    const { dir: pristine, reference } = finished();
    // The kinds of file in .dag/ alike often (a blob, a task record, a stage index, the rest), each flip at a random bit.
    const byKind = new Map<string, string[]>();
    for (const path of files(join(pristine, ".dag"))) {
      const kind = ["blobs", "tasks", "stages"].find((k) => relative(join(pristine, ".dag"), path).startsWith(k)) ?? "other";
      byKind.set(kind, [...(byKind.get(kind) ?? []), relative(pristine, path)]);
    }
    expect([...byKind.keys()].sort()).toEqual(["blobs", "other", "stages", "tasks"]);
    // mulberry32, seeded: the same flips on every machine.
    let seed = 29;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    const outcomes = { published: 0, refused: 0 };
    const kinds = [...byKind.keys()];
    for (let flip = 0; flip < 24; flip++) {
      const candidates = byKind.get(kinds[flip % kinds.length]!)!;
      const file = candidates[random(candidates.length)]!;
      const dir = workspace(CHAIN);
      cpSync(join(pristine, ".dag"), join(dir, ".dag"), { recursive: true });
      const size = statSync(join(dir, file)).size;
      if (!size) continue;
      const [byte, bit] = [random(size), random(8)];
      const at = `${file} byte ${byte} bit ${bit}`;
      flipBit(join(dir, file), byte, bit);
      const ok = await run(dir, { jobs: 1 }).then((r) => r.ok, () => false);
      if (ok) {
        expect(tree(join(dir, "results")), at).toEqual(reference);
        outcomes.published++;
      } else {
        // Refused (a damaged blob): repaired, the next run publishes what a clean run does.
        outcomes.refused++;
        expect(file, at).toMatch(/^\.dag\/blobs\//);
        await verifyStore(new Store(join(dir, ".dag")), true);
        expect((await run(dir, { jobs: 1 })).ok, at).toBe(true);
        expect(tree(join(dir, "results")), at).toEqual(reference);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    // Every flip in a blob (6 of 24) was refused, every other one published the right files.
    expect(outcomes).toEqual({ published: 18, refused: 6 });
  });
});
