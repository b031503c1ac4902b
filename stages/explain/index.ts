/**
 * explain: relevance heatmaps of the trained two-stream CNN (deep Taylor, LRP, saliency, guided
 * backprop), each stream on its own, and where the relevance lies as numbers: the share in the
 * corners that `mask` blanks against their share of the image, the fish's band, the flow frames.
 * See README.md. TensorFlow.js loads inside run().
 */
import type { InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { REGION_SCHEMA } from "../../lib/image/regions.js";
import { METHOD_NAMES } from "../../lib/explain/method-names.js";
import { BACKEND_PARAM } from "../../lib/model/backend-param.js";

const SPLIT = { type: "string", enum: ["train", "validation", "test"] } as const;

const explain = {
  name: "explain",
  version: 1,
  description: "Relevance heatmaps of the selected two-stream CNN (deep Taylor, LRP-epsilon, LRP-0, saliency, guided backprop) per sample, figures per class and outcome, relevance shares of regions, and the Clever Hans warning",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      splits: {
        oneOf: [{ type: "string", enum: ["train", "validation", "test", "all"] }, { type: "array", items: SPLIT, minItems: 1, uniqueItems: true }],
        default: "test",
        description: "Which split(s) to explain: test, validation, train, all, or a list.",
      },
      methods: {
        type: "array", items: { type: "string", enum: [...METHOD_NAMES] }, minItems: 1, uniqueItems: true, default: ["deep_taylor", "saliency"],
        description: "deep_taylor (z^B on the input layer, z+ above), lrp_epsilon, lrp_0, saliency (|gradient|), guided_backprop.",
      },
      target: {
        type: "string", enum: ["predicted", "label"], default: "predicted",
        description: "Which class each stream's explanation is for: the class the stream predicts, or the true label (deep Taylor cannot explain negative evidence, so a wrongly classified sample is then reported unexplained for it).",
      },
      epsilon: { type: "number", exclusiveMinimum: 0, default: 0.01, description: "LRP-epsilon's stabiliser (units of the layers' pre-activations)." },
      lrn_rule: {
        type: "string", enum: ["identity", "gradient"], default: "identity",
        description: "Rule at local response normalisation for deep_taylor and lrp_epsilon: identity (relevance passes unchanged; conserves) or gradient (gradient x input; does not conserve). lrp_0 always uses gradient.",
      },
      regions: {
        oneOf: [{ type: "null" }, { type: "array", items: REGION_SCHEMA }],
        default: null,
        description: "Regions whose relevance share is reported, in pixels of the samples' frames, as mask's regions. null: the paper's two left corner squares (85/256 of the frame's side), whether or not this run masked them.",
      },
      fish_band: {
        type: "object", additionalProperties: false, required: ["top", "bottom"], default: { top: 0.3, bottom: 0.72 },
        description: "Rows of the frame where the fish lies (fractions of its height; the bladder-anchored crop puts the body axis at mid height): its relevance share is the fish's, the rest the background's.",
        properties: { top: { type: "number", minimum: 0, maximum: 1 }, bottom: { type: "number", minimum: 0, maximum: 1 } },
      },
      clever_hans_ratio: {
        type: "number", exclusiveMinimum: 1, default: 2,
        description: "Warn when a region outside the fish holds more than this multiple of its area share of a class's relevance (deep Taylor or LRP).",
      },
      clever_hans_changed: {
        type: "number", exclusiveMinimum: 0, maximum: 1, default: 0.2,
        description: "Warn when zeroing a region outside the fish changes more than this share of a class's predictions by a stream (occlusion).",
      },
      window: { type: "integer", minimum: 1, default: 8, description: "Samples per window in the negatives-by-confidence figure (the paper: 104)." },
      temporal_maps: {
        type: "string", enum: ["channels", "summed"], default: "channels",
        description: "Per-sample temporal heatmaps in the HDF5 file: one per flow channel (x and y of every flow frame the network sees; 1.7 MB per sample at the default size) or summed over channels (at the paper's size, 34 MB per sample otherwise).",
      },
      backend: BACKEND_PARAM,
      batch: { type: "integer", minimum: 1, default: 16, description: "Samples per pass. No effect on results beyond float rounding." },
      memory_mb: { type: "integer", minimum: 0, default: 512, description: "Sample files kept in memory (MiB) per thread. No effect on results." },
      threads: { type: "integer", minimum: 0, default: 0, description: "Worker threads, each explaining a part of the samples on a backend of its own (the wasm backend runs one thread); 0: one per core. No effect on results." },
    },
  },
  executionParams: ["backend", "batch", "memory_mb", "threads"],
  inputs: {
    model: { type: "artifact", description: "evaluate.model: the selected model (model.json + weights.bin)" },
    samples: { type: "collection", description: "flow.samples: the samples the model was trained and evaluated on" },
    splits: { type: "artifact", description: "split.splits: the same splits" },
  },
  outputs: {
    heatmaps: { type: "artifact", description: "heatmaps-<method>.h5 per method: per sample spatial [n, H, W] and temporal [n, frames, 2, H, W] relevance, ids, labels, predictions, confidences" },
    report: { type: "artifact", description: "summary.json (region shares, flow frames, conservation, unexplained samples, warnings), report.md, samples.csv, figures as PNG per method" },
  },
  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const { explainModel } = await import("./run.js");
    return explainModel(ctx, params, inputs.model, inputs.samples, inputs.splits);
  },
} as const;

export type ExplainParams = ParamsOf<typeof explain.params>;
export default explain satisfies StageKind;
