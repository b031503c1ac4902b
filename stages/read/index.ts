/**
 * read: per user file, one recording in the project's format (HDF5 `video` [frames, rows, cols]
 * uint8, root attribute `framerate`), with its label, orientation and frame rate. See README.md.
 */
import { join } from "node:path";
import type { ArtifactIn, InputsOf, JsonObject, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { CLASS_NAMES } from "../../lib/classes.js";
import { fileNames, mainFile } from "../../lib/main-file.js";
import { labelFromCsv, labelFromFolder, readLabelCsv, type FoundLabel } from "./labels.js";

const read = {
  name: "read",
  version: 1,
  description: "Per user file: a recording (HDF5 video, AVI / MP4 / MOV through FFmpeg, or a folder of PNG / TIFF frames) in the project's HDF5 format, with label, orientation and frame rate",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      format: {
        type: "string", enum: ["auto", "hdf5", "ffmpeg", "images"], default: "auto",
        description: "How to read each file. auto: by extension (.h5 .hdf5 .hdf .he5: hdf5; .avi .mp4 .mov .mkv .m4v .webm .mpg .mpeg .wmv: ffmpeg; .png .tif .tiff .txt: images).",
      },
      dataset: { type: ["string", "null"], default: null, description: "HDF5: path of the video dataset (uint8 or uint16 frames x rows x columns, or frames x rows x columns x 1). null: the file's only such dataset." },
      fps: {
        type: ["number", "null"], exclusiveMinimum: 0, default: null,
        description: "Frame rate (frames/s). null: the file's own (HDF5 attribute framerate or fps; the video container's rate). Given, it wins over the file's (high-speed cameras often store a playback rate). Required for image frames.",
      },
      orientation: {
        type: "string", enum: ["head-left", "head-right"], default: "head-left",
        description: "Where the head is in the frame: head-left (tail to the right, the paper's recordings) or head-right (the Stytra example). Passed on as the recording's meta `orientation`; extract uses it.",
      },
      images: {
        type: "string", enum: ["folder", "file"], default: "folder",
        description: "A PNG / TIFF the glob matched is the first frame of a folder of frames, which is one recording (folder), or a recording on its own, e.g. a multi-page TIFF (file). A frames.txt is always a list of frames.",
      },
      sixteen_bit: {
        type: "string", enum: ["minmax", "high_byte"], default: "minmax",
        description: "16-bit PNG / TIFF frames, uint16 HDF5 datasets, and videos of more than 8 bits per sample (gray16le, yuv420p10le, ...), to 8 bits: minmax maps the recording's own value range linearly to 0..255 (one mapping for all its frames); high_byte keeps the upper 8 bits.",
      },
      labels_from: {
        type: "string", enum: ["auto", "folder", "csv", "none"], default: "auto",
        description: "Where a recording's class comes from. csv: the labels input; folder: the nearest folder on its path named in label_folders; none: no labels; auto: csv when a labels input is given, else folder where the path has such a folder, else none.",
      },
      label_folders: {
        type: "object", additionalProperties: { type: "integer", enum: [0, 1] }, default: { spon: 0, spontaneous: 0, prey: 1 },
        description: "Folder names (any case) that give a class: 0 = spontaneous, 1 = prey (the paper's folders: spon/, prey/).",
      },
      unlabelled: {
        type: "string", enum: ["fail", "keep"], default: "fail",
        description: "With labels_from csv or folder (or auto with a labels input), a recording that gets no label: fail its item (fail), or keep it without a label (keep).",
      },
      gzip: { type: "integer", minimum: 0, maximum: 9, default: 4, description: "gzip level of the recording files (0 = none, 9 = smallest)." },
    },
  },
  inputs: {
    videos: { type: "collection", each: true, description: "the recordings' files, e.g. { glob: \"data/**/*.h5\" }: HDF5, AVI / MP4 / MOV, a frame folder's first frame or frames.txt" },
    labels: { type: "artifact", optional: true, description: "a CSV with a header and the columns recording,label (label: spontaneous / prey or 0 / 1)" },
  },
  outputs: {
    recordings: {
      type: "collection",
      description: "one item per input file, named like it: `video` (HDF5 dataset `video` [frames, rows, cols] uint8, root attribute `framerate`); meta label, class (absent when unlabelled), fps, frames, rows, cols, orientation, source, format",
    },
  },

  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const item = inputs.videos;
    const path = mainFile(item, "data");
    const rel = typeof item.meta["path"] === "string" ? item.meta["path"] : item.id;
    if (!path) throw new Error(`read: item ${item.id} has no one file (it has: ${fileNames(item)}): feed it a glob, e.g. videos: { glob: "data/**/*.h5" }`);
    const fail = (message: string): Error => new Error(`read: recording ${rel}: ${message}`);

    const found = findLabel(rel, params, inputs.labels, fail);

    const { readRecording } = await import("../../lib/video/read.js");
    const recording = await readRecording(path, {
      format: params.format,
      dataset: params.dataset ?? undefined,
      fps: params.fps ?? undefined,
      images: params.images,
      sixteenBit: params.sixteen_bit,
      signal: ctx.signal,
    }).catch((error: Error) => {
      throw fail(error.message);
    });
    const { video, source } = recording;
    ctx.progress(1, 2);
    if (params.fps !== null && source.fileFps !== undefined && Math.abs(source.fileFps - params.fps) > 1e-6) {
      ctx.log(`${rel}: the file says ${source.fileFps} frames/s; using the fps parameter, ${params.fps}`);
    }

    const { writeHdf5Video } = await import("../../lib/video/hdf5.js");
    const attrs: Record<string, string | number> = { source: rel, orientation: params.orientation, format: source.detail };
    if (found) attrs["label"] = found.label;
    await writeHdf5Video(join(ctx.outDir, "video.h5"), video, { dataset: "video", gzip: params.gzip, attrs });
    ctx.progress(2, 2);
    ctx.log(`${rel}: ${video.count} frames of ${video.cols}x${video.rows} at ${video.fps} frames/s, ${source.format}; ${found ? `${CLASS_NAMES[found.label]} (${found.from})` : "unlabelled"}`);

    const meta: JsonObject = {
      fps: video.fps,
      frames: video.count,
      rows: video.rows,
      cols: video.cols,
      orientation: params.orientation,
      source: rel,
      format: source.format,
      ...(source.bitDepth === 16 ? { bit_depth: 16 } : {}),
      ...(found ? { label: found.label, class: CLASS_NAMES[found.label], label_from: found.from } : {}),
    };
    return { recordings: { files: { video: "video.h5" }, meta } };
  },
} as const;

export type ReadParams = ParamsOf<typeof read.params>;

/** A CSV cell as written: quoted when it holds a comma, a quote or a line break ("b, c.h5"). */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The recording's label by labels_from, or undefined (unlabelled), or an error saying what to fix. */
function findLabel(rel: string, params: ReadParams, labels: ArtifactIn | undefined, fail: (m: string) => Error): FoundLabel | undefined {
  const csvPath = labels ? mainFile(labels, "data") : undefined;
  if (labels && !csvPath) throw fail(`the labels input holds no one CSV file (it has: ${fileNames(labels)}): give it as labels: { file: labels.csv }`);
  const csvName = typeof labels?.meta["path"] === "string" ? labels.meta["path"] : "the labels file";
  const isFolder = /\.txt$/i.test(rel) || (params.images === "folder" && /\.(png|tiff?)$/i.test(rel));
  const mode = params.labels_from;
  if (mode === "none") {
    if (labels) throw fail(`a labels input is given but labels_from is none: set labels_from to csv (or auto), or remove the labels input`);
    return undefined;
  }
  if (mode === "csv" && !csvPath) throw fail(`labels_from is csv but the stage has no labels input: add inputs: { labels: { file: labels.csv } } (columns recording,label)`);
  try {
    if (mode === "csv" || (mode === "auto" && csvPath)) {
      const found = labelFromCsv(readLabelCsv(csvPath!), csvName, rel, isFolder);
      // auto with a labels file is csv: a recording it does not name is a mistake to report.
      if (!found && params.unlabelled === "fail") throw new Error(`no row of ${csvName} names it: add a line ${csvCell(rel)},spontaneous (or prey), or set unlabelled: keep to leave it without a label`);
      return found;
    }
    const found = labelFromFolder(rel, params.label_folders);
    if (!found && mode === "folder" && params.unlabelled === "fail") {
      throw new Error(`no folder on its path is named ${Object.keys(params.label_folders).join(" or ")}: move it into one, set label_folders, or set unlabelled: keep`);
    }
    return found;
  } catch (error) {
    throw fail((error as Error).message);
  }
}

export default read satisfies StageKind;
