/**
 * The file of an input that a stage reads, found one way by every stage: the file it names, else the
 * input's only file. The second covers what a `{ file }` or `{ glob }` binding gives (one file, which
 * the engine names `data`) and another stage's one-file output; with several files and none of that
 * name there is no guessing: the stage says which it wants.
 */
import type { ArtifactIn } from "../engine/stage-api.js";

export function mainFile(input: Pick<ArtifactIn, "files">, name: string): string | undefined {
  const named = input.files[name];
  if (named !== undefined) return named;
  const files = Object.values(input.files);
  return files.length === 1 ? files[0] : undefined;
}

/** An input's file names for a message that says what it has instead: "frames, preview", or "none". */
export function fileNames(input: Pick<ArtifactIn, "files">): string {
  return Object.keys(input.files).join(", ") || "none";
}
