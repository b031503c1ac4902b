/**
 * A grey video held in one contiguous buffer: frame-major, then row-major (frames x rows x cols),
 * the layout of an HDF5 `video` dataset, so reading and writing never reshuffle bytes.
 */
export interface Video {
  frames: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  fps: number;
}

/** Pixels per frame. */
export function frameSize(video: Pick<Video, "rows" | "cols">): number {
  return video.rows * video.cols;
}

/** Frame `i` as a view (no copy): writing to it writes into the video. */
export function frameAt(video: Video, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= video.count) {
    throw new RangeError(`frame ${i} is outside the video (0..${video.count - 1})`);
  }
  const size = frameSize(video);
  return video.frames.subarray(i * size, (i + 1) * size);
}

/** Frames [start, end) as a view sharing the buffer. */
export function sliceVideo(video: Video, start: number, end: number): Video {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= video.count)) {
    throw new RangeError(`frames [${start}, ${end}) are outside the video (0..${video.count})`);
  }
  const size = frameSize(video);
  return { ...video, frames: video.frames.subarray(start * size, end * size), count: end - start };
}

/** Builds a video, allocating zeroed frames when none are given, and checks the buffer's length. */
export function makeVideo(count: number, rows: number, cols: number, fps: number, frames?: Uint8Array): Video {
  const video: Video = { frames: frames ?? new Uint8Array(count * rows * cols), count, rows, cols, fps };
  assertVideo(video);
  return video;
}

/** Throws a RangeError naming what is inconsistent (dimensions, buffer length, fps). */
export function assertVideo(video: Video): void {
  const { count, rows, cols, fps, frames } = video;
  for (const [name, value] of [["count", count], ["rows", rows], ["cols", cols]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`video ${name} must be a non-negative integer, got ${value}`);
  }
  if (!(fps > 0 && Number.isFinite(fps))) throw new RangeError(`video fps must be a positive number, got ${fps}`);
  if (frames.length !== count * rows * cols) {
    throw new RangeError(`video buffer holds ${frames.length} bytes, expected ${count} x ${rows} x ${cols} = ${count * rows * cols}`);
  }
}
