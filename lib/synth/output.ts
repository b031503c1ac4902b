/**
 * Files of one synthetic recording: the video (HDF5 like the Stytra example, or an uncompressed
 * AVI), the ground-truth arrays (HDF5) and the ground truth's description (JSON).
 * The same recording gives the same bytes (lib/video/hdf5.ts pins HDF5's clock), so downstream
 * tasks stay cached when a recording is re-rendered.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeAviVideo } from "../video/avi-writer.js";
import { writeHdf5Arrays, writeHdf5Video } from "../video/hdf5.js";
import type { VideoFormat } from "./params.js";
import type { RecordingResult } from "./recording.js";

export interface RecordingFiles {
  [name: string]: string;
  video: string;
  truth: string;
  truth_json: string;
}

/** Writes the recording's files into `dir`; returns their names (relative to `dir`). */
export async function writeRecordingFiles(dir: string, result: RecordingResult, format: VideoFormat, gzip: number, signal?: AbortSignal): Promise<RecordingFiles> {
  const { video, truth } = result;
  const videoName = format === "avi" ? "video.avi" : "video.h5";
  if (format === "avi") writeAviVideo(join(dir, videoName), video);
  // The video is the long write (minutes at 1600x1200): it stops between slabs when the task is cancelled.
  else await writeHdf5Video(join(dir, videoName), video, { gzip, attrs: { generator: "zebrafish-dag synthesize" }, signal });

  const n = truth.midline_points;
  const frames = truth.frames;
  const json = JSON.stringify(truth);
  await writeHdf5Arrays(
      join(dir, "truth.h5"),
      [
        { name: "midline", data: result.midline, shape: [frames, n, 2], gzip: 4 },
        { name: "midline_mm", data: result.midlineBody, shape: [frames, n, 2], gzip: 4 },
        { name: "artifact_shift", data: result.artifactShift, shape: [frames, 2], gzip: 4 },
        { name: "tail_angle", data: result.tailAngle, shape: [frames], gzip: 4 },
      ],
      { framerate: video.fps, truth_json: json },
  );
  writeFileSync(join(dir, "truth.json"), JSON.stringify(truth, null, 1) + "\n");
  return { video: videoName, truth: "truth.h5", truth_json: "truth.json" };
}
