import { describe, expect, it } from "vitest";
import { hash32, mix32, Rng, shuffle } from "../lib/random.js";

/**
 * The streams that synthesize, train (weights, batches), split and subsample drew before the
 * generator moved to lib/random.ts, recorded from that code: cached results keep their meaning only
 * while these stay bit for bit.
 */
describe("lib/random is bit-stable", () => {
  const recorded: [number, Record<string, unknown>][] = [
    [0, {"u32": [2695213665, 574064681, 4135329580], "next": 0.07544309552758932, "normal": [0.4778381301358539, 0.0835289356958354, 0.15063453398846854], "int": 5, "uniform": 4.479068692307919, "logUniform": 0.5997676506652811, "chance": false, "sign": 1}],
    [1, {"u32": [153603036, 3947750989, 1466280915], "next": 0.49872470181435347, "normal": [0.6769582829302453, -0.4311825237116508, 0.6116088971083885], "int": 1, "uniform": 2.2541282805614173, "logUniform": 0.00020033043355542304, "chance": false, "sign": 1}],
    [123456789, {"u32": [1780368252, 2047894495, 2379267716], "next": 0.7358609894290566, "normal": [-0.38235358941992065, -0.5346926199677183, 0.3868197313625249], "int": -3, "uniform": 3.8926425580866635, "logUniform": 0.008249519412942637, "chance": false, "sign": 1}],
    [2 ** 40 + 5, {"u32": [250740179, 2365006909, 3144939851], "next": 0.5443583196029067, "normal": [0.39650641799074227, 0.5251415015150752, 0.2983570298673699], "int": 4, "uniform": 4.723842556588352, "logUniform": 0.0006787186956897502, "chance": false, "sign": -1}],
  ];
  it.each(recorded)("Rng(%s) draws the recorded sequence", (seed, expected) => {
    const r = new Rng(seed);
    const drawn = { u32: [r.u32(), r.u32(), r.u32()], next: r.next(), normal: [r.normal(), r.normal(), r.normal()], int: r.int(-3, 9), uniform: r.uniform(2, 5), logUniform: r.logUniform(1e-4, 1), chance: r.chance(0.3), sign: r.sign() };
    expect(drawn).toEqual(expected);
  });

  it("hash32 and mix32 give the recorded values (seeds of recordings, weights, subsamples)", () => {
    expect([hash32(0), hash32(42, "rec003", 7), hash32("train", 2 ** 33 + 1), mix32(0xdeadbeef)]).toEqual([3850179577, 789332700, 2747123927, 233162409]);
  });

  it("shuffle orders as the split stage's and the batches' own Fisher-Yates did, and leaves its input alone", () => {
    const items = [...Array(10).keys()];
    expect(shuffle(items, new Rng(7))).toEqual([7, 9, 3, 8, 6, 0, 2, 4, 5, 1]);
    expect(items).toEqual([...Array(10).keys()]);
  });
});
