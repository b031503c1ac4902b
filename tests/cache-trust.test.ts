import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256 } from "../dist/engine/hash.js";
import { dag, FIXTURE_STAGES, GLOB_SUM, workspace } from "./helpers/workspace.js";

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

  it("results/: a published file deleted or cut is copied again from the cache, nothing reruns; a results/ that is a file is named", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    rmSync(join(dir, "results/square/squares/n1/square.txt"));
    writeFileSync(join(dir, "results/total/sum/sum.txt"), "");
    const rerun = dag(dir, "run");
    expect(rerun.stderr).toMatch(/Nothing to do/);
    expect(readFileSync(join(dir, "results/square/squares/n1/square.txt"), "utf8")).toBe("9");
    expect(sum(dir)).toBe("29");
    rmSync(join(dir, "results"), { recursive: true });
    writeFileSync(join(dir, "results"), "not a folder");
    const blocked = dag(dir, "run");
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toMatch(/cannot make the results folder results: a file is in the way; move that out of the way, or name another folder with results: in the pipeline file/);
    expect(blocked.stderr).not.toMatch(/internal error/);
    rmSync(join(dir, "results"));
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
    expect(sum(dir)).toBe("29");
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

describe("input files are known by content, whatever their times say", () => {
  it("a file changed with its mtime and size put back is read again: at once (racily clean) and later (ctime)", () => {
    const dir = workspace(GLOB_SUM);
    mkdirSync(join(dir, "data"));
    const file = join(dir, "data", "a.txt");
    /** Other bytes of the same size, with the mtime it had (as `touch -r` puts it back). */
    const swap = (content: string): void => {
      const { mtime, atime } = statSync(file);
      writeFileSync(file, content);
      utimesSync(file, atime, mtime);
    };
    const total = (): string => readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8");
    writeFileSync(file, "abc");
    expect(dag(dir, "run").code).toBe(0);
    expect(total()).toBe("3");
    swap("abcd"); // another size: always seen
    expect(dag(dir, "run").stderr).toMatch(/done: 2 ran/);
    swap("wxyz"); // within the same clock tick as its hashing, as a script writing twice can
    expect(dag(dir, "run").stderr).toMatch(/done: 1 ran/);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3100); // now old enough for its hash to be kept
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
    swap("xyzz"); // same size, same mtime: its ctime moved
    expect(dag(dir, "run").stderr).toMatch(/done: 1 ran/);
    touchOnly(file);
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
    expect(total()).toBe("4");
  });
});

/** A new mtime, the same bytes: nothing to read again that changes a key. */
function touchOnly(path: string): void {
  const now = new Date();
  utimesSync(path, now, now);
}

/** Task record paths, by stage. */
function records(dir: string): Map<string, string[]> {
  const tasks = join(dir, ".dag", "tasks");
  const found = new Map<string, string[]>();
  for (const p of readdirSync(tasks).flatMap((d) => readdirSync(join(tasks, d)).map((f) => join(tasks, d, f)))) {
    const stage = JSON.parse(readFileSync(p, "utf8")).stage as string;
    found.set(stage, [...(found.get(stage) ?? []), p]);
  }
  return found;
}

describe("a tampered store is a miss, never a wrong result, a crash or a write elsewhere", () => {
  it("a record whose file path leaves its folder, or that names a file outside the store, is malformed: nothing is written or read outside", () => {
    for (const file of [{ path: "../../../../../../../../outside.txt" }, { path: join(tmpdir(), "outside.txt") }, { source: process.execPath }]) {
      const dir = workspace(CHAIN);
      expect(dag(dir, "run").code).toBe(0);
      const [total] = records(dir).get("total")!;
      const record = JSON.parse(readFileSync(total!, "utf8"));
      Object.assign(record.outputs.sum.files.sum, file, { path: file.path?.replace("outside", `outside-${basename(dir)}`) ?? "sum.txt" });
      writeFileSync(total!, JSON.stringify(record));
      rmSync(join(dir, ".dag", "stages", "total.json"));
      rmSync(join(dir, "results"), { recursive: true });
      const found = dag(dir, "verify");
      expect(found.code, JSON.stringify(file)).toBe(1);
      expect(found.stdout).toMatch(/corrupt record [0-9a-f]{12} .*: malformed: its outputs are not the shape a task writes/);
      const rerun = dag(dir, "run");
      expect(rerun.stderr).toMatch(/done: 1 ran, 6 cached/);
      expect(sum(dir)).toBe("29");
      expect(existsSync(join(tmpdir(), `outside-${basename(dir)}.txt`))).toBe(false);
      expect(readdirSync(join(dir, "results/total/sum")).sort()).toEqual(["manifest.json", "sum.txt"]);
    }
  });

  it("a record stored under another task's key (swapped files) is a miss, not that task's result; a bad reads list is named, not a crash", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    const [a, b] = records(dir).get("square")!;
    const [textA, textB] = [readFileSync(a!, "utf8"), readFileSync(b!, "utf8")];
    writeFileSync(a!, textB);
    writeFileSync(b!, textA);
    rmSync(join(dir, ".dag", "stages", "square.json"));
    rmSync(join(dir, "results"), { recursive: true });
    expect(dag(dir, "run").stderr).toMatch(/done: 2 ran, 5 cached/);
    for (const n of [0, 1, 2]) expect(readFileSync(join(dir, `results/square/squares/n${n}/square.txt`), "utf8")).toBe(String((n + 2) ** 2));
    expect(sum(dir)).toBe("29");

    const [total] = records(dir).get("total")!;
    writeFileSync(total!, JSON.stringify({ ...JSON.parse(readFileSync(total!, "utf8")), reads: "all of them" }));
    const found = dag(dir, "verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/corrupt record [0-9a-f]{12} .*: malformed: its list of the files it read is not a list of hashes/);
    expect(dag(dir, "run", "--rehash").code).toBe(0);
    expect(dag(dir, "verify", "--repair").code).toBe(0);
    expect(dag(dir, "run").stderr).toMatch(/done: 1 ran, 6 cached/);
  });

  it("a file or folder put where dag keeps its own is replaced, not a crash; a .dag or lock that is not dag's is named", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    const dotDag = join(dir, ".dag");
    const [total] = records(dir).get("total")!;
    const [square] = records(dir).get("square")!;
    const asFolder = (path: string): void => { rmSync(path, { recursive: true }); mkdirSync(path); };
    const asFile = (path: string): void => { rmSync(path, { recursive: true }); writeFileSync(path, "x"); };
    asFolder(total!); // with its stage index gone, total runs and writes its record again
    rmSync(join(dotDag, "stages", "total.json"));
    asFile(join(square!, "..")); // square's folder of records, with square's index a folder
    asFolder(join(dotDag, "stages", "square.json"));
    for (const name of ["runs", "tmp", "code"]) asFile(join(dotDag, name));
    asFolder(join(dotDag, "code-stat.json"));
    for (const command of ["status", "runs", "verify", "run"]) expect(dag(dir, command).stderr, command).not.toMatch(/internal error/);
    expect(sum(dir)).toBe("29");
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
    expect(dag(dir, "runs").stdout).toMatch(/ran/);

    rmSync(join(dotDag, "lock"), { force: true });
    mkdirSync(join(dotDag, "lock"));
    const locked = dag(dir, "run");
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/\.dag\/lock is not a file: it is where dag locks the workspace; remove it \(rm -r\) and run again/);
    rmSync(join(dotDag, "lock"), { recursive: true });
    asFile(dotDag);
    const noCache = dag(dir, "run");
    expect(noCache.code).toBe(2);
    expect(noCache.stderr).toMatch(/cannot make the cache folder \.dag: a file is in the way; move that out of the way, or name another folder with cache: in the pipeline file/);
  });

  it("a blob replaced by a link (of the same size), a folder, or its folder by a file is a miss; verify names it, --repair removes it", () => {
    const faults: Record<string, (blob: string) => void> = {
      link: (blob) => { rmSync(blob); writeFileSync(`${blob}.elsewhere`, "61"); symlinkSync(`${blob}.elsewhere`, blob); },
      folder: (blob) => { rmSync(blob); mkdirSync(blob); },
      "folder of blobs a file": (blob) => { rmSync(join(blob, ".."), { recursive: true }); writeFileSync(join(blob, ".."), "x"); },
    };
    for (const [fault, damage] of Object.entries(faults)) {
      const dir = workspace(CHAIN);
      expect(dag(dir, "run").code).toBe(0);
      damage(blobWith(dir, "16"));
      const rerun = dag(dir, "run");
      expect(rerun.code, `${fault}: ${rerun.stderr}`).toBe(0);
      expect(rerun.stderr).toMatch(/done: 1 ran, 6 cached/); // square[n2] makes it again; total's result is unchanged
      expect(sum(dir)).toBe("29");
      expect(readFileSync(blobWith(dir, "16"), "utf8")).toBe("16");
      expect(dag(dir, "verify").stdout, fault).toMatch(/: 0 corrupt/);
    }
    const dir = workspace(CHAIN);
    dag(dir, "run");
    faults.folder!(blobWith(dir, "16"));
    const found = dag(dir, "verify");
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/corrupt blob [0-9a-f]{12} .*: not a plain file \(a link or a folder put in the store\)/);
    const repaired = dag(dir, "verify", "--repair");
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(dag(dir, "run").code).toBe(0);
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
  });
});
