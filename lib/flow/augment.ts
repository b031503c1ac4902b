/**
 * The paper's geometric augmentation of flow stacks and spatial frames: crops and the vertical
 * flip. Stacks are planar, [channels, rows, cols], with channel 2k = x and 2k+1 = y of flow
 * pair k (docs/artifacts.md). A vertical flip (row r -> rows-1-r) turns downward motion into
 * upward motion, so it must negate the y channels: the paper's code did not (FACTS.md, "four
 * places", 2); we do.
 */

type Pixels = Uint8Array | Float32Array;

function checkStack(length: number, channels: number, rows: number, cols: number): void {
  if (length !== channels * rows * cols) {
    throw new RangeError(`flow stack holds ${length} values, expected ${channels} x ${rows} x ${cols} = ${channels * rows * cols}`);
  }
}

/** Mirrors the rows of every plane of a stack (works for one plane: channels = 1). */
export function flipRows<T extends Pixels>(stack: T, channels: number, rows: number, cols: number, dst?: T): T {
  checkStack(stack.length, channels, rows, cols);
  const out = dst ?? (new (stack.constructor as new (n: number) => T)(stack.length));
  if (out === stack) throw new RangeError("flipRows cannot flip in place: give another dst");
  for (let c = 0; c < channels; c++) {
    const base = c * rows * cols;
    for (let r = 0; r < rows; r++) {
      const from = base + r * cols;
      out.set(stack.subarray(from, from + cols) as never, base + (rows - 1 - r) * cols);
    }
  }
  return out;
}

/** Vertical flip of a float flow stack: rows mirrored, y channels (odd) negated. */
export function flipFlowVertical(stack: Float32Array, channels: number, rows: number, cols: number, dst?: Float32Array): Float32Array {
  if (channels % 2 !== 0) throw new RangeError(`a flow stack has an even number of channels (x, y per pair), got ${channels}`);
  const out = flipRows(stack, channels, rows, cols, dst);
  const plane = rows * cols;
  for (let c = 1; c < channels; c += 2) {
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = -out[i]!;
  }
  return out;
}

/**
 * Vertical flip of a quantised stack, exactly: -(min + q s) = -max + (255 - q) s with
 * s = (max - min) / 255, so a y channel becomes 255 - q with range (-max, -min).
 */
export function flipQuantisedFlowVertical(
  stack: Uint8Array, range: Float32Array, rows: number, cols: number,
): { stack: Uint8Array; range: Float32Array } {
  const channels = range.length / 2;
  if (channels % 2 !== 0) throw new RangeError(`a flow stack has an even number of channels (x, y per pair), got ${channels}`);
  const out = flipRows(stack, channels, rows, cols);
  const outRange = Float32Array.from(range);
  const plane = rows * cols;
  for (let c = 1; c < channels; c += 2) {
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = 255 - out[i]!;
    outRange[2 * c] = -range[2 * c + 1]!;
    outRange[2 * c + 1] = -range[2 * c]!;
  }
  return { stack: out, range: outRange };
}

/** The paper's 9 crop origins (top, left): every combination of 8, 16, 24 pixels. */
export const PAPER_CROP_OFFSETS: readonly (readonly [number, number])[] = [8, 16, 24].flatMap((top) => [8, 16, 24].map((left) => [top, left] as const));

/** Cuts the same height x width window out of every plane of a stack. */
export function cropStack<T extends Pixels>(
  stack: T, channels: number, rows: number, cols: number, top: number, left: number, height: number, width: number,
): T {
  checkStack(stack.length, channels, rows, cols);
  if (!(Number.isInteger(top) && Number.isInteger(left) && top >= 0 && left >= 0 && top + height <= rows && left + width <= cols)) {
    throw new RangeError(`crop ${height}x${width} at (top ${top}, left ${left}) leaves the ${rows}x${cols} frame`);
  }
  const out = new (stack.constructor as new (n: number) => T)(channels * height * width);
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < height; r++) {
      const from = c * rows * cols + (top + r) * cols + left;
      out.set(stack.subarray(from, from + width) as never, (c * height + r) * width);
    }
  }
  return out;
}

/** An interleaved flow field (rows x cols x 2) as a planar stack [2, rows, cols] (x plane, then y). */
export function interleavedToPlanar(flow: Float32Array): Float32Array {
  const plane = flow.length / 2;
  const out = new Float32Array(flow.length);
  for (let i = 0; i < plane; i++) {
    out[i] = flow[2 * i]!;
    out[plane + i] = flow[2 * i + 1]!;
  }
  return out;
}
