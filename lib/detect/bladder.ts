/**
 * The paper's crop: find the swim bladder on a video's first frame and place a crop just past
 * it, on the tail's side, so that the head (eyes) stays out.
 *
 * Steps (Breier & Onken 2020, appendix B): min-max normalise, Gaussian blur 3x3, gamma
 * correction with gamma = exp(-skewness / 4.3), binary threshold at 3, contours, drop contours
 * under 0.01 % of the frame, keep the extreme point on the tail side over what remains.
 *
 * Threshold mapping: the bladder is the darkest part, so its pixels are those <= 3 after gamma.
 * cv.threshold(THRESH_BINARY_INV, 3) sets exactly those pixels to 255 (it keeps `v > 3` as 0),
 * and findContours(RETR_EXTERNAL) then outlines the dark blobs themselves. The paper's code
 * used THRESH_BINARY and found the blobs as holes of the white background; a hole's outline runs
 * over the white pixels around it, so its right-most point is one pixel further right than ours,
 * which lies on the bladder's own last pixel.
 */
import { deleteAfter, grayMat, loadOpenCV } from "../cv/opencv.js";
import { applyLut, gammaLut, minMaxNormalize, pixelRange, skewness, type Rect } from "../image/ops.js";

export type Orientation = "head-left" | "head-right";

export interface BladderParams {
  /** Pixels <= threshold (after gamma) are candidate bladder pixels. */
  threshold: number;
  /** gamma = exp(-skewness / gammaDivisor); the paper tuned it to 4.3. */
  gammaDivisor: number;
  /** Gaussian blur kernel (odd); 3 in the paper. */
  blurSize: number;
  /** Contours with area <= this fraction of the frame are noise (0.01 % = 1e-4). */
  minAreaFraction: number;
  cropWidth: number;
  cropHeight: number;
  /** Columns of the crop on the head's side of the bladder point (10: the bladder's end). */
  leftOffset: number;
  /** head-left: tail to the right (the paper's videos); head-right: the mirror image. */
  orientation: Orientation;
}

export const BLADDER_DEFAULTS: Readonly<BladderParams> = Object.freeze({
  threshold: 3,
  gammaDivisor: 4.3,
  blurSize: 3,
  minAreaFraction: 1e-4,
  cropWidth: 256,
  cropHeight: 256,
  leftOffset: 10,
  orientation: "head-left",
});

/** Parameters as a user writes them: any subset, and `cropSize` for a square crop. */
export type BladderOptions = Partial<BladderParams> & { cropSize?: number };

export interface BladderResult {
  found: boolean;
  /** The bladder's extreme point on the tail side; -1 when not found. */
  x: number;
  y: number;
  /** Clamped to the frame, and no larger than it. When not found: centred in the frame. */
  crop: Rect;
  gamma: number;
  skewness: number;
  /** Contours kept (larger than the minimum area), and those dropped as too small. */
  contours: number;
  smallContours: number;
  reason?: string;
  /** With `debug`: the gamma-corrected frame and the threshold mask (255 = candidate). */
  images?: { corrected: Uint8Array; mask: Uint8Array };
}

export function bladderParams(options: BladderOptions = {}): BladderParams {
  const { cropSize, ...rest } = options;
  const fromSize = cropSize === undefined ? {} : { cropWidth: cropSize, cropHeight: cropSize };
  const params: BladderParams = { ...BLADDER_DEFAULTS, ...fromSize, ...stripUndefined(rest) };
  if (params.blurSize < 1 || params.blurSize % 2 !== 1) throw new RangeError(`blurSize must be odd and positive, got ${params.blurSize}`);
  if (!(params.cropWidth >= 1 && params.cropHeight >= 1)) throw new RangeError(`crop size must be positive, got ${params.cropWidth}x${params.cropHeight}`);
  if (params.orientation !== "head-left" && params.orientation !== "head-right") {
    throw new RangeError(`orientation must be "head-left" or "head-right", got ${String(params.orientation)}`);
  }
  return params;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The crop for a bladder point: `cropHeight` rows centred on y; columns starting `leftOffset`
 * before x towards the head (head-left: left = x - offset; head-right: right = x + offset,
 * inclusive), shifted back inside the frame, and shrunk to the frame when larger than it.
 */
export function cropAroundBladder(x: number, y: number, rows: number, cols: number, params: BladderParams): Rect {
  const width = Math.min(params.cropWidth, cols);
  const height = Math.min(params.cropHeight, rows);
  const left = params.orientation === "head-left" ? x - params.leftOffset : x + params.leftOffset - width + 1;
  const top = y - Math.floor(params.cropHeight / 2);
  return { top: clamp(top, 0, rows - height), left: clamp(left, 0, cols - width), width, height };
}

/** Where to crop when there is no bladder: the middle of the frame. */
function centredCrop(rows: number, cols: number, params: BladderParams): Rect {
  const width = Math.min(params.cropWidth, cols);
  const height = Math.min(params.cropHeight, rows);
  return { top: Math.floor((rows - height) / 2), left: Math.floor((cols - width) / 2), width, height };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Finds the bladder on one grey frame (usually a video's first). Never throws for a missing fish. */
export async function detectBladder(
  frame: Uint8Array, rows: number, cols: number, options: BladderOptions = {}, debug = false,
): Promise<BladderResult> {
  const params = bladderParams(options);
  if (frame.length < rows * cols) throw new RangeError(`frame holds ${frame.length} pixels, expected ${rows}x${cols}`);
  const pixels = frame.subarray(0, rows * cols);
  const range = pixelRange(pixels);
  if (range.max === range.min) {
    const crop = centredCrop(rows, cols, params);
    return { found: false, x: -1, y: -1, crop, gamma: 1, skewness: 0, contours: 0, smallContours: 0, reason: `the frame is flat (every pixel is ${range.min}): no fish to find` };
  }
  const cv = await loadOpenCV();

  const src = grayMat(cv, minMaxNormalize(pixels), rows, cols);
  const blurred = new cv.Mat();
  const mask = new cv.Mat();
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  return deleteAfter([src, blurred, mask, contours, hierarchy], () => {
    cv.GaussianBlur(src, blurred, new cv.Size(params.blurSize, params.blurSize), 0, 0, cv.BORDER_DEFAULT);
    const skew = skewness(blurred.data);
    const gamma = Math.exp(-skew / params.gammaDivisor);
    applyLut(blurred.data, gammaLut(gamma), blurred.data);
    const corrected = debug ? blurred.data.slice() : undefined;

    cv.threshold(blurred, mask, params.threshold, 255, cv.THRESH_BINARY_INV);
    const maskCopy = debug ? mask.data.slice() : undefined;
    cv.findContours(mask, contours, hierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_NONE);

    const minArea = params.minAreaFraction * rows * cols;
    const towardsTail = params.orientation === "head-left" ? 1 : -1;
    let kept = 0;
    let best: { x: number; y: number; area: number } | undefined;
    for (let i = 0; i < contours.size(); i++) {
      const contour = contours.get(i);
      try {
        const area = cv.contourArea(contour);
        if (!(area > minArea)) continue;
        kept++;
        const point = extremePoint(contour.data32S, towardsTail);
        const better = !best || towardsTail * (point.x - best.x) > 0 || (point.x === best.x && area > best.area);
        if (better) best = { ...point, area };
      } finally {
        contour.delete();
      }
    }

    const images = corrected && maskCopy ? { images: { corrected, mask: maskCopy } } : {};
    const common = { gamma, skewness: skew, contours: kept, smallContours: contours.size() - kept, ...images };
    if (!best) {
      const reason = contours.size() === 0
        ? `no pixel is <= ${params.threshold} after gamma correction (gamma ${gamma.toFixed(3)}): no dark blob to call the bladder`
        : `all ${contours.size()} dark blobs are smaller than ${(params.minAreaFraction * 100).toPrecision(2)} % of the frame (${minArea.toFixed(1)} px)`;
      return { found: false, x: -1, y: -1, crop: centredCrop(rows, cols, params), ...common, reason };
    }
    return { found: true, x: best.x, y: best.y, crop: cropAroundBladder(best.x, best.y, rows, cols, params), ...common };
  });
}

/**
 * The contour's right-most (direction 1) or left-most (-1) point. Its edge there is often a
 * vertical run of pixels: take the run's middle row, not whichever the tracing met first.
 */
function extremePoint(xy: Int32Array, direction: 1 | -1): { x: number; y: number } {
  let x = xy[0]!;
  for (let i = 2; i < xy.length; i += 2) if (direction * (xy[i]! - x) > 0) x = xy[i]!;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (let i = 0; i < xy.length; i += 2) {
    if (xy[i] !== x) continue;
    const y = xy[i + 1]!;
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
  }
  return { x, y: Math.round((yMin + yMax) / 2) };
}
