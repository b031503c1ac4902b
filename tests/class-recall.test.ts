/** Per-class recall and balanced accuracy: a constant predictor is told apart from a classifier. */
import { describe, expect, it } from "vitest";
import { balancedAccuracy, classRecalls } from "../lib/model/class-recall.js";

describe("classRecalls", () => {
  it("gives 1 and 0 for a stream that predicts one class for everything, whatever its accuracy", () => {
    const constant = [[0, 30], [0, 50]]; // accuracy 0.625: the majority share
    expect(classRecalls(constant)).toEqual([0, 1]);
    expect(balancedAccuracy(constant)).toBe(0.5);
  });

  it("gives each class's share predicted as itself", () => {
    expect(classRecalls([[9, 1], [4, 6]])).toEqual([0.9, 0.6]);
    expect(balancedAccuracy([[9, 1], [4, 6]])).toBeCloseTo(0.75, 12);
  });

  it("gives NaN for a class with no samples and leaves it out of the balanced accuracy", () => {
    expect(classRecalls([[0, 0], [2, 3]])[0]).toBeNaN();
    expect(balancedAccuracy([[0, 0], [2, 3]])).toBeCloseTo(0.6, 12);
  });
});
