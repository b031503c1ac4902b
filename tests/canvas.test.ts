import { describe, expect, it } from "vitest";
import { Canvas, type Rgb } from "../dist/lib/image/canvas.js";

const RED: Rgb = [255, 0, 0];
const at = (c: Canvas, x: number, y: number): number[] => [...c.data.subarray(3 * (y * c.width + x), 3 * (y * c.width + x) + 3)];

describe("the figure canvas (lib/image/canvas.ts), shared by extract's preview, extract_summary's contact sheet and explain's figures", () => {
  it("draws an outline of the given thickness inside its rectangle", () => {
    const c = new Canvas(10, 10, [0, 0, 0]);
    c.frame(1, 1, 8, 8, RED, 2);
    const row = (y: number) => Array.from({ length: 10 }, (_, x) => at(c, x, y)[0] ? 1 : 0).join("");
    expect([0, 1, 2, 3, 5, 7, 8, 9].map(row)).toEqual(["0000000000", "0111111110", "0111111110", "0110000110", "0110000110", "0111111110", "0111111110", "0000000000"]);
  });

  it("leaves out a letter that does not fit at the right edge instead of cutting it", () => {
    // "II" is 11 px wide (5 + 1 + 5); at x = 3 on a 12-px canvas only the first letter fits.
    const c = new Canvas(12, 9, [0, 0, 0]);
    c.text(3, 1, "II", RED);
    const drawn = (x0: number, x1: number) => Array.from({ length: 7 }, (_, r) => Array.from({ length: x1 - x0 }, (_, k) => at(c, x0 + k, 1 + r)[0])).flat().some((v) => v > 0);
    expect(drawn(3, 8)).toBe(true);
    expect(drawn(8, 12)).toBe(false);
  });
});
