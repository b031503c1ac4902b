/**
 * Which frames a subsample keeps (FACTS.md, Augmentation). The paper's code splits the event
 * into blocks of 2 frames, keeps one frame of each at random, then draws the remaining frames
 * at random from those left out. Two omitted frames can then meet only across a block border,
 * so no more than 2 consecutive frames are ever omitted. For 150 frames: 75 blocks + 11 = 86.
 * An odd length ends with a block of one frame, which is kept.
 */
import { hash32, Rng } from "../../lib/random.js";

export interface SubsampleChoice {
  /** Kept frames, increasing indices into the event. */
  indices: number[];
  /** The spatial stream's frame: an index into `indices`. */
  spatialIndex: number;
}

/** The most consecutive frames the block scheme can omit. */
export const MAX_OMITTED_RUN = 2;

/** Blocks of 2 (the last may hold 1): also the fewest frames the scheme keeps. */
export function blockCount(length: number): number {
  return Math.ceil(length / 2);
}

/** Throws a RangeError that says what to change when `keep` of `length` frames is impossible. */
export function checkSubsampleSize(length: number, keep: number): void {
  if (!Number.isInteger(length) || length < 2) throw new RangeError(`an event needs at least 2 frames to subsample, it has ${length}`);
  if (keep > length) throw new RangeError(`cannot keep ${keep} of ${length} frames: set keep to at most ${length}`);
  const least = blockCount(length);
  if (keep < least) {
    throw new RangeError(
      `keeping ${keep} of ${length} frames would omit more than ${MAX_OMITTED_RUN} consecutive frames somewhere: keep at least ${least} (one per block of 2 frames)`,
    );
  }
}

/** Each subsample's own seed: a hash of the task's seed and the subsample's index, so adding subsamples leaves the others unchanged. */
export function subsampleSeed(taskSeed: number, index: number): number {
  return hash32(taskSeed, "subsample", index);
}

/** Draws one subsample of `keep` of `length` frames and its spatial frame. */
export function chooseSubsample(seed: number, length: number, keep: number): SubsampleChoice {
  checkSubsampleSize(length, keep);
  const rng = new Rng(seed);
  const kept = new Uint8Array(length);
  for (let first = 0; first < length; first += 2) kept[first + (first + 1 < length ? rng.int(0, 1) : 0)] = 1;
  const left: number[] = [];
  for (let i = 0; i < length; i++) if (!kept[i]) left.push(i);
  // Partial Fisher-Yates: the first `extra` of `left` become a uniform draw without replacement.
  const extra = keep - blockCount(length);
  for (let i = 0; i < extra; i++) {
    const j = rng.int(i, left.length - 1);
    [left[i], left[j]] = [left[j]!, left[i]!];
    kept[left[i]!] = 1;
  }
  const indices: number[] = [];
  for (let i = 0; i < length; i++) if (kept[i]) indices.push(i);
  return { indices, spatialIndex: rng.int(0, keep - 1) };
}

/** The longest run of consecutive frames of `0..length-1` missing from increasing `indices`. */
export function longestOmittedRun(indices: readonly number[], length: number): number {
  let longest = 0;
  let previous = -1;
  for (const i of [...indices, length]) {
    longest = Math.max(longest, i - previous - 1);
    previous = i;
  }
  return longest;
}
