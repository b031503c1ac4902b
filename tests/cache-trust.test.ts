import { chmodSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256 } from "../dist/engine/hash.js";
import { dag, FIXTURE_STAGES, workspace } from "./helpers/workspace.js";

// 2, 3, 4 squared: 4, 9, 16 (sum 29); total reads the squares.
const CHAIN = `stages:
  numbers: { params: { count: 3, base: 2 } }
  square:
    inputs: { values: numbers.values }
  total:
    inputs: { values: square.squares }
`;

const sum = (dir: string): string => readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8");

/** The path of the one blob in the cache whose bytes are `content`. */
function blobWith(dir: string, content: string): string {
  const root = join(dir, ".dag", "blobs");
  const found = readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f))).filter((p) => readFileSync(p, "utf8") === content);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Damage a read-only blob as a disk, a tool or a person could. */
function overwrite(path: string, content: string): void {
  chmodSync(path, 0o644);
  writeFileSync(path, content);
}

describe("the cache never trusts its files", () => {
  it("verify finds a flipped byte; --repair evicts it and what read it; the next run restores the right result", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    expect(dag(dir, "verify").stdout).toMatch(/checked \d+ files and 7 task records: 0 corrupt/);
    const blob = blobWith(dir, "16");
    overwrite(blob, "61"); // same size: only re-hashing can tell
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/); // a no-op run only stats (see README)
    const found = dag(dir, "verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/corrupt blob [0-9a-f]{12} \(.*blobs.*\): its bytes do not hash to its name/);
    expect(found.stdout).toMatch(/corrupt record [0-9a-f]{12} .*: its file "square" \([0-9a-f]{12}\) is corrupt/);
    expect(found.stdout).toMatch(/run dag verify --repair/);
    const repaired = dag(dir, "verify", "--repair");
    expect(repaired.code).toBe(0);
    // The blob, square[n2]'s record, and total's record (it read the bad blob).
    expect(repaired.stdout).toMatch(/removed 1 files, 2 task records/);
    const rerun = dag(dir, "run");
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/done: 2 ran, 5 cached/);
    expect(sum(dir)).toBe("29");
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
  });

  it("verify finds a task record whose content no longer matches its key", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    const tasks = join(dir, ".dag", "tasks");
    const records = readdirSync(tasks).flatMap((d) => readdirSync(join(tasks, d)).map((f) => join(tasks, d, f)));
    const square = records.find((p) => JSON.parse(readFileSync(p, "utf8")).stage === "square")!;
    const record = JSON.parse(readFileSync(square, "utf8"));
    writeFileSync(square, JSON.stringify({ ...record, params: { ...record.params, offset: 7 } }));
    const r = dag(dir, "verify");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/corrupt record [0-9a-f]{12} .*: its key is not the hash of what it records/);
  });

  it("a record or stage index with outputs of the wrong shape or names is a miss, not a crash: the task runs again; verify names it", () => {
    // Well-formed, but not the outputs total declares (verify knows no kinds; the run does).
    const foreign: unknown[] = [{}, { bogus: { type: "artifact", files: {}, meta: {} } }];
    const malformed: unknown[] = [
      { sum: { type: "artifact" } },
      { sum: { type: "artifact", files: { sum: { hash: "../../etc/passwd", size: 2 } }, meta: {} } },
      { sum: { type: "collection", items: "no" } },
      { sum: null },
      [1, 2],
    ];
    for (const outputs of [...foreign, ...malformed]) {
      const dir = workspace(CHAIN);
      expect(dag(dir, "run").code).toBe(0);
      const tasks = join(dir, ".dag", "tasks");
      const records = readdirSync(tasks).flatMap((d) => readdirSync(join(tasks, d)).map((f) => join(tasks, d, f)));
      const total = records.find((p) => JSON.parse(readFileSync(p, "utf8")).stage === "total")!;
      writeFileSync(total, JSON.stringify({ ...JSON.parse(readFileSync(total, "utf8")), outputs }));
      // The stage index copies the record's outputs: tampered alike.
      const index = join(dir, ".dag", "stages", "total.json");
      const entries = JSON.parse(readFileSync(index, "utf8")) as Record<string, unknown>;
      writeFileSync(index, JSON.stringify(Object.fromEntries(Object.keys(entries).map((k) => [k, outputs]))));
      if (malformed.includes(outputs)) {
        const found = dag(dir, "verify");
        expect(found.code, JSON.stringify(outputs)).toBe(1);
        expect(found.stdout).toMatch(/corrupt record [0-9a-f]{12} .*: malformed: its outputs are not the shape a task writes/);
      }
      const rerun = dag(dir, "run");
      expect(rerun.code, `${JSON.stringify(outputs)}: ${rerun.stderr}`).toBe(0);
      expect(rerun.stderr).toMatch(/done: 1 ran, 6 cached/);
      expect(sum(dir)).toBe("29");
      expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
    }
  });

  it("a run record that is not one dag wrote is skipped by runs, status and gc, named by verify and removed by --repair", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run", "--name", "first").code).toBe(0);
    expect(dag(dir, "run", "--set", "numbers.base=3").code).toBe(0);
    const runs = join(dir, ".dag", "runs");
    const [first] = readdirSync(runs).sort();
    for (const junk of ["{}", '{"stages":5}', "[1]", '{"id":"x","pipeline":"p","startedAt":"","finishedAt":"","ok":true,"targets":[],"stages":{"total":{"kind":"total","tasks":{"":null},"outputs":{}}}}', "{not json"]) {
      writeFileSync(join(runs, first!), junk);
      for (const command of [["runs"], ["status"], ["show", "first"], ["gc", "--keep-last", "5"]]) {
        const r = dag(dir, ...command);
        expect(r.stderr, `${command.join(" ")} over ${junk}`).not.toMatch(/internal error/);
      }
      const found = dag(dir, "verify");
      expect(found.code).toBe(1);
      expect(found.stdout).toContain(`corrupt run ${first} (`);
    }
    expect(dag(dir, "verify", "--repair").stdout).toMatch(/and 1 run records/);
    expect(readdirSync(runs)).not.toContain(first);
    expect(dag(dir, "verify").code).toBe(0);
  });

  it("the engine's own stat caches, code manifests and lock, edited or damaged, are a miss or taken over, never a crash", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    const dotDag = join(dir, ".dag");
    const code = readdirSync(join(dotDag, "code")).map((f) => join("code", f));
    const junk = ["null", "[1]", "garbage", '{"x":5}', JSON.stringify(Object.fromEntries([[join(FIXTURE_STAGES, "total/index.js"), { size: 1, local: 5 }]]))];
    for (const file of ["file-hashes.json", "code-stat.json", "lock", ...code]) {
      for (const content of junk) {
        writeFileSync(join(dotDag, file), content);
        // As a lock left long ago by no one: old enough not to be half-written.
        utimesSync(join(dotDag, file), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
        for (const command of [["status"], ["run"]]) {
          const r = dag(dir, ...command);
          expect(r.stderr, `${command[0]} with ${file} = ${content}`).not.toMatch(/internal error/);
          expect(r.code, `${command[0]} with ${file} = ${content}: ${r.stderr}`).toBe(0);
        }
        expect(sum(dir)).toBe("29");
      }
    }
  });

  it("--force warns when a rerun makes other outputs under the same key (here: it read a damaged file)", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    overwrite(blobWith(dir, "16"), "61");
    const r = dag(dir, "run", "--force", "total");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/total made other outputs than its cached result under the same key: its inputs may be damaged \(run dag verify\)/);
  });

  it("run --rehash trusts no cached byte: a damaged file and what read it run again", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    const blob = blobWith(dir, "16");
    overwrite(blob, "61");
    const r = dag(dir, "run", "--rehash");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/done: 2 ran, 5 cached/); // square[n2], and total, which read its damaged file
    expect(readFileSync(blob, "utf8")).toBe("16");
    expect(sum(dir)).toBe("29");
    expect(dag(dir, "verify").code).toBe(0);
  });

  it("a blob whose size differs from its record is a miss: the task that made it runs again", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    const blob = blobWith(dir, "16");
    overwrite(blob, "1");
    const again = dag(dir, "run");
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/done: 1 ran, 6 cached/);
    expect(readFileSync(blob, "utf8")).toBe("16");
    expect(statSync(blob).mode & 0o222).toBe(0); // read-only again
  });

  it("--force replaces a blob whose content does not match its name", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    const blob = blobWith(dir, "16");
    overwrite(blob, "61");
    expect(dag(dir, "run", "--force", "square").code).toBe(0);
    expect(sha256(readFileSync(blob))).toBe(blob.split("/").pop());
    expect(dag(dir, "verify").code).toBe(0);
  });

  it("results/ holds copies: editing a published file leaves the cache as it was", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    const published = join(dir, "results/square/squares/n2/square.txt");
    overwrite(published, "99");
    expect(readFileSync(blobWith(dir, "16"), "utf8")).toBe("16");
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
  });
});
