import { describe, expect, it } from "vitest";
import { binaryMetrics } from "../lib/model/metrics.js";
import { testFigures } from "../lib/svm/metrics.js";

describe("binary metrics (one definition for the CNN and the SVM)", () => {
  it("F1 is 2PR / (P + R) where both are defined, and 0, not undefined, when no prey is predicted but some was there", () => {
    const m = binaryMetrics([1, 1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 0]);
    expect(m.confusion).toEqual([[3, 1], [1, 2]]);
    expect(m.f1).toBeCloseTo((2 * m.precision * m.recall) / (m.precision + m.recall), 14);
    const none = binaryMetrics([1, 1, 0], [0, 0, 0]);
    expect(none.precision).toBeNaN();
    expect(none.recall).toBe(0);
    expect(none.f1).toBe(0);
  });

  it("undefined only without a denominator: a class absent from labels and predictions", () => {
    const m = binaryMetrics([0, 0], [0, 0]);
    expect([m.precision, m.recall, m.f1].every(Number.isNaN)).toBe(true);
    expect(m.accuracy).toBe(1);
    expect(JSON.parse(JSON.stringify(m)).f1).toBeNull();
  });

  it("the SVM's per-class figures are the same function with each class as the positive", () => {
    const truth = [0, 0, 0, 1, 1, 0, 1, 0];
    const predicted = [0, 1, 0, 1, 0, 0, 1, 0];
    const t = testFigures(truth, predicted);
    for (const c of [0, 1] as const) {
      const m = binaryMetrics(truth, predicted, c);
      expect(t.per_class[c]).toEqual({ precision: m.precision, recall: m.recall, f1: m.f1, support: truth.filter((y) => y === c).length });
    }
    expect(t.accuracy).toBe(6 / 8);
    expect(t.correct).toBe(6);
    expect(testFigures([1, 1], [1, 1]).per_class["0"].precision).toBeNaN();
  });
});
