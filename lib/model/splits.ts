/**
 * The `samples` collection and the splits (lib/splits.ts) as labelled examples per split: the glue
 * the train, evaluate and explain stages share.
 */
import type { ItemIn } from "../../engine/stage-api.js";
import { recordingOf, type SplitName } from "../splits.js";
import { fileNames, mainFile } from "../main-file.js";
import type { ExampleRef } from "./dataset.js";

/** Labelled examples per split. Every item needs a label (0/1), a `sample` file and a split. */
export function examplesBySplit(items: ItemIn[], splits: Map<string, SplitName>): Record<SplitName, ExampleRef[]> {
  const out: Record<SplitName, ExampleRef[]> = { train: [], validation: [], test: [] };
  const unsplit: string[] = [];
  for (const item of items) {
    const label = item.meta["label"];
    if (label !== 0 && label !== 1) throw new Error(`sample ${item.id} has no label 0/1 (meta label: ${JSON.stringify(label)}): label its recording in the read stage`);
    const path = mainFile(item, "sample");
    if (!path) throw new Error(`sample ${item.id} has no "sample" file (it has: ${fileNames(item)}): feed flow.samples`);
    const recording = recordingOf(item);
    const split = splits.get(recording);
    if (!split) {
      unsplit.push(recording);
      continue;
    }
    out[split].push({ id: item.id, recording, label, path });
  }
  if (unsplit.length) {
    const names = [...new Set(unsplit)];
    throw new Error(`${names.length} recording(s) of the samples are not in the splits file (${names.slice(0, 3).join(", ")}${names.length > 3 ? ", ..." : ""}): feed split the same events the samples come from`);
  }
  return out;
}

/** One numeric meta value shared by every sample, or undefined when none has it. */
function sharedMeta(items: ItemIn[], key: string, fix: string): number | undefined {
  const values = new Set(items.map((i) => i.meta[key]).filter((v): v is number => typeof v === "number"));
  if (values.size > 1) throw new Error(`the samples differ in ${key} (${[...values].join(", ")}): ${fix}`);
  return [...values][0];
}

/**
 * How the samples' flow is laid out (the flow stage's meta): `flowPairs` pairs per subsample, of
 * which the files hold every `pairStride`-th.
 */
export function flowLayoutOf(items: ItemIn[]): { flowPairs: number | undefined; pairStride: number } {
  return {
    flowPairs: sharedMeta(items, "flow_pairs", "run the flow stage on subsamples of one size"),
    pairStride: sharedMeta(items, "pair_stride", "run the flow stage with one pair_stride") ?? 1,
  };
}
