import { execFileSync, spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHAIN, CLI, dag, FIXTURE_STAGES, workspace } from "./helpers/workspace.js";

describe("dag command line", () => {
  // npx dag runs the bin file itself: a build that leaves it without the execute bit (tsc
  // writes new files 0644, as in every fresh clone) fails the Quick start with "Permission denied".
  it("the built dag file runs as a program, as npx runs it", () => {
    const out = execFileSync(CLI, ["--help"], { encoding: "utf8" });
    expect(out).toMatch(/Usage: dag/);
  });

  it("run, then a no-op run that says so, with exit code 0", () => {
    const dir = workspace(CHAIN);
    const first = dag(dir, "run");
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/done: 7 ran, 0 cached/);
    const second = dag(dir, "run");
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Nothing to do: all 7 tasks up to date/);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe("5");
  });

  it("status says exactly why a stage is stale: a param, an input, a code version", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    expect(dag(dir, "status").stdout).toMatch(/numbers\s+up to date \(3 cached\)\nsquare\s+up to date \(3 cached\)\ntotal\s+up to date \(1 cached\)/);
    const param = dag(dir, "status", "--set", "square.offset=2").stdout;
    expect(param).toMatch(/square\s+stale: 3 of 3 tasks would run\n\s+- param offset: 0 -> 2 \(3\)/);
    expect(param).toMatch(/total\s+waits on square/);
    const input = dag(dir, "status", "--set", "numbers.base=1").stdout;
    expect(input).toMatch(/numbers\s+stale: 3 of 3 tasks would run\n\s+- param value: 0 -> 1 \(1\)/);
    const more = dag(dir, "status", "--set", "numbers.count=4").stdout;
    expect(more).toMatch(/numbers\s+stale: 1 of 4 tasks would run\n\s+- new item/);
    // A new version of a stage kind's code: copy the kind, bump its version.
    const kinds = join(dir, "kinds");
    cpSync(join(FIXTURE_STAGES, "total"), join(kinds, "total"), { recursive: true });
    const src = join(kinds, "total", "index.js");
    writeFileSync(src, readFileSync(src, "utf8").replace("version: 1", "version: 2"));
    writeFileSync(join(dir, "pipeline.yaml"), `stage_paths: [kinds, ${JSON.stringify(FIXTURE_STAGES)}]\n${CHAIN}`);
    expect(dag(dir, "status").stdout).toMatch(/total\s+stale: 1 of 1 tasks would run\n\s+- code version 1 -> 2/);
  });

  it("a failed run exits 1 and names the failing item", () => {
    const dir = workspace(CHAIN);
    const r = dag(dir, "run", "--set", "square.fail_on=1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED square\[n1\]: refusing to square 1/);
    expect(r.stderr).toMatch(/run failed/);
  });

  it("an invalid pipeline exits 2 with its position", () => {
    const dir = workspace("stages:\n  numbers: { params: { count: -3 } }\n");
    const r = dag(dir, "run");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:3:31: stage "numbers", key "count": expected a number >= 0/);
  });

  it("--json prints one event per line", () => {
    const dir = workspace(CHAIN);
    const events = dag(dir, "run", "--json").stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(events[0]!.type).toBe("run-start");
    expect(events.at(-1)).toMatchObject({ type: "run-done", ok: true, ran: 7 });
  });

  it("graph prints DOT and Mermaid", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "graph").stdout).toContain('"numbers" -> "square" [label="values -> values (each)"]');
    expect(dag(dir, "graph", "--format", "mermaid").stdout).toContain('square -->|"squares -> values"| total');
  });

  it("a second writer is refused with a clear message while a run holds the workspace; --wait queues", async () => {
    const dir = workspace("stages:\n  sleepy: { params: { ms: 2500 } }\n");
    const first = spawn(process.execPath, [CLI, "run"], { cwd: dir, stdio: "ignore" });
    const exited = new Promise<number | null>((r) => first.on("exit", r));
    for (let i = 0; i < 100 && !existsSync(join(dir, ".dag", "lock")); i++) await new Promise((r) => setTimeout(r, 50));
    const second = dag(dir, "run");
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/another dag process \(pid \d+ .*is writing to this workspace's cache/);
    expect(second.stderr).toMatch(/--wait/);
    const waited = dag(dir, "run", "--wait");
    expect(waited.code).toBe(0);
    expect(await exited).toBe(0);
    expect(waited.stderr).toMatch(/Nothing to do/);
  });

  it("a lock left by a dead process is taken over", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run");
    writeFileSync(join(dir, ".dag", "lock"), JSON.stringify({ pid: 999999, host: hostname(), since: "then", command: "run" }));
    expect(dag(dir, "run").code).toBe(0);
  });

  it("compare says what differs between two named runs, down to a once-run stage's meta", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run", "--name", "first");
    dag(dir, "run", "--name", "second", "--set", "square.offset=1");
    const out = dag(dir, "compare", "first", "second");
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^first \(\S+\) -> second \(\S+\)$/m);
    expect(out.stdout).toMatch(/^numbers\s+same \(3 tasks\)$/m);
    expect(out.stdout).toMatch(/^square\s+3 of 3 tasks differ; outputs differ: squares\n\s+param offset: 0 -> 1$/m);
    // 0, 1, 4 -> 1, 2, 5: the sum in total's meta goes from 5 to 8.
    expect(out.stdout).toMatch(/^total\s+1 of 1 tasks differ; outputs differ: sum\n\s+sum sum: 5 -> 8 \(\+3\)$/m);
    const json = JSON.parse(dag(dir, "compare", "first", "second", "--json").stdout);
    expect(json.stages.find((s: { stage: string }) => s.stage === "square").tasks).toEqual({ same: 0, changed: 3, onlyA: 0, onlyB: 0 });
    const missing = dag(dir, "compare", "first", "third");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run named or with id "third"; named runs: second, first/);
  });

  it("compare of three runs: each against the first, one Markdown table with the changes, JSON with every comparison", () => {
    const dir = workspace(CHAIN);
    dag(dir, "run", "--name", "base");
    dag(dir, "run", "--name", "plus1", "--set", "square.offset=1");
    dag(dir, "run", "--name", "scaled", "--set", "total.scale=2");
    const text = dag(dir, "compare", "base", "plus1", "scaled", "--no-images");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^base \(\S+\) -> plus1 \(\S+\)$(.|\n)*^base \(\S+\) -> scaled \(\S+\)$/m);
    expect(text.stdout).toMatch(/^total\s+1 of 1 tasks differ; outputs differ: sum\n\s+param scale: 1 -> 2\n\s+sum sum: 5 -> 10 \(\+5\)$/m);
    const md = dag(dir, "compare", "base", "plus1", "scaled", "--markdown").stdout;
    expect(md).toMatch(/^# base vs plus1 vs scaled$/m);
    expect(md).toMatch(/^\| square\.offset \| 0 \| 1 \| 0 \|$/m);
    expect(md).toMatch(/^\| total\.scale \| 1 \| 1 \| 2 \|$/m);
    expect(md).toMatch(/^\| total sum\.sum \| 5 \| 8 \(\+3\) \| 10 \(\+5\) \|$/m);
    // A param all three share is not a difference.
    expect(md).not.toMatch(/numbers\.count/);
    const json = JSON.parse(dag(dir, "compare", "base", "plus1", "scaled", "--json", "--no-images").stdout);
    expect(json.comparisons.map((c: { b: { name: string } }) => c.b.name)).toEqual(["plus1", "scaled"]);
    expect(json.table.figures).toEqual([{ name: "total sum.sum", values: [5, 8, 10] }]);
  });

  it("kinds lists the stage kinds and explains one", () => {
    const dir = workspace(CHAIN);
    expect(dag(dir, "kinds").stdout).toMatch(/numbers\s+v1\s+test stage/);
    expect(dag(dir, "kinds", "numbers").stdout).toMatch(/count: integer = 3 \(>= 0\) - how many numbers/);
    // Built-in kinds: a number-or-list param, a null default, an execution param.
    const train = dag(dir, "kinds", "train").stdout;
    expect(train).toMatch(/^  lr: number \| number\[\] = \[0\.001\] - /m);
    expect(train).toMatch(/^  seed: integer \| null = null \(>= 0\) - /m);
    expect(train).toMatch(/^  memory_mb: .*\[not in the cache key: changes how it runs, not the result\]$/m);
  });

  it("--help teaches every command", () => {
    const help = dag(".", "--help").stdout;
    for (const cmd of ["run", "watch", "status", "runs", "show", "compare", "report", "graph", "verify", "gc", "clean", "kinds"]) expect(help).toContain(`  ${cmd} `);
    expect(help).toMatch(/Exit codes: 0 success.*4 disk full, 70 internal error/s);
    expect(dag(".", "run", "--help").stdout).toMatch(/--keep-going/);
  });
});
