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

/**
 * Every frame resized to `cols` x `rows` (OpenCV: area averaging when shrinking, which does not
 * alias; bilinear when enlarging).
 */
export async function resizeVideo(video: Video, cols: number, rows: number): Promise<Video> {
  const { loadOpenCV } = await import("../cv/opencv.js");
  const cv = await loadOpenCV();
  const inSize = frameSize(video);
  const outSize = rows * cols;
  const frames = new Uint8Array(video.count * outSize);
  const src = new cv.Mat(video.rows, video.cols, cv.CV_8UC1);
  const dst = new cv.Mat(rows, cols, cv.CV_8UC1);
  const shrink = cols * rows < video.cols * video.rows;
  try {
    for (let i = 0; i < video.count; i++) {
      src.data.set(video.frames.subarray(i * inSize, (i + 1) * inSize));
      cv.resize(src, dst, new cv.Size(cols, rows), 0, 0, shrink ? cv.INTER_AREA : cv.INTER_LINEAR);
      frames.set(dst.data.subarray(0, outSize), i * outSize);
    }
  } finally {
    src.delete();
    dst.delete();
  }
  return { frames, count: video.count, rows, cols, fps: video.fps };
}
