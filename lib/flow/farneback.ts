/**
 * Farneback dense optical flow through OpenCV's WebAssembly build. The caller loads OpenCV
 * (`loadOpenCV()` from lib/cv/opencv.ts) and passes it in, so this module stays light to import.
 */
import type { CV, Mat } from "../cv/opencv.js";

/** `cv.calcOpticalFlowFarneback`'s parameters, named as in OpenCV's Python binding. */
export interface FarnebackParams {
  /** Scale between pyramid levels (< 1). */
  pyr_scale: number;
  /** Pyramid levels below full resolution (OpenCV drops those smaller than 32 px). */
  levels: number;
  /** Averaging window (pixels). */
  winsize: number;
  /** Iterations per pyramid level. */
  iterations: number;
  /** Neighbourhood of the polynomial expansion (pixels). */
  poly_n: number;
  /** Standard deviation of the Gaussian that weights the expansion (pixels). */
  poly_sigma: number;
  /** 0, or 256 (OPTFLOW_FARNEBACK_GAUSSIAN: Gaussian instead of box window). */
  flags: 0 | 256;
}

/** The paper's parameters (FACTS.md, Augmentation). */
export const PAPER_FARNEBACK: Readonly<FarnebackParams> = Object.freeze({
  pyr_scale: 0.8,
  levels: 10,
  winsize: 10,
  iterations: 10,
  poly_n: 13,
  poly_sigma: 1.8,
  flags: 0,
});

/** Throws a RangeError naming the parameter when OpenCV would reject it or abort. */
export function checkFarnebackParams(p: FarnebackParams): void {
  if (!(p.pyr_scale > 0 && p.pyr_scale < 1)) throw new RangeError(`farneback: pyr_scale must be in (0, 1), got ${p.pyr_scale}`);
  if (!Number.isInteger(p.levels) || p.levels < 0) throw new RangeError(`farneback: levels must be a whole number >= 0, got ${p.levels}`);
  for (const name of ["winsize", "iterations", "poly_n"] as const) {
    if (!Number.isInteger(p[name]) || p[name] < 1) throw new RangeError(`farneback: ${name} must be a positive integer, got ${p[name]}`);
  }
  if (!(p.poly_sigma > 0)) throw new RangeError(`farneback: poly_sigma must be positive, got ${p.poly_sigma}`);
  if (p.flags !== 0 && p.flags !== 256) throw new RangeError(`farneback: flags must be 0 or 256 (Gaussian window), got ${p.flags}`);
}

/**
 * Flow between frames of one size. The three Mats live for the whole object, so a sequence of
 * pairs allocates nothing on the wasm heap; call delete() when done.
 */
export class FarnebackFlow {
  private readonly prev: Mat;
  private readonly next: Mat;
  private readonly flow: Mat;

  constructor(
    private readonly cv: CV,
    readonly rows: number,
    readonly cols: number,
    readonly params: FarnebackParams = PAPER_FARNEBACK,
  ) {
    checkFarnebackParams(params);
    this.prev = new cv.Mat(rows, cols, cv.CV_8UC1);
    this.next = new cv.Mat(rows, cols, cv.CV_8UC1);
    this.flow = new cv.Mat(rows, cols, cv.CV_32FC2);
  }

  /**
   * Flow that carries `prev` onto `next`: rows x cols x 2 float32, (x, y) per pixel in pixels,
   * x to the right, y downwards. Written into `out` when given.
   */
  pair(prev: Uint8Array, next: Uint8Array, out = new Float32Array(this.rows * this.cols * 2)): Float32Array {
    const size = this.rows * this.cols;
    if (prev.length !== size || next.length !== size) {
      throw new RangeError(`farneback: frames must hold ${this.rows}x${this.cols} = ${size} pixels, got ${prev.length} and ${next.length}`);
    }
    if (out.length !== size * 2) throw new RangeError(`farneback: output must hold ${size * 2} values, got ${out.length}`);
    // Views into the heap are taken afresh each time: the heap may have grown since.
    this.prev.data.set(prev);
    this.next.data.set(next);
    const p = this.params;
    try {
      this.cv.calcOpticalFlowFarneback(this.prev, this.next, this.flow, p.pyr_scale, p.levels, p.winsize, p.iterations, p.poly_n, p.poly_sigma, p.flags);
    } catch (error) {
      throw new Error(`cv.calcOpticalFlowFarneback failed: ${openCvMessage(this.cv, error)}`);
    }
    out.set(this.flow.data32F.subarray(0, size * 2));
    return out;
  }

  delete(): void {
    this.prev.delete();
    this.next.delete();
    this.flow.delete();
  }
}

/** OpenCV.js throws a cv::Exception as a bare heap pointer (a number): turn it into its message. */
function openCvMessage(cv: CV, error: unknown): string {
  const fromPtr = (cv as unknown as { exceptionFromPtr?(ptr: number): { msg?: string } }).exceptionFromPtr;
  if (typeof error === "number" && fromPtr) return fromPtr(error).msg ?? `exception ${error}`;
  return error instanceof Error ? error.message : String(error);
}

/** Flow of one pair (rows x cols x 2 float32, x then y). For sequences, reuse a FarnebackFlow. */
export function farnebackPair(cv: CV, prev: Uint8Array, next: Uint8Array, rows: number, cols: number, params: FarnebackParams = PAPER_FARNEBACK): Float32Array {
  const flow = new FarnebackFlow(cv, rows, cols, params);
  try {
    return flow.pair(prev, next);
  } finally {
    flow.delete();
  }
}
