/** The explain stage's per-sample files: heatmaps as HDF5, one CSV row per sample. */
import { METHOD_NAMES, type MethodName } from "../../lib/explain/methods.js";
import { STREAMS } from "../../lib/model/architecture.js";
import { writeHdf5Arrays, type ArrayDataset } from "../../lib/video/hdf5.js";
import type { ExplainParams } from "./index.js";
import type { Explained } from "./part.js";

export async function writeHeatmaps(path: string, e: Explained, name: MethodName, params: ExplainParams): Promise<void> {
  const side = e.arch.input_size;
  const n = e.samples.length;
  const frames = e.frameIndex.length;
  const per = (f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
  const perInt = (f: (i: number) => number): Int32Array => Int32Array.from({ length: n }, (_, i) => f(i));
  const datasets: ArrayDataset[] = [
    { name: "spatial", data: e.maps[name]!.spatial.stored, shape: [n, side, side], chunks: [1, side, side], gzip: 1 },
    {
      name: "temporal", data: e.maps[name]!.temporal.stored,
      shape: params.temporal_maps === "summed" ? [n, side, side] : [n, frames, 2, side, side],
      chunks: params.temporal_maps === "summed" ? [1, side, side] : [1, 1, 2, side, side], gzip: 1,
    },
    { name: "label", data: perInt((i) => e.samples[i]!.example.label), shape: [n] },
  ];
  for (const stream of [...STREAMS, "fused"] as const) {
    datasets.push({ name: `predicted_${stream}`, data: perInt((i) => e.samples[i]!.streams[stream].predicted), shape: [n] });
    datasets.push({ name: `confidence_${stream}`, data: per((i) => e.samples[i]!.streams[stream].confidence), shape: [n] });
  }
  for (const stream of STREAMS) {
    const maps = e.maps[name]![stream];
    datasets.push({ name: `target_${stream}`, data: perInt((i) => e.samples[i]!.streams[stream].target), shape: [n] });
    datasets.push({ name: `evidence_${stream}`, data: maps.evidence, shape: [n] });
    datasets.push({ name: `explained_${stream}`, data: Uint8Array.from(maps.reasons, (r) => (r === null ? 1 : 0)), shape: [n] });
  }
  await writeHdf5Arrays(path, datasets, {
    ids: e.samples.map((s) => s.example.id),
    method: name,
    target: params.target,
    flow_frames: e.frameIndex,
    input_size: side,
    crop: [e.geometry.crop.top, e.geometry.crop.left, e.geometry.crop.size],
    layout: params.temporal_maps === "summed"
      ? "spatial [sample, row, col]; temporal [sample, row, col] summed over flow channels; rows and cols of the network's input (a centre crop of the frame: crop = top, left, size)"
      : "spatial [sample, row, col]; temporal [sample, flow frame (see flow_frames), x|y, row, col]; rows and cols of the network's input (a centre crop of the frame: crop = top, left, size)",
    unexplained: JSON.stringify(e.samples.flatMap((s, i) => STREAMS.flatMap((stream) => {
      const reason = e.maps[name]![stream].reasons[i];
      return reason ? [{ id: s.example.id, stream, reason }] : [];
    }))),
  });
}

export function samplesCsv(e: Explained): string {
  const methods = METHOD_NAMES.filter((m) => m in e.maps);
  const head = ["id", "recording", "split", "label", ...[...STREAMS, "fused"].flatMap((s) => [`predicted_${s}`, `confidence_${s}`]), ...methods.flatMap((m) => STREAMS.flatMap((s) => [`${m}_${s}_evidence`, `${m}_${s}_unexplained`]))];
  const lines = [head.join(",")];
  e.samples.forEach((s, i) => {
    lines.push([
      JSON.stringify(s.example.id), JSON.stringify(s.example.recording), s.split, s.example.label,
      ...([...STREAMS, "fused"] as const).flatMap((st) => [s.streams[st].predicted, s.streams[st].confidence.toFixed(6)]),
      ...methods.flatMap((m) => STREAMS.flatMap((st) => [e.maps[m]![st].evidence[i]!.toPrecision(6), JSON.stringify(e.maps[m]![st].reasons[i] ?? "")])),
    ].join(","));
  });
  return `${lines.join("\n")}\n`;
}
