/**
 * Training checkpoints: weights, Adam's moments and step, the epoch, the history and the best
 * epoch's weights (when the training keeps the best), written
 * after every epoch so that an interrupted training resumes where it stopped.
 *
 * `<dir>/checkpoint.json` names the tensors and the binary file holding them (float32, little
 * endian, concatenated). The binary is written first under a new name, the JSON last and by
 * rename, so a crash at any moment leaves the previous checkpoint or the new one, never a mix.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AdamState } from "./adam.js";
import type { HostWeights } from "./weights.js";

export interface Checkpoint<H> {
  /** What the training depends on (settings, data, seed): a checkpoint of another training is ignored. */
  fingerprint: string;
  /** Epochs completed. */
  epoch: number;
  history: H[];
  weights: HostWeights;
  adam: AdamState;
  /** The best epoch so far and its weights, when the training keeps the best. */
  best?: { epoch: number; weights: HostWeights };
}

interface TensorEntry {
  group: "weights" | "m" | "v" | "best";
  name: string;
  shape: number[];
  /** Offset in float32 elements. */
  offset: number;
}

interface Manifest<H> {
  format: "dag-train-checkpoint/2";
  fingerprint: string;
  epoch: number;
  bestEpoch: number | null;
  step: number;
  history: H[];
  data: string;
  tensors: TensorEntry[];
}

const MANIFEST = "checkpoint.json";

export function saveCheckpoint<H>(dir: string, ckpt: Checkpoint<H>): void {
  mkdirSync(dir, { recursive: true });
  const groups = { weights: ckpt.weights, m: ckpt.adam.m, v: ckpt.adam.v, best: ckpt.best?.weights ?? new Map() } as const;
  const tensors: TensorEntry[] = [];
  let total = 0;
  for (const [group, map] of Object.entries(groups) as [TensorEntry["group"], HostWeights][]) {
    for (const [name, t] of map) {
      tensors.push({ group, name, shape: t.shape, offset: total });
      total += t.values.length;
    }
  }
  const data = new Float32Array(total);
  for (const e of tensors) data.set(groups[e.group].get(e.name)!.values, e.offset);
  const dataName = `epoch-${ckpt.epoch}-${process.pid}.bin`;
  writeFileSync(join(dir, dataName), new Uint8Array(data.buffer));
  const manifest: Manifest<H> = {
    format: "dag-train-checkpoint/2", fingerprint: ckpt.fingerprint, epoch: ckpt.epoch, bestEpoch: ckpt.best?.epoch ?? null, step: ckpt.adam.step, history: ckpt.history, data: dataName, tensors,
  };
  const tmp = join(dir, `.${MANIFEST}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, join(dir, MANIFEST));
  for (const f of readdirSync(dir)) if (f.endsWith(".bin") && f !== dataName) rmSync(join(dir, f), { force: true });
}

/** The checkpoint in `dir`, or why there is none to resume from. */
export function loadCheckpoint<H>(dir: string, fingerprint: string): { checkpoint?: Checkpoint<H>; reason: string } {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return { reason: "no checkpoint" };
  let manifest: Manifest<H>;
  let bytes: Buffer;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest<H>;
    bytes = readFileSync(join(dir, manifest.data));
  } catch (error) {
    return { reason: `checkpoint in ${dir} is unreadable (${(error as Error).message}); starting over` };
  }
  if (manifest.format !== "dag-train-checkpoint/2" || manifest.fingerprint !== fingerprint) {
    return { reason: `checkpoint in ${dir} belongs to another training; starting over` };
  }
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const groups = { weights: new Map(), m: new Map(), v: new Map(), best: new Map() } as Record<TensorEntry["group"], HostWeights>;
  for (const e of manifest.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > data.length) return { reason: `checkpoint in ${dir} is truncated; starting over` };
    groups[e.group].set(e.name, { shape: e.shape, values: data.slice(e.offset, e.offset + n) });
  }
  return {
    checkpoint: {
      fingerprint, epoch: manifest.epoch, history: manifest.history, weights: groups.weights, adam: { step: manifest.step, m: groups.m, v: groups.v },
      ...(manifest.bestEpoch !== null ? { best: { epoch: manifest.bestEpoch, weights: groups.best } } : {}),
    },
    reason: `resuming after epoch ${manifest.epoch} from ${dir}`,
  };
}

export function removeCheckpoint(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
