/**
 * Grey-image helpers in plain TypeScript: one pass over the pixels, lookup tables instead of
 * per-pixel arithmetic, and an optional `dst` so per-frame loops allocate nothing.
 */

/** A rectangle in pixels; `top`/`left` inclusive. */
export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Smallest and largest pixel value. */
export function pixelRange(src: Uint8Array): { min: number; max: number } {
  let min = 255;
  let max = 0;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (min === 0 && max === 255) break; // cannot widen further: most natural frames stop early
  }
  return src.length === 0 ? { min: 0, max: 0 } : { min, max };
}

/** Round half to even, as OpenCV's saturate_cast (cvRound) does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Min-max normalisation to 0..255, as cv.normalize(NORM_MINMAX) computes it on 8-bit images:
 * scale and shift rounded to float32, v * scale + shift rounded once (the fused multiply-add
 * of desktop OpenCV on x86, the paper's platform), then to the nearest integer, ties to even.
 * (OpenCV.js rounds the product first and differs by 1 for about 0.06 % of values.) A flat
 * image (max == min) becomes all 0, as in OpenCV.
 */
export function minMaxNormalize(src: Uint8Array, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  const { min, max } = pixelRange(src);
  if (min === 0 && max === 255) {
    if (dst !== src) dst.set(src); // already full range: the identity
    return dst;
  }
  const lut = new Uint8Array(256);
  if (max > min) {
    const scale = 255 * (1 / (max - min));
    const a = Math.fround(scale);
    const b = Math.fround(0 - min * scale);
    // v * a is exact in a double and the sum of it and b too: one rounding, to float32.
    for (let v = min; v <= max; v++) lut[v] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(v * a + b))));
  }
  return applyLut(src, lut, dst);
}

/** dst[i] = lut[src[i]] (in place when dst is src). */
export function applyLut(src: Uint8Array, lut: Uint8Array, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  if (dst.length < src.length) throw new RangeError(`destination holds ${dst.length} pixels, need ${src.length}`);
  for (let i = 0; i < src.length; i++) dst[i] = lut[src[i]!]!;
  return dst;
}

/** 256-bin histogram. */
export function histogram(src: Uint8Array): Float64Array {
  const bins = new Float64Array(256);
  for (let i = 0; i < src.length; i++) bins[src[i]!]!++;
  return bins;
}

/**
 * Sample skewness m3 / m2^1.5 with population moments (scipy.stats.skew's default, bias=True),
 * computed from the histogram. A flat image has no defined skewness: 0, so that gamma = 1.
 */
export function skewness(src: Uint8Array): number {
  const bins = histogram(src);
  const n = src.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let v = 0; v < 256; v++) sum += v * bins[v]!;
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  for (let v = 0; v < 256; v++) {
    const c = bins[v]!;
    if (c === 0) continue;
    const d = v - mean;
    m2 += c * d * d;
    m3 += c * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  return m2 > 0 ? m3 / Math.pow(m2, 1.5) : 0;
}

/**
 * Gamma lookup table: floor(clip(255 * (v/255)^gamma, 0, 255)). The floor matches NumPy's cast
 * of the float result to uint8, which is what the paper's pipeline did.
 */
export function gammaLut(gamma: number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const y = Math.pow(v / 255, gamma) * 255;
    lut[v] = Math.trunc(Math.min(255, Math.max(0, y)));
  }
  return lut;
}

/** Copies `rect` out of an image `srcCols` wide. The rect must lie inside the image. */
export function cropImage(src: Uint8Array, srcCols: number, rect: Rect, dst: Uint8Array = new Uint8Array(rect.width * rect.height)): Uint8Array {
  const srcRows = srcCols > 0 ? src.length / srcCols : 0;
  if (rect.left < 0 || rect.top < 0 || rect.left + rect.width > srcCols || rect.top + rect.height > srcRows) {
    throw new RangeError(`crop ${JSON.stringify(rect)} leaves the ${srcRows}x${srcCols} image`);
  }
  for (let r = 0; r < rect.height; r++) {
    const from = (rect.top + r) * srcCols + rect.left;
    dst.set(src.subarray(from, from + rect.width), r * rect.width);
  }
  return dst;
}

/** Mirror left-right (a new image). */
export function mirrorX(src: Uint8Array, cols: number, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  const rows = src.length / cols;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[o + c] = src[o + cols - 1 - c]!;
  }
  return dst;
}

/** Sets every pixel of `rect` (clipped to the image) to `value`. */
export function fillRect(img: Uint8Array, cols: number, rect: Rect, value: number): void {
  const rows = img.length / cols;
  const top = Math.max(0, rect.top);
  const left = Math.max(0, rect.left);
  const bottom = Math.min(rows, rect.top + rect.height);
  const right = Math.min(cols, rect.left + rect.width);
  for (let r = top; r < bottom; r++) img.fill(value, r * cols + left, r * cols + right);
}
