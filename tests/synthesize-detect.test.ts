/**
 * The synthetic recordings survive the paper's pre-processing: its bladder detection (gamma,
 * threshold at 3, extreme contour) finds the bladder, the crop fits, and its motion detection
 * (blur, threshold at 200, 0.38 % changed, runs of 6 frames) finds every rendered bout at its onset.
 */
import { describe, expect, it } from "vitest";
import { detectBladder } from "../lib/detect/bladder.js";
import { classifyMotion, cutEvents, motionProfile } from "../lib/detect/motion.js";
import { recordingParams, withDefaults, type Orientation } from "../lib/synth/params.js";
import { renderRecording } from "../lib/synth/recording.js";
import { cropVideo, normalizeFrames } from "../lib/video/transform.js";
import { loadOpenCV } from "../lib/cv/opencv.js";
import { farnebackPair } from "../lib/flow/farneback.js";
import { cropImage, minMaxNormalize } from "../lib/image/ops.js";

/** Onsets may be detected this many frames late (the paper's events start 15 frames earlier). */
const ONSET_TOLERANCE = 4;

async function check(index: number, orientation: Orientation) {
  const params = withDefaults({ orientation });
  const p = recordingParams(params, index);
  const r = renderRecording(p);
  const { rows, cols } = r.video;
  const bladder = await detectBladder(r.video.frames.subarray(0, rows * cols), rows, cols, {
    cropSize: p.crop_px, leftOffset: p.crop_offset_px, orientation,
  });
  const [bx, by] = r.truth.fish.bladder_end_px;
  const profile = await motionProfile(normalizeFrames(cropVideo(r.video, bladder.crop)));
  const moving = classifyMotion(profile);
  const cut = cutEvents(moving, r.video.count);
  // The largest change between two rest frames (no bout, no artifact).
  let restChange = 0;
  for (let f = 1; f < r.video.count; f++) {
    if (r.truth.bouts.some((b) => f >= b.onset && f <= b.offset + 25)) continue;
    restChange = Math.max(restChange, profile.changed[f]!);
  }
  return { p, r, bladder, bx, by, cut, restChange };
}

describe("synthesize + the paper's pre-processing", () => {
  // The whole default dataset (24 recordings), and a few in the mirrored layout.
  const cases: [number, Orientation][] = [
    ...Array.from({ length: 24 }, (_, i): [number, Orientation] => [i, "head-left"]),
    ...[0, 1, 2, 3].map((i): [number, Orientation] => [i, "head-right"]),
  ];

  it.each(cases)("recording %i (%s): bladder found, crop inside the frame, every bout's onset detected", async (index, orientation) => {
    const { p, r, bladder, bx, by, cut, restChange } = await check(index, orientation);

    expect(bladder.found, bladder.reason).toBe(true);
    // The bladder's extreme point on the tail side, within two pixels of the rendered one.
    expect(Math.abs(bladder.x - bx)).toBeLessThanOrEqual(2);
    expect(Math.abs(bladder.y - by)).toBeLessThanOrEqual(2);
    // The eyes are dark too but lie on the head's side: at most they add contours.
    expect(bladder.contours).toBeGreaterThanOrEqual(1);
    // The crop was placed as the paper places it, not pushed back into the frame.
    const expectedLeft = orientation === "head-left" ? bladder.x - p.crop_offset_px : bladder.x + p.crop_offset_px - p.crop_px + 1;
    expect(bladder.crop.left).toBe(expectedLeft);
    expect(bladder.crop.top).toBe(bladder.y - p.crop_px / 2);
    expect(bladder.crop.width).toBe(p.crop_px);
    // The resting tail lies inside the crop.
    const n = r.truth.midline_points;
    for (let k = 0; k < n; k++) {
      const x = r.midline[2 * k]!;
      const y = r.midline[2 * k + 1]!;
      expect(x).toBeGreaterThanOrEqual(bladder.crop.left);
      expect(x).toBeLessThan(bladder.crop.left + bladder.crop.width);
      expect(y).toBeGreaterThanOrEqual(bladder.crop.top);
      expect(y).toBeLessThan(bladder.crop.top + bladder.crop.height);
    }

    // Rest is still for the motion detector (0.38 % is its threshold).
    expect(restChange).toBeLessThan(0.0038);
    expect(cut.minRunUsed).toBe(6);
    expect(cut.events).toHaveLength(r.truth.bouts.length);
    r.truth.bouts.forEach((b, i) => {
      const e = cut.events[i]!;
      expect(e.onset, `bout ${i} (${b.type}) at ${b.onset}`).not.toBeNull();
      expect(e.onset! - b.onset, `bout ${i} (${b.type}) at ${b.onset} detected at ${e.onset}`).toBeGreaterThanOrEqual(0);
      expect(e.onset! - b.onset, `bout ${i} (${b.type}) at ${b.onset} detected at ${e.onset}`).toBeLessThanOrEqual(ONSET_TOLERANCE);
      // The event (150 frames from 15 before the onset) holds the whole bout.
      expect(e.start).toBeLessThanOrEqual(b.onset);
      expect(e.end).toBeGreaterThan(b.offset);
    });
  });
});

describe("the artifact, as optical flow sees it", () => {
  /** Mean |flow| (paper's Farneback parameters) in the crop's top-left 85/256 corner, bout frames vs rest frames. */
  async function cornerFlow(index: number) {
    const cv = await loadOpenCV();
    const p = recordingParams(withDefaults({}), index);
    const r = renderRecording(p);
    const { rows, cols } = r.video;
    const c = p.crop_px;
    const k = Math.round((85 / 256) * c);
    const [bx, by] = r.truth.fish.bladder_end_px;
    const rect = { top: Math.round(by) - c / 2, left: Math.round(bx) - p.crop_offset_px, width: c, height: c };
    const frame = (f: number) => minMaxNormalize(cropImage(r.video.frames.subarray(f * rows * cols, (f + 1) * rows * cols), cols, rect));
    const corner = (f: number) => {
      const flow = farnebackPair(cv, frame(f), frame(f + 1), c, c);
      let sum = 0;
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) sum += Math.hypot(flow[2 * (y * c + x)]!, flow[2 * (y * c + x) + 1]!);
      return sum / (k * k);
    };
    const bout: number[] = [];
    const rest: number[] = [];
    for (const b of r.truth.bouts.slice(0, 2)) {
      for (let f = b.onset; f < b.offset; f += 2) bout.push(corner(f));
      for (let f = b.onset - 40; f < b.onset - 10; f += 2) rest.push(corner(f));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { cls: p.class, bout: mean(bout), rest: mean(rest) };
  }

  it("moves the corner's flow during spontaneous bouts only", async () => {
    const spontaneous = await cornerFlow(1);
    const prey = await cornerFlow(0);
    expect(spontaneous.cls).toBe("spontaneous");
    expect(prey.cls).toBe("prey");
    expect(spontaneous.bout).toBeGreaterThan(1.25 * spontaneous.rest);
    expect(prey.bout).toBeLessThan(1.15 * prey.rest);
  });
});
