/**
 * Flow stored as uint8: each channel min-max scaled to 0..255 with its (min, max) kept to decode
 * `v = min + q / 255 * (max - min)` (FACTS.md, Augmentation; docs/artifacts.md, `samples`).
 * Rounding to the nearest level bounds the error by (max - min) / 510.
 */

/**
 * Quantises `count` values of `src` read at `srcOffset + i * srcStride` into `dst` from
 * `dstOffset`; returns the channel's [min, max]. A stride of 2 reads one component of an
 * interleaved (x, y) flow field without copying it.
 */
export function quantiseStrided(src: Float32Array, srcOffset: number, srcStride: number, count: number, dst: Uint8Array, dstOffset = 0): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  let finite = true;
  for (let i = 0, j = srcOffset; i < count; i++, j += srcStride) {
    const v = src[j]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v - v !== 0) finite = false; // NaN and +-Infinity
  }
  if (!finite || count === 0) {
    throw new RangeError(`quantise: the channel holds ${count === 0 ? "no values" : "non-finite values (NaN or infinity)"}; cannot scale it to 0..255`);
  }
  const scale = max > min ? 255 / (max - min) : 0;
  for (let i = 0, j = srcOffset; i < count; i++, j += srcStride) dst[dstOffset + i] = Math.round((src[j]! - min) * scale);
  return [min, max];
}

/**
 * Clamps every component of a flow field to [-bound, bound] pixels, in place. Farneback fills
 * textureless agarose next to a fast-moving tail with spurious vectors of tens to hundreds of
 * pixels; min-max quantisation would then spend its 255 levels on them and round the body's
 * sub-pixel motion away (two-stream networks clip their flow, commonly at 20 px, for this reason).
 */
export function clipFlow(field: Float32Array, bound: number): void {
  for (let i = 0; i < field.length; i++) {
    const v = field[i]!;
    if (v > bound) field[i] = bound;
    else if (v < -bound) field[i] = -bound;
  }
}

/** One channel to uint8 with its range. */
export function quantise(values: Float32Array): { q: Uint8Array; min: number; max: number } {
  const q = new Uint8Array(values.length);
  const [min, max] = quantiseStrided(values, 0, 1, values.length, q);
  return { q, min, max };
}

/** One channel back to float32. */
export function dequantise(q: Uint8Array, min: number, max: number, dst = new Float32Array(q.length)): Float32Array {
  const step = (max - min) / 255;
  for (let i = 0; i < q.length; i++) dst[i] = min + q[i]! * step;
  return dst;
}

/**
 * Quantises an interleaved flow field (rows x cols x 2, as FarnebackFlow returns) into channels
 * 2k (x) and 2k+1 (y) of a planar stack, and their ranges into `range` ([channels, 2]).
 */
export function quantiseFlowPair(flow: Float32Array, pairIndex: number, stack: Uint8Array, range: Float32Array): void {
  const plane = flow.length / 2;
  for (let component = 0; component < 2; component++) {
    const channel = 2 * pairIndex + component;
    if ((channel + 1) * plane > stack.length || (channel + 1) * 2 > range.length) {
      throw new RangeError(`quantise: pair ${pairIndex} does not fit a stack of ${stack.length / plane} channels`);
    }
    const [min, max] = quantiseStrided(flow, component, 2, plane, stack, channel * plane);
    range[2 * channel] = min;
    range[2 * channel + 1] = max;
  }
}

/** A planar uint8 stack ([channels, rows, cols]) and its ranges ([channels, 2]) back to float32. */
export function dequantiseStack(stack: Uint8Array, range: Float32Array, dst = new Float32Array(stack.length)): Float32Array {
  const channels = range.length / 2;
  const plane = stack.length / channels;
  if (!Number.isInteger(plane)) throw new RangeError(`dequantise: ${stack.length} values do not split into ${channels} channels`);
  for (let c = 0; c < channels; c++) {
    dequantise(stack.subarray(c * plane, (c + 1) * plane), range[2 * c]!, range[2 * c + 1]!, dst.subarray(c * plane, (c + 1) * plane));
  }
  return dst;
}
