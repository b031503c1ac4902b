/**
 * The order of one epoch: which sample, with which augmentation, in which batch. Samples of one
 * batch come from different recordings where possible (the paper: "all samples of one batch come
 * from different original videos"), so a batch never learns one fish's look.
 */
import { shuffle, type Rng } from "../random.js";

/** 9 crops x 2 flips: index 0..8 unflipped crops (row-major over the offsets), 9..17 flipped. */
export const AUGMENTATIONS = 18;
/** The centre crop, not flipped: what validation and evaluation see. */
export const CENTER = 4;

export type Augmentation = "random" | "all" | "off";

export interface Example {
  recording: string;
}

export interface Draw {
  /** Index into the examples. */
  example: number;
  /** 0..17, see AUGMENTATIONS. */
  augmentation: number;
}

/** What one epoch shows: every example once (random or no augmentation) or in all 18 versions. */
export function epochDraws(count: number, mode: Augmentation, rng: Rng): Draw[] {
  const draws: Draw[] = [];
  for (let example = 0; example < count; example++) {
    if (mode === "all") for (let a = 0; a < AUGMENTATIONS; a++) draws.push({ example, augmentation: a });
    else draws.push({ example, augmentation: mode === "off" ? CENTER : Math.floor(rng.next() * AUGMENTATIONS) });
  }
  return draws;
}

/**
 * Batches of `size` draws, each taking one draw from each of the recordings with the most draws
 * left (ties in a shuffled order), so that recordings run out evenly and a batch repeats a
 * recording only when fewer than `size` recordings have draws left.
 */
export function recordingBatches(draws: Draw[], examples: Example[], size: number, rng: Rng): Draw[][] {
  const byRecording = new Map<string, Draw[]>();
  for (const d of shuffle(draws, rng)) {
    const key = examples[d.example]!.recording;
    if (!byRecording.has(key)) byRecording.set(key, []);
    byRecording.get(key)!.push(d);
  }
  const queues = shuffle([...byRecording.values()], rng);
  const batches: Draw[][] = [];
  let left = draws.length;
  while (left > 0) {
    const batch: Draw[] = [];
    while (batch.length < size && left > 0) {
      // Stable sort: equal counts keep the shuffled order.
      const open = queues.filter((q) => q.length > 0).sort((a, b) => b.length - a.length);
      for (const q of open.slice(0, size - batch.length)) {
        batch.push(q.pop()!);
        left--;
      }
    }
    batches.push(batch);
  }
  return batches;
}
