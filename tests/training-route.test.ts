/**
 * One training route, chosen in one place and keyed (issue 29 item 3, issue 30 item 2): what
 * resolveTrainingRoute makes of the params and the machine; the engine's machineKey hook (the
 * resolved value is in the key, reaches the task, and a changed machine reruns and says why);
 * each record names its route and `dag show` prints it; `dag kinds train` says what is keyed; a
 * train task that lands on a machine that would take another route refuses.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskKey } from "../dist/cache/records.js";
import { Store } from "../dist/cache/store.js";
import { loadPipeline } from "../dist/engine/pipeline.js";
import type { Machine } from "../dist/lib/model/machine.js";
import { describeRoute, resolveTrainingRoute, routeKey } from "../dist/lib/model/route.js";
import { trainPoint } from "../dist/stages/train/run.js";
import train from "../dist/stages/train/index.js";
import { dag, run, workspace } from "./helpers/workspace.js";

const machine = (over: Partial<Machine> = {}): Machine => ({
  cores: 16, unavailable: { webgpu: "no GPU device", tensorflow: "not installed" }, wasmKernels: "native-avx2-fma", native: "AVX2 + FMA", ...over,
});

describe("resolveTrainingRoute: the one place a training's route is chosen", () => {
  it("takes auto's first backend that this machine offers, with the kernels wasm runs here", () => {
    const r = resolveTrainingRoute({ backend: "auto", threads: 0, batch: 16 }, machine());
    expect(r).toEqual({ backend: "wasm", kernels: "native-avx2-fma", parallel: "native-kernels", threads: 16, optimiser: "adam-native", chosen_by: "auto" });
    expect(describeRoute(r)).toBe("wasm (auto), kernels native-avx2-fma, 16 threads in the native kernels, adam-native");
    expect(resolveTrainingRoute({ backend: "auto", threads: 0, batch: 16 }, machine({ unavailable: {} })).backend).toBe("webgpu");
  });

  it("without the native kernels: fixed batch shards, at most one thread per shard", () => {
    const r = resolveTrainingRoute({ backend: "wasm", threads: 0, batch: 10 }, machine({ wasmKernels: "wasm-relaxed-simd-fma" }));
    expect(r).toMatchObject({ kernels: "wasm-relaxed-simd-fma", parallel: "batch-shards", threads: 3, optimiser: "adam-js", chosen_by: "params" });
    expect(resolveTrainingRoute({ backend: "cpu", threads: 2, batch: 32 }, machine())).toMatchObject({ backend: "cpu", kernels: "tfjs-cpu", parallel: "batch-shards", threads: 2 });
  });

  it("DAG_TFJS_BACKEND replaces auto (not a named backend), and a wrong value says what would do", () => {
    expect(resolveTrainingRoute({ backend: "auto", threads: 1, batch: 8 }, machine({ backendOverride: "cpu" }))).toMatchObject({ backend: "cpu", chosen_by: "DAG_TFJS_BACKEND" });
    expect(resolveTrainingRoute({ backend: "wasm", threads: 1, batch: 8 }, machine({ backendOverride: "cpu" }))).toMatchObject({ backend: "wasm", chosen_by: "params" });
    expect(() => resolveTrainingRoute({ backend: "auto", threads: 1, batch: 8 }, machine({ backendOverride: "tpu" }))).toThrow(/DAG_TFJS_BACKEND=tpu is not a backend: use one of auto, webgpu/);
  });

  it("keys the backend and kernels, never the thread count (which no longer changes the bits)", () => {
    const on = (threads: number, cores: number) => routeKey(resolveTrainingRoute({ backend: "auto", threads, batch: 32 }, machine({ cores, wasmKernels: "wasm-simd128" })));
    expect(on(0, 2)).toEqual({ backend: "wasm", kernels: "wasm-simd128" });
    expect(on(0, 16)).toEqual(on(0, 2));
    expect(on(3, 2)).toEqual(on(1, 2));
  });
});

describe("the engine's machineKey: a kind's plan-time key part", () => {
  const dirs: string[] = [];
  const before = process.env["DAG_TEST_MACHINE"];
  afterEach(() => {
    if (before === undefined) delete process.env["DAG_TEST_MACHINE"];
    else process.env["DAG_TEST_MACHINE"] = before;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("keys what it resolves when the plan is made: another machine reruns (and status says why), the task sees it, the record and dag show name the route", async () => {
    const dir = workspace("stages:\n  machine: {}\n");
    dirs.push(dir);
    process.env["DAG_TEST_MACHINE"] = "a";
    expect((await run(dir)).ran).toEqual(["machine"]);
    expect((await run(dir)).ran).toEqual([]);
    process.env["DAG_TEST_MACHINE"] = "b";
    const status = dag(dir, "status");
    expect(status.stdout).toMatch(/machine route: "a" -> "b"/);
    const ran = await run(dir, { name: "on-b" });
    expect(ran.ok).toBe(true);
    expect(ran.ran).toEqual(["machine"]);
    const pipeline = await loadPipeline(join(dir, "pipeline.yaml"));
    const store = new Store(pipeline.cacheDir);
    const key = ran.events.flatMap((e) => (e.type === "task-done" ? [e.key] : []))[0]!;
    const record = store.readTask(key as TaskKey)!;
    expect(record.machine).toEqual({ route: "b" });
    expect(record.route).toEqual({ route: "b", threads: 2 });
    const show = dag(dir, "show", "on-b");
    expect(show.stdout).toMatch(/^ {4}route route b, threads 2$/m);
    // A cached task's route comes from its record.
    process.env["DAG_TEST_MACHINE"] = "a";
    await run(dir, { name: "cached" });
    expect(dag(dir, "show", "cached").stdout).toMatch(/^ {4}route route a, threads 2 \(1 cached\)$/m);
  });
});

describe("train's route in the key and in dag kinds", () => {
  it("dag kinds train: backend keyed as the route it resolves to, threads not in the key", () => {
    const dir = mkdtempSync(join(tmpdir(), "dag-kinds-"));
    try {
      const out = dag(dir, "kinds", "train").stdout;
      expect(out).toMatch(/^ {2}backend: .*\[in the cache key as what it resolves to on the machine that plans: the backend and kernel build/m);
      expect(out).toMatch(/^ {2}threads: .*any count gives the same bits.*\[not in the cache key: changes how it runs, not the result\]$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a train task planned for another route refuses before training (a cluster node unlike the login node)", async () => {
    const params = { ...train.split!({ ...defaults(), lr: 1e-3, weight_decay: 1e-4 })[0]!.params };
    const planned = { backend: "webgpu", kernels: "wgsl" };
    const ctx = { machine: planned } as unknown as Parameters<typeof trainPoint>[0];
    await expect(trainPoint(ctx, params as never, { items: [] }, { files: {}, meta: {} })).rejects.toThrow(
      /train: planned for backend webgpu with wgsl kernels \(resolved where dag ran\), but this machine would train on \w+ \(auto\), kernels .*: that would store other bits under the planned key/,
    );
  });
});

/** train's params with their defaults, as the engine fills them in. */
function defaults(): Record<string, unknown> {
  const props = (train.params as { properties: Record<string, { default?: unknown }> }).properties;
  return Object.fromEntries(Object.entries(props).map(([k, p]) => [k, p.default]));
}
