import { describe, expect, it } from "vitest";
import { parseCsv } from "../lib/csv.js";

describe("parseCsv (lib/csv.ts, csv-parse)", () => {
  it("keeps a quoted newline and a quoted comma inside their cell, and says where each row starts", () => {
    const rows = parseCsv('\uFEFFrecording,label\n\n"spon/fish\n1.avi",prey\n "prey/a, b.avi" ,1\r\nfish3,0\n', "labels.csv");
    expect(rows.map((r) => r.cells)).toEqual([["recording", "label"], ["spon/fish\n1.avi", "prey"], ["prey/a, b.avi", "1"], ["fish3", "0"]]);
    expect(rows.map((r) => r.line)).toEqual([1, 3, 5, 6]);
  });

  it("names the file and the line of malformed CSV", () => {
    expect(() => parseCsv('a,b\n1,2\n"x"y,1\n', "tracks.csv")).toThrow(/^tracks\.csv, line 3: not valid CSV \(Invalid Closing Quote/);
    expect(() => parseCsv('a,b\n"open,1\n', "tracks.csv")).toThrow(/^tracks\.csv, line \d+: not valid CSV \(Quote Not Closed/);
  });
});
