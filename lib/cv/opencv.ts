/**
 * OpenCV (WebAssembly build of @techstark/opencv-js), loaded once per thread on first use
 * (about 0.7 s). Only the part of the API this project uses is typed here, so that a typo
 * in a call is a compile error rather than a wasm abort.
 *
 * Mats live on the wasm heap: always delete() them, and read `mat.data` afresh after any
 * allocation (a growing heap detaches older views).
 */
import { createRequire } from "node:module";

export interface Size {
  width: number;
  height: number;
}

export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  readonly data32F: Float32Array;
  readonly data32S: Int32Array;
  type(): number;
  channels(): number;
  delete(): void;
  isDeleted(): boolean;
}

export interface MatVector {
  size(): number;
  get(i: number): Mat;
  delete(): void;
}

export interface CV {
  Mat: { new (): Mat; new (rows: number, cols: number, type: number): Mat };
  MatVector: { new (): MatVector };
  Size: { new (width: number, height: number): Size };
  CV_8UC1: number;
  CV_32FC1: number;
  CV_32FC2: number;
  BORDER_DEFAULT: number;
  THRESH_BINARY: number;
  THRESH_BINARY_INV: number;
  RETR_EXTERNAL: number;
  RETR_LIST: number;
  CHAIN_APPROX_NONE: number;
  CHAIN_APPROX_SIMPLE: number;
  INTER_LINEAR: number;
  INTER_AREA: number;
  GaussianBlur(src: Mat, dst: Mat, ksize: Size, sigmaX: number, sigmaY?: number, borderType?: number): void;
  threshold(src: Mat, dst: Mat, thresh: number, maxval: number, type: number): number;
  absdiff(a: Mat, b: Mat, dst: Mat): void;
  countNonZero(src: Mat): number;
  findContours(image: Mat, contours: MatVector, hierarchy: Mat, mode: number, method: number): void;
  contourArea(contour: Mat, oriented?: boolean): number;
  flip(src: Mat, dst: Mat, flipCode: number): void;
  resize(src: Mat, dst: Mat, dsize: Size, fx?: number, fy?: number, interpolation?: number): void;
  calcOpticalFlowFarneback(
    prev: Mat, next: Mat, flow: Mat, pyrScale: number, levels: number, winsize: number,
    iterations: number, polyN: number, polySigma: number, flags: number,
  ): void;
}

let loading: Promise<CV> | undefined;

/** The OpenCV module of this thread, initialised once. */
export function loadOpenCV(): Promise<CV> {
  loading ??= initialise();
  return loading;
}

/**
 * The emscripten runtime is a thenable whose then() hands back the runtime itself, so it must
 * never reach `await` or a promise's resolve (each would call then() again, forever: a busy
 * hang). Hence require() rather than import() (which, under vitest, exposes then() on the
 * namespace too), a direct then(callback), and no then() once the runtime is ready.
 */
async function initialise(): Promise<CV> {
  const required: unknown = createRequire(import.meta.url)("@techstark/opencv-js");
  const runtime = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const ready = (cv: Record<string, unknown>): void => {
      delete cv["then"];
      resolve(cv);
    };
    if (required instanceof Promise) {
      // Builds that export a promise of the runtime: take it from there without adopting it.
      required.then((cv: unknown) => ready(cv as Record<string, unknown>), reject);
      return;
    }
    const cv = required as Record<string, unknown>;
    if (typeof cv["then"] === "function") (cv["then"] as (f: (m: unknown) => void) => void)(() => ready(cv));
    else if (cv["Mat"]) ready(cv);
    else cv["onRuntimeInitialized"] = () => ready(cv);
  });
  return runtime as unknown as CV;
}

/** A new CV_8UC1 Mat holding a copy of `pixels`. */
export function grayMat(cv: CV, pixels: Uint8Array, rows: number, cols: number): Mat {
  const mat = new cv.Mat(rows, cols, cv.CV_8UC1);
  mat.data.set(pixels.subarray(0, rows * cols));
  return mat;
}

/** Runs `body` and deletes every Mat/MatVector it was handed, even when it throws. */
export function deleteAfter<T>(objects: { delete(): void }[], body: () => T): T {
  try {
    return body();
  } finally {
    for (const o of objects) o.delete();
  }
}
