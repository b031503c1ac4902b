import { describe, expect, it } from "vitest";
import { Canvas, type Rgb } from "../dist/lib/image/canvas.js";
import { drawMotionStrip } from "../dist/lib/image/motion-strip.js";

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
    const drawn = (x0: number, x1: number) => Array.from({ length: 7 }, (_, r) => Array.from({ length: x1 - x0 }, (_, k) => at(c, x0 + k, 1 + r)[0]!)).flat().some((v) => v > 0);
    expect(drawn(3, 8)).toBe(true);
    expect(drawn(8, 12)).toBe(false);
  });

  it("draws a motion strip: bars clipped at headroom x the threshold, orange where moving, the threshold line, event bands and dropped ticks", () => {
    const c = new Canvas(40, 20, [0, 0, 0]);
    // 4 frames of 10 px each; threshold 1, headroom 2: a value of 2 or more fills the 16-px bar height.
    drawMotionStrip(c, { top: 2, width: 40, height: 18, barHeight: 16, values: [0.5, 1.5, 9, 0], threshold: 1, headroom: 2, events: [{ start: 3, end: 4 }], dropped: [{ onset: 0 }] });
    // The strip covers rows 2..19; a bar of h px covers rows 20 - h .. 19; the threshold line is row 20 - 16 / 2 = 12.
    expect([16, 19].map((y) => at(c, 5, y))).toEqual([[150, 150, 150], [150, 150, 150]]); // 0.5: 4 px, grey (below the threshold)
    expect(at(c, 5, 15)).toEqual([0, 0, 0]);
    expect([8, 19].map((y) => at(c, 15, y))).toEqual([[255, 150, 0], [255, 150, 0]]); // 1.5: 12 px, orange
    expect(at(c, 15, 7)).toEqual([0, 0, 0]);
    expect([at(c, 25, 4), at(c, 25, 3)]).toEqual([[255, 150, 0], [0, 0, 0]]); // 9: clipped at 16 px
    expect([at(c, 35, 2), at(c, 35, 19)]).toEqual([[20, 30, 80], [20, 30, 80]]); // frame 3: its event band, no bar
    expect([5, 15, 25, 35].map((x) => at(c, x, 12))).toEqual(Array(4).fill([230, 220, 40])); // the threshold line
    expect([at(c, 1, 2), at(c, 1, 9), at(c, 1, 10)]).toEqual([[240, 40, 40], [240, 40, 40], [0, 0, 0]]); // the dropped detection at frame 0, 8 px
  });
});
