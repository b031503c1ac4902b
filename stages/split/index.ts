/**
 * split: the train / validation / test assignment of whole recordings, stratified by class,
 * deterministic from the pipeline's seed. See README.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CollectionIn, InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { recordingOf, SPLIT_NAMES, type SplitName } from "../../lib/splits.js";
import { assignRecordings, type RecordingInfo } from "./assign.js";
import { countSplits, summaryLine } from "./counts.js";

/** Recordings of the collection with their label and number of items; errors name the items. */
function recordingsOf(items: CollectionIn["items"]): RecordingInfo[] {
  const byId = new Map<string, { labels: Set<unknown>; events: number }>();
  for (const item of items) {
    const id = recordingOf(item);
    const entry = byId.get(id) ?? { labels: new Set(), events: 0 };
    entry.labels.add(item.meta["label"]);
    entry.events++;
    byId.set(id, entry);
  }
  const unlabelled = [...byId].filter(([, e]) => [...e.labels].some((l) => l !== 0 && l !== 1)).map(([id]) => id);
  if (unlabelled.length) {
    throw new Error(
      `split needs each recording's class, and ${unlabelled.length} of ${byId.size} recordings have none (${unlabelled.slice(0, 3).join(", ")}${unlabelled.length > 3 ? ", ..." : ""}): ` +
        `label them in the read stage (labels_from: csv with a labels input, or folder with spon/ and prey/ folders); an unlabelled pipeline stops after extract and mask`,
    );
  }
  const mixed = [...byId].filter(([, e]) => e.labels.size > 1).map(([id]) => id);
  if (mixed.length) throw new Error(`split: recording ${mixed[0]} has events of both classes: a recording has one class; check the labels`);
  return [...byId].map(([id, e]) => ({ id, label: [...e.labels][0] as 0 | 1, events: e.events }));
}

const split = {
  name: "split",
  version: 1,
  description: "Train / validation / test by recording (no recording in two splits), stratified by class, deterministic from the pipeline's seed",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      fractions: {
        type: "object", additionalProperties: false, default: {},
        description: "Share of each class's events (or recordings) per split; normalised to sum 1. The paper: about 77 / 13 / 10 %. A split at 0 gets nothing.",
        properties: {
          train: { type: "number", minimum: 0, maximum: 1, default: 0.77, description: "training share (0..1; the paper: ~0.77)" },
          validation: { type: "number", minimum: 0, maximum: 1, default: 0.13, description: "validation share (0..1; the paper: ~0.13)" },
          test: { type: "number", minimum: 0, maximum: 1, default: 0.1, description: "test share (0..1; the paper: ~0.10)" },
        },
      },
      balance: {
        type: "string", enum: ["events", "recordings"], default: "events",
        description: "What the fractions count: the events (items) of the recordings in each split, or the recordings themselves.",
      },
    },
  },
  inputs: { events: { type: "collection", description: "events, subsamples or samples (anything whose items carry meta recording and label), or recordings" } },
  outputs: { splits: { type: "artifact", description: "`splits` JSON { recordings: { <recording id>: train | validation | test }, counts: per split and class, recordings and events }" } },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const items = inputs.events.items;
    if (items.length === 0) throw new Error("split: the events collection is empty: nothing to split (did extract find no events?)");
    let recordings: RecordingInfo[];
    let assignment: Map<string, SplitName>;
    try {
      recordings = recordingsOf(items);
      assignment = assignRecordings(recordings, params.fractions, ctx.seed, params.balance);
    } catch (error) {
      const message = (error as Error).message;
      throw new Error(message.startsWith("split") ? message : `split: ${message}`);
    }

    const counts = countSplits(recordings, assignment);
    const sorted = Object.fromEntries([...assignment].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const total = SPLIT_NAMES.reduce((a, s) => a + params.fractions[s], 0);
    const document = {
      recordings: sorted,
      counts,
      fractions: Object.fromEntries(SPLIT_NAMES.map((s) => [s, params.fractions[s] / total])),
      balance: params.balance,
      seed: ctx.seed,
    };
    writeFileSync(join(ctx.outDir, "splits.json"), `${JSON.stringify(document, null, 2)}\n`);
    ctx.log(summaryLine(counts));
    return { splits: { files: { splits: "splits.json" }, meta: { counts } } };
  },
} as const;

export type SplitParams = ParamsOf<typeof split.params>;
export default split satisfies StageKind;
