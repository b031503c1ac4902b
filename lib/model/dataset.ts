/**
 * The labelled samples of one split and a memory-bounded cache of their files, so that an epoch
 * reads each sample file once when the data fits in `limitBytes` and streams it otherwise.
 */
import { readFlowSample } from "../flow/files.js";
import { selectChannels, type StreamSample } from "./input.js";

export interface ExampleRef {
  id: string;
  recording: string;
  label: number;
  /** The HDF5 `sample` file (docs/artifacts.md, `samples`). */
  path: string;
}

export interface SampleSource {
  get(example: ExampleRef): Promise<StreamSample>;
}

/** Reads sample files, keeps the channels the network sees, and caches up to `limitBytes`. */
export class SampleCache implements SampleSource {
  private readonly cache = new Map<string, StreamSample>();
  private bytes = 0;

  constructor(private readonly channels: number[], private readonly limitBytes: number) {}

  async get(example: ExampleRef): Promise<StreamSample> {
    const hit = this.cache.get(example.path);
    if (hit) {
      // Re-insert: Map order is then least recently used first.
      this.cache.delete(example.path);
      this.cache.set(example.path, hit);
      return hit;
    }
    let sample: StreamSample;
    try {
      sample = selectChannels(await readFlowSample(example.path), this.channels);
    } catch (error) {
      throw new Error(`sample ${example.id}: ${(error as Error).message}`);
    }
    const size = sample.flow.length + sample.spatial.length + sample.range.byteLength;
    while (this.bytes + size > this.limitBytes && this.cache.size > 0) {
      const [oldest, old] = this.cache.entries().next().value as [string, StreamSample];
      this.cache.delete(oldest);
      this.bytes -= old.flow.length + old.spatial.length + old.range.byteLength;
    }
    if (size <= this.limitBytes) {
      this.cache.set(example.path, sample);
      this.bytes += size;
    }
    return sample;
  }
}

/** Samples given directly (tests, benchmarks). */
export class MemorySource implements SampleSource {
  constructor(private readonly samples: Map<string, StreamSample>) {}
  async get(example: ExampleRef): Promise<StreamSample> {
    const s = this.samples.get(example.id);
    if (!s) throw new Error(`no sample "${example.id}"`);
    return s;
  }
}
