/**
 * The paper's lossy storage of flow channels: each uint8 channel JPEG-compressed (quality 40 in
 * the paper). We keep the decoded pixels, so readers see the same uint8 layout either way.
 *
 * Only the lossy part of baseline JPEG changes pixels: per 8x8 block, level shift, forward DCT,
 * division by the quality-scaled luminance table with rounding, and the inverse. The entropy
 * coding after it is lossless, so it is skipped: this is about 20 times faster than encoding and
 * decoding with jpeg-js, and agrees with OpenCV's grey JPEG (libjpeg) at least as well (see
 * docs/benchmarks-flow.md). Tables and rounding follow the IJG's libjpeg (jcparam.c, jcdctmgr.c);
 * edge blocks are padded by repeating the last row and column, as libjpeg does.
 */

/** The IJG's luminance quantisation table at quality 50 (JPEG standard, Annex K), row-major. */
const LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/** libjpeg's jpeg_quality_scaling + jpeg_add_quant_table with force_baseline. */
export function luminanceTable(quality: number): Uint8Array {
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new RangeError(`jpeg: quality must be an integer in 1..100, got ${quality}`);
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  return Uint8Array.from(LUMINANCE, (q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))));
}

/**
 * libjpeg computes in integers, so exact halves are common (a flat block decodes to a multiple of
 * 1/8) and it rounds them up (away from zero when quantising). Our doubles land a hair either side
 * of such a half; a nudge far above their error (1e-13 here) and far below any other fraction
 * (1/8 at least) rounds them the same way.
 */
const TIE = 0.5 + 1e-7;

/** cos((2x + 1) u pi / 16) * C(u) / 2, the orthonormal 8-point DCT-II basis, [u * 8 + x]. */
const BASIS = Float64Array.from({ length: 64 }, (_, i) => {
  const u = Math.floor(i / 8);
  const x = i % 8;
  return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/** JPEG's lossy round trip of a grey plane at `quality` (1..100): the pixels a decoder would return. */
export function jpegRoundTrip(plane: Uint8Array, rows: number, cols: number, quality: number, dst = new Uint8Array(rows * cols)): Uint8Array {
  if (plane.length !== rows * cols) throw new RangeError(`jpeg: a ${rows}x${cols} plane holds ${rows * cols} pixels, got ${plane.length}`);
  const table = luminanceTable(quality);
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by < rows; by += 8) {
    for (let bx = 0; bx < cols; bx += 8) {
      for (let y = 0; y < 8; y++) {
        const r = Math.min(by + y, rows - 1) * cols;
        for (let x = 0; x < 8; x++) block[y * 8 + x] = plane[r + Math.min(bx + x, cols - 1)]! - 128;
      }
      dct(block, tmp, false);
      for (let i = 0; i < 64; i++) {
        // Round half away from zero, as libjpeg's quantiser does.
        const q = block[i]! / table[i]!;
        block[i] = (q < 0 ? -Math.floor(-q + TIE) : Math.floor(q + TIE)) * table[i]!;
      }
      dct(block, tmp, true);
      for (let y = 0; y < 8 && by + y < rows; y++) {
        for (let x = 0; x < 8 && bx + x < cols; x++) dst[(by + y) * cols + bx + x] = Math.min(255, Math.max(0, Math.floor(block[y * 8 + x]! + 128 + TIE)));
      }
    }
  }
  return dst;
}

/** Separable 8x8 DCT-II (or its inverse) in place; `tmp` holds the intermediate rows. */
function dct(block: Float64Array, tmp: Float64Array, inverse: boolean): void {
  // Rows, then columns: out[u] = sum_x B[u,x] in[x] forward; out[x] = sum_u B[u,x] in[u] inverse.
  for (let pass = 0; pass < 2; pass++) {
    const src = pass === 0 ? block : tmp;
    const out = pass === 0 ? tmp : block;
    for (let line = 0; line < 8; line++) {
      for (let k = 0; k < 8; k++) {
        let s = 0;
        for (let n = 0; n < 8; n++) {
          const b = inverse ? BASIS[n * 8 + k]! : BASIS[k * 8 + n]!;
          s += b * (pass === 0 ? src[line * 8 + n]! : src[n * 8 + line]!);
        }
        if (pass === 0) out[line * 8 + k] = s;
        else out[k * 8 + line] = s;
      }
    }
  }
}
