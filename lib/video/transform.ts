/** Whole-video versions of the image helpers: one output buffer, no per-frame allocation. */
import { cropImage, minMaxNormalize, type Rect } from "../image/ops.js";
import { frameSize, type Video } from "./types.js";

/** Crops every frame to `rect` (which must lie inside the frame). */
export function cropVideo(video: Video, rect: Rect): Video {
  const inSize = frameSize(video);
  const outSize = rect.width * rect.height;
  const frames = new Uint8Array(video.count * outSize);
  for (let i = 0; i < video.count; i++) {
    cropImage(video.frames.subarray(i * inSize, (i + 1) * inSize), video.cols, rect, frames.subarray(i * outSize, (i + 1) * outSize));
  }
  return { frames, count: video.count, rows: rect.height, cols: rect.width, fps: video.fps };
}

/** Min-max normalises each frame on its own (the paper normalises every cropped frame). */
export function normalizeFrames(video: Video): Video {
  const size = frameSize(video);
  const frames = new Uint8Array(video.frames.length);
  for (let i = 0; i < video.count; i++) {
    minMaxNormalize(video.frames.subarray(i * size, (i + 1) * size), frames.subarray(i * size, (i + 1) * size));
  }
  return { ...video, frames };
}
