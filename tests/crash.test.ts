import { spawn } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { Store } from "../dist/cache/store.js";
import { verifyStore } from "../dist/cache/verify.js";
import { lcg } from "./helpers/video-stage.js";
import { CHAIN, chainPipeline, CLI, dag, workspace } from "./helpers/workspace.js";

// The fixture chain; total pauses so that a kill can land in it too.
const PIPELINE = chainPipeline({ seed: 7, count: 16, base: 5, max: 15, totalParams: "{ pause_ms: 300 }" });
const STAGES = ["numbers", "clamp", "square", "digits", "total"];

interface Kill {
  /** The process died of the SIGKILL, before its run finished. */
  landed: boolean;
  /** Tasks started and not finished when the kill was sent, by stage. */
  running: string[];
}

/** `dag run` with its events read as they come; SIGKILL once `afterStarts` tasks (of `stage`, if given) have started. */
function killDuringRun(dir: string, args: string[], afterStarts: number, stage?: string): Promise<Kill> {
  const child = spawn(process.execPath, [CLI, "run", "--json", "--jobs", "2", ...args], { cwd: dir, stdio: ["ignore", "pipe", "ignore"] });
  const running = new Map<string, string>();
  let starts = 0;
  let finished = false;
  let atKill: string[] | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const e = JSON.parse(line) as { type: string; stage: string; item?: string };
    const id = `${e.stage}[${e.item ?? ""}]`;
    if (e.type === "task-start") {
      running.set(id, e.stage);
      if ((!stage || e.stage === stage) && ++starts === afterStarts && !atKill) {
        atKill = [...running.values()];
        child.kill("SIGKILL");
      }
    } else if (e.type === "task-done" || e.type === "task-failed") running.delete(id);
    else if (e.type === "run-done") finished = true;
  });
  return new Promise((resolve) => child.on("exit", (_code, signal) => resolve({ landed: signal === "SIGKILL" && !finished && Boolean(atKill?.length), running: atKill ?? [] })));
}

/** Every file under results/, by path: what the user gets. */
function results(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, "base64");
    }
  };
  walk(join(dir, "results"));
  return out;
}

describe("crashes", () => {
  it("50 SIGKILLs at random points in every stage: each lands on running tasks, the cache stays sound, the result is byte-identical", async () => {
    const reference = workspace(PIPELINE);
    expect(dag(reference, "run").code).toBe(0);

    const dir = workspace(PIPELINE);
    const store = new Store(join(dir, ".dag"));
    const next = lcg(11);
    const interrupted = new Set<string>();
    let landed = 0;
    let attempts = 0;
    while (landed < 50 && attempts < 120) {
      // Force one stage in turn (its tasks run again; early cutoff spares the rest) and kill while
      // it runs, or force none and kill anywhere: the kills land in every stage, not only the first.
      const force = STAGES[attempts % (STAGES.length + 1)];
      attempts++;
      const afterStarts = 1 + Math.floor(next() * (force === "total" ? 1 : 8));
      const kill = await killDuringRun(dir, force ? ["--force", force] : [], afterStarts, force);
      if (!kill.landed) continue; // the run ended before the kill: not counted
      landed++;
      for (const stage of kill.running) interrupted.add(stage);
      const report = await verifyStore(store);
      expect(report.corrupt, `after kill ${landed}`).toEqual([]);
    }
    console.info(`crash test: ${landed} SIGKILLs landed in ${attempts} runs, interrupting ${[...interrupted].join(", ")}`);
    expect(landed).toBe(50);
    expect([...interrupted].sort()).toEqual([...STAGES].sort());

    const final = dag(dir, "run");
    expect(final.code).toBe(0);
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
    expect(results(dir)).toEqual(results(reference));
    expect(dag(dir, "run").stderr).toMatch(/Nothing to do/);
  });

  it("verify --repair killed after it removed a corrupt blob leaves no result made from it to be trusted", async () => {
    // CHAIN: 0, 1, 4 squared and summed (5). A squared file is damaged, then total is made from it.
    const dir = workspace(CHAIN);
    expect(dag(dir, "run").code).toBe(0);
    const store = new Store(join(dir, ".dag"));
    const four = [...store.allBlobHashes()].find((h) => readFileSync(store.blobPath(h), "utf8") === "4")!;
    chmodSync(store.blobPath(four), 0o644);
    writeFileSync(store.blobPath(four), "7");
    expect(dag(dir, "run", "--force", "total").code).toBe(0);
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe("8");
    // The repair dies the moment the blob is gone (as a SIGKILL could land there).
    class Killed extends Store {
      override removeBlob(hash: Parameters<Store["removeBlob"]>[0]): void {
        super.removeBlob(hash);
        throw new Error("killed");
      }
    }
    await expect(verifyStore(new Killed(join(dir, ".dag")), true)).rejects.toThrow("killed");
    expect(dag(dir, "run").code).toBe(0); // square[n2] makes "4" again; total must not be taken from the cache
    expect(readFileSync(join(dir, "results/total/sum/sum.txt"), "utf8")).toBe("5");
    expect(dag(dir, "verify").stdout).toMatch(/: 0 corrupt/);
  });
});
