/**
 * The networks the training benchmarks measure, and a seeded random batch for them in the form
 * the trainer takes (quantised flow and grey frames at the size whose crop is the input size,
 * so no resizing).
 */
import { cropGeometry, type StreamSample } from "../lib/model/input.js";
import { inputChannels, resolveArchitecture, type Architecture, type Stream } from "../lib/model/architecture.js";
import { Rng } from "../lib/random.js";
import { initialWeights, type HostWeights } from "../lib/model/weights.js";

export interface BenchNetwork {
  name: string;
  arch: Architecture;
  /** Both streams fused (the network), or the temporal stream alone (as the GPU figures). */
  streams: Stream[];
  /** A paper-size network: measured with the paper batch and fewer steps. */
  paper: boolean;
}

/** The default network with every conv and fc layer half as wide. */
export function halfWidth(arch: Architecture): Architecture {
  return { ...arch, conv: arch.conv.map((c) => ({ ...c, filters: Math.max(1, c.filters >> 1) })), fc: arch.fc.map((u) => Math.max(1, u >> 1)) };
}

export function benchNetworks(): BenchNetwork[] {
  const def = resolveArchitecture({ preset: "default" });
  const paper = resolveArchitecture({ preset: "paper" });
  return [
    { name: "default", arch: def, streams: ["spatial", "temporal"], paper: false },
    { name: "half", arch: halfWidth(def), streams: ["spatial", "temporal"], paper: false },
    { name: "paper", arch: paper, streams: ["spatial", "temporal"], paper: true },
    { name: "paper-temporal", arch: paper, streams: ["temporal"], paper: true },
  ];
}

/** The network's seeded initial weights, of its trained streams only. */
export function benchWeights(net: BenchNetwork): HostWeights {
  return new Map([...initialWeights(net.arch, 1)].filter(([name]) => net.streams.some((s) => name.startsWith(`${s}/`))));
}

export interface BenchBatch {
  samples: StreamSample[];
  augmentations: number[];
  labels: number[];
}

/** The side of a stored sample whose crop is exactly `inputSize` (128 for 112, 256 for 224). */
function sideFor(inputSize: number): number {
  for (let side = inputSize; ; side++) if (cropGeometry(side).size === inputSize) return side;
}

export function benchBatch(net: BenchNetwork, batch: number, seed = 1): BenchBatch {
  const rng = new Rng(seed);
  const side = sideFor(net.arch.input_size);
  const channels = inputChannels(net.arch, "temporal");
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
  const samples = Array.from({ length: batch }, (): StreamSample => ({
    flow: bytes(channels * side * side), range: Float32Array.from({ length: 2 * channels }, (_, i) => (i % 2 ? 1 : -1)),
    spatial: bytes(side * side), channels, rows: side, cols: side,
  }));
  return { samples, augmentations: samples.map((_, i) => i % 18), labels: samples.map((_, i) => i % 2) };
}
