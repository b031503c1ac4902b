/**
 * Our relevance rules against an independent PyTorch implementation (bench/explain_reference.py)
 * on the default network with the same weights and inputs: heatmaps agree within 1e-4 of each
 * sample's largest value. Runs where Debian's python3-torch is installed, says it skipped otherwise.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compareWithReference, explainOurs, predictedTargets, PYTHON, randomInputs, runReference, weightsWithBiases, writeCase, type Case } from "../bench/explain-compare.js";
import { METHOD_NAMES } from "../lib/explain/methods.js";
import { resolveArchitecture } from "../lib/model/architecture.js";
import { selectBackend } from "../lib/model/backend.js";

const hasTorch = spawnSync(PYTHON, ["-c", "import torch"]).status === 0;

describe.skipIf(!hasTorch)(`explain against PyTorch (${hasTorch ? `with ${PYTHON}` : "SKIPPED: no python3 with torch; apt-get install -y python3-torch"})`, () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("every method on both streams of the default network agrees with the reference", () => {
    const arch = resolveArchitecture({ preset: "default" });
    const samples = 6;
    const weights = weightsWithBiases(arch, 4);
    const inputs = randomInputs(arch, samples, 9);
    const c: Case = { arch, weights, inputs, targets: predictedTargets({ arch, weights, inputs }), methods: [...METHOD_NAMES], epsilon: 0.01 };
    const dir = mkdtempSync(join(tmpdir(), "explain-ref-"));
    try {
      writeCase(dir, c);
      const ours = explainOurs(c, 3);
      const reference = runReference(dir, 2);
      expect(reference.ok, reference.ok ? "" : reference.why).toBe(true);
      const agreement = compareWithReference(dir, ours.maps, samples);
      for (const [key, a] of Object.entries(agreement)) {
        // A unit whose pre-activation is within float32 rounding of 0 (or a max-pool window whose
        // two largest values are) may take different branches in the two libraries: at most one
        // sample of the few may differ for that reason (docs/benchmarks.md).
        expect(a.within, `${key}: per-sample differences ${a.perSample.map((d) => d.toExponential(1)).join(", ")}`).toBeGreaterThanOrEqual(samples - 1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
