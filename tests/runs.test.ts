import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHAIN, dag, workspace } from "./helpers/workspace.js";

const runFiles = (dir: string): string[] => readdirSync(join(dir, ".dag", "runs")).filter((f) => f.endsWith(".json"));

describe("dag runs, show, runs --delete", () => {
  it("runs lists newest first what ran and what was cached, with a once-run stage's figures", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "runs").stdout).toMatch(/no runs recorded yet/);
    dag(dir, "run", "--name", "first");
    dag(dir, "run", "--name", "again");
    const out = dag(dir, "runs");
    expect(out.code).toBe(0);
    // The second run found everything cached; the first ran all 7 tasks. 0+1+4 = 5 is total's sum.
    expect(out.stdout).toMatch(/^again {2}\S+ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}0 ran, 7 cached {2}\d+ ms\n {4}total: sum 5\nfirst {2}\S+ .* 7 ran, 0 cached /m);
    const json = JSON.parse(dag(dir, "runs", "--json").stdout) as { name: string; ran: number; headlines: unknown[] }[];
    expect(json.map((r) => [r.name, r.ran])).toEqual([["again", 0], ["first", 7]]);
    expect(json[1]!.headlines).toEqual([{ stage: "total", output: "sum", key: "sum", value: 5 }]);
  });

  it("show prints a run's params and, per stage, its key, what ran and its figures", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run", "--name", "first", "--set", "square.offset=1");
    const out = dag(dir, "show", "first");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^run \S+ "first": ok$/m);
    expect(out.stdout).toMatch(/^ {2}tasks {5}7 ran, 0 cached$/m);
    expect(out.stdout).toMatch(/^square \(square\): 3 ran, 0 cached, .* of task time\n {4}params \{"fail_on":null,"offset":1,"threads":1\}$/m);
    // 1 + 2 + 5 = 8 with the offset.
    expect(out.stdout).toMatch(/^total \(total\): key [0-9a-f]{12}, 1 ran, 0 cached.*\n(?: {4}params .*\n)? {4}figures sum\.sum 8$/m);
    const missing = dag(dir, "show", "nope");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run named or with id "nope"; named runs: first/);
  });

  it("runs --delete forgets every run of that name and no other; an unknown name exits 2", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run", "--name", "twice");
    dag(dir, "run", "--name", "twice");
    dag(dir, "run", "--name", "kept");
    expect(runFiles(dir)).toHaveLength(3);
    const out = dag(dir, "runs", "--delete", "twice");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^deleted 2 run records/);
    expect(runFiles(dir)).toHaveLength(1);
    expect(dag(dir, "runs").stdout).toMatch(/^kept /);
    const unknown = dag(dir, "runs", "--delete", "twice");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run named or with id "twice"; named runs: kept/);
  });

  it("gc keeps what a named run needs, however many unnamed runs came after; forgetting the name lets gc take it", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run", "--name", "paper");
    dag(dir, "run", "--set", "square.offset=1");
    dag(dir, "run", "--set", "square.offset=2");
    expect(dag(dir, "gc", "--keep-last", "1").stdout).toMatch(/^kept 2 of 3 runs; removed 4 task records/);
    // The named run's results are still cached: running its params again runs nothing.
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do: all 7 tasks up to date/);
    // Without its name, the same results go at the next gc, and the run must work again.
    dag(dir, "runs", "--delete", "paper");
    dag(dir, "run", "--set", "square.offset=2");
    dag(dir, "gc", "--keep-last", "1");
    expect(dag(dir, "run").stderr).toMatch(/done: 4 ran, 3 cached/);
  });
});
