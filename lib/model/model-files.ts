/**
 * TensorFlow.js's model format on disk without tfjs-node: model.json (topology, weights
 * manifest, our metadata) beside one weights.bin, and a `file://` router so that
 * `tf.loadLayersModel("file:///.../model.json")` works in Node as it does with tfjs-node.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Architecture } from "./architecture.js";
import { layerNameOf } from "./layers-model.js";
import { allWeightShapes } from "./architecture.js";
import type { HostWeights } from "./weights.js";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/** What we keep in model.json's `userDefinedMetadata`. */
export interface ModelMetadata {
  architecture: Architecture;
  /** How to turn a `samples` item into the two inputs (for other programs). */
  preprocessing: string;
  [key: string]: unknown;
}

export const PREPROCESSING =
  "inputs are channels-last crops of input_size pixels: `spatial` = the grey crop standardised to mean 0 and standard deviation 1 (1 channel); `temporal` = flow in pixels per frame pair " +
  "(decoded v = min + q/255 (max - min)), pairs 0, flow_stride, 2 flow_stride, ... with x and y interleaved; " +
  "crop 224/256 of the frame at offset 16/256 (the centre of the paper's 9 crops), resized to input_size with the flow scaled by the same factor";

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/**
 * An IOHandler that writes model.json + weights.bin into `dir`. model.json names the weights'
 * sha256 (`userDefinedMetadata.weights_sha256`): a pipeline that reads the model as
 * `{ file: model.json }` is keyed on model.json alone, so a weights.bin swapped beside it must
 * be refused, never used under the old key.
 */
export function folderSaver(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
      const manifest: tf.io.WeightsManifestConfig = [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }];
      const bytes = new Uint8Array(weights);
      writeFileSync(join(dir, WEIGHTS_BIN), bytes);
      const { modelTopology, format, generatedBy, convertedBy, userDefinedMetadata, trainingConfig } = artifacts;
      const metadata = userDefinedMetadata ? { ...userDefinedMetadata, weights_sha256: sha256(bytes) } : undefined;
      const json: tf.io.ModelJSON = { modelTopology: modelTopology as object, format, generatedBy, convertedBy, weightsManifest: manifest, ...(trainingConfig ? { trainingConfig } : {}), ...(metadata ? { userDefinedMetadata: metadata } : {}) };
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** Reads model.json and its weight files; `weightPaths` maps manifest names to files (default: beside model.json). */
export function fileLoader(modelJsonPath: string, weightPaths: Record<string, string> = {}): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(readFileSync(modelJsonPath, "utf8")) as tf.io.ModelJSON;
      const expected = (json.userDefinedMetadata as { weights_sha256?: unknown } | undefined)?.weights_sha256;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const paths = manifest.flatMap((group) => group.paths);
        const buffers = paths.map((p) => {
          const path = weightPaths[p] ?? join(dirname(modelJsonPath), p);
          const bytes = readFileSync(path);
          if (typeof expected === "string" && paths.length === 1 && sha256(bytes) !== expected) {
            throw new Error(`${path} is not the weights file ${modelJsonPath} was saved with (sha256 ${sha256(bytes).slice(0, 12)}..., model.json names ${expected.slice(0, 12)}...): copy model.json and ${p} together, from the same run`);
          }
          return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        });
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Lets tf.loadLayersModel / model.save take `file://` URLs (once; tfjs-node registers its own). */
export function registerFileRouter(): void {
  if (tf.io.getLoadHandlers("file:///x/model.json").length === 0) {
    tf.io.registerLoadRouter((url) => (typeof url === "string" && url.startsWith("file://") ? fileLoader(fileURLToPath(url)) : null) as tf.io.IOHandler);
  }
  if (tf.io.getSaveHandlers("file:///x").length === 0) {
    tf.io.registerSaveRouter((url) => (typeof url === "string" && url.startsWith("file://") ? folderSaver(fileURLToPath(url)) : null) as tf.io.IOHandler);
  }
}

export async function saveModel(model: tfl.LayersModel, dir: string, metadata: ModelMetadata): Promise<void> {
  model.setUserDefinedMetadata(metadata as unknown as Record<string, never>);
  await model.save(folderSaver(dir));
}

/**
 * Our architecture and weights from model files, without building a LayersModel: the
 * metadata names the architecture, the manifest the tensors.
 */
export async function readModel(modelJsonPath: string, weightPaths: Record<string, string> = {}): Promise<{ arch: Architecture; weights: HostWeights; metadata: ModelMetadata }> {
  const artifacts = await fileLoader(modelJsonPath, weightPaths).load!();
  const metadata = artifacts.userDefinedMetadata as unknown as ModelMetadata | undefined;
  if (!metadata?.architecture) throw new Error(`${modelJsonPath} has no architecture in its userDefinedMetadata: it was not saved by the train stage`);
  const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const weights: HostWeights = new Map();
  try {
    for (const { name, shape } of allWeightShapes(metadata.architecture)) {
      const t = decoded[`${layerNameOf(name)}/${name.split("/").at(-1)}`];
      if (!t) throw new Error(`${modelJsonPath} lacks the weight of layer ${layerNameOf(name)} (${name}): the file does not match its architecture`);
      if (t.shape.join() !== shape.join()) throw new Error(`${modelJsonPath}: ${name} is [${t.shape.join(", ")}], its architecture needs [${shape.join(", ")}]`);
      weights.set(name, { shape, values: t.dataSync() as Float32Array });
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
  return { arch: metadata.architecture, weights, metadata };
}
