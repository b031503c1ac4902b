/**
 * The fish's scale: how far the resting tail reaches (lib/detect/tail-length.ts), whether it runs
 * past the crop, and with `crop_size: auto` the crop that holds it. A recording at another
 * magnification then needs no guessing: its crop is fitted and resized to one output size.
 */
import { cropAroundBladder, type BladderParams } from "../../lib/detect/bladder.js";
import { tailExtent } from "../../lib/detect/tail-length.js";
import type { Rect } from "../../lib/image/ops.js";
import type { Video } from "../../lib/video/types.js";

export interface TailFit {
  /** The tail as measured (null: no tail traced from the bladder). */
  length_px: number | null;
  tip: [number, number] | null;
  at_frame_edge: boolean;
  /** The crop side that holds the tail: offset + length + margin (pixels of the recording). */
  fitting_size: number | null;
}

export function measureTail(video: Video, bladder: { x: number; y: number; found: boolean }, params: BladderParams, margin: number): TailFit {
  const tail = bladder.found ? tailExtent(video, bladder, params.orientation) : null;
  if (!tail) return { length_px: null, tip: null, at_frame_edge: false, fitting_size: null };
  return {
    length_px: tail.lengthPx,
    tip: [tail.tipX, tail.tipY],
    at_frame_edge: tail.atFrameEdge,
    fitting_size: Math.ceil(params.leftOffset + tail.lengthPx * (1 + margin)) + 2,
  };
}

/** The tip lies outside the crop, or on its far edge. */
export function tailPastCrop(fit: TailFit, crop: Rect, params: BladderParams): boolean {
  if (!fit.tip) return false;
  const x = fit.tip[0];
  return params.orientation === "head-left" ? x >= crop.left + crop.width - 1 : x <= crop.left;
}

/** The crop for `crop_size: auto`: square, of the fitting size, placed as the paper places it. */
export function autoCrop(bladder: { x: number; y: number }, fit: TailFit, rows: number, cols: number, params: BladderParams): Rect | null {
  if (fit.fitting_size === null) return null;
  return cropAroundBladder(bladder.x, bladder.y, rows, cols, { ...params, cropWidth: fit.fitting_size, cropHeight: fit.fitting_size });
}

/** A sentence for the log when the tail does not fit, or null. */
export function tailWarning(fit: TailFit, pastCrop: boolean, crop: Rect, auto: boolean): string | null {
  if (fit.length_px === null) return null;
  if (fit.at_frame_edge) return `the tail (at least ${fit.length_px} px from the bladder) runs to the frame's edge: the recording cuts it off`;
  if (!pastCrop) return null;
  const side = Math.max(crop.width, crop.height);
  return auto
    ? `the tail (${fit.length_px} px from the bladder) runs past the ${side}-px crop the frame allows`
    : `the tail (${fit.length_px} px from the bladder) runs past the ${side}-px crop: set crop_size: auto, or crop_size >= ${fit.fitting_size}`;
}
