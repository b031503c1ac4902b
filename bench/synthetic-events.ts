/**
 * Synthetic events with a known tail midline, for the tail fitting and SVM benchmarks: recordings
 * rendered by lib/synth (the synthesize stage's renderer), cut into 150-frame events the way the
 * extract stage does (a crop of `crop` px with the bladder's tail-side end `crop_offset_px` from its
 * left edge and on its middle row, frames min-max normalised, 15 frames before the onset), but at
 * the ground truth's bladder position and bout onsets rather than detected ones.
 */
import { renderRecording } from "../lib/synth/recording.js";
import { recordingId, recordingParams, withDefaults } from "../lib/synth/params.js";
import { cropImage, minMaxNormalize } from "../lib/image/ops.js";

export interface SyntheticEvent {
  id: string;
  recording: string;
  label: 0 | 1;
  boutType: string;
  frames: Uint8Array;
  count: number;
  crop: number;
  /** frames x midlinePoints x (x, y) in crop pixels. */
  midline: Float32Array;
  midlinePoints: number;
  /** Frames (into the event) of the bout's first and last moving frame. */
  onset: number;
  offset: number;
}

export const EVENT_FRAMES = 150;
export const LEAD_FRAMES = 15;

export function* syntheticEvents(recordings: number, seed = 1): Generator<SyntheticEvent> {
  const params = withDefaults({ recordings, seed } as Parameters<typeof withDefaults>[0]);
  const crop = params.crop_px;
  for (let index = 0; index < recordings; index++) {
    const p = recordingParams(params, index);
    const r = renderRecording(p);
    const { rows, cols, count } = r.video;
    const [bx, by] = r.truth.fish.bladder_end_px;
    const rect = { top: Math.round(by) - Math.floor(crop / 2), left: Math.round(bx) - params.crop_offset_px, width: crop, height: crop };
    const n = r.truth.midline_points;
    const rec = recordingId(index);
    let e = 0;
    for (const bout of r.truth.bouts) {
      if (count < EVENT_FRAMES) continue;
      const start = Math.max(0, Math.min(count - EVENT_FRAMES, bout.onset - LEAD_FRAMES));
      const frames = new Uint8Array(EVENT_FRAMES * crop * crop);
      const midline = new Float32Array(EVENT_FRAMES * n * 2);
      for (let f = 0; f < EVENT_FRAMES; f++) {
        const src = r.video.frames.subarray((start + f) * rows * cols, (start + f + 1) * rows * cols);
        frames.set(minMaxNormalize(cropImage(src, cols, rect)), f * crop * crop);
        for (let k = 0; k < n; k++) {
          midline[2 * (f * n + k)] = r.midline[2 * ((start + f) * n + k)]! - rect.left;
          midline[2 * (f * n + k) + 1] = r.midline[2 * ((start + f) * n + k) + 1]! - rect.top;
        }
      }
      yield {
        id: `${rec}/ev${String(e++).padStart(2, "0")}`, recording: rec, label: p.label, boutType: bout.type,
        frames, count: EVENT_FRAMES, crop, midline, midlinePoints: n, onset: bout.onset - start, offset: bout.offset - start,
      };
    }
  }
}

/** Distance from (x, y) to the polyline of `n` points at `offset` (in numbers) of `line`. */
export function distanceToPolyline(x: number, y: number, line: ArrayLike<number>, offset: number, n: number): number {
  let best = Infinity;
  for (let i = 0; i + 1 < n; i++) {
    const ax = line[offset + 2 * i]!;
    const ay = line[offset + 2 * i + 1]!;
    const dx = line[offset + 2 * i + 2]! - ax;
    const dy = line[offset + 2 * i + 3]! - ay;
    const len = dx * dx + dy * dy;
    const t = len > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len)) : 0;
    best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
  }
  return best;
}
