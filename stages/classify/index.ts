/**
 * classify: a trained two-stream model labels the bouts of recordings without labels: per event
 * the fused class, its probability, each stream's, how many subsamples agree, an uncertain flag;
 * per recording the bouts per class and the bout rate, and a figure. See README.md.
 * TensorFlow.js loads inside run().
 */
import type { InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { BACKEND_PARAM } from "../../lib/model/backend-param.js";

const classify = {
  name: "classify",
  version: 1,
  description: "Classifies unlabelled samples with a trained two-stream model: per event the fused class and probability, each stream's, the subsamples that agree, an uncertain flag; per recording bouts per class, bout rate and a figure",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      uncertain_below: {
        type: "number", minimum: 0.5, maximum: 1, default: 0.8,
        description: "An event is flagged uncertain when its fused probability is below this (or its two streams disagree).",
      },
      classes: {
        type: ["array", "null"], items: { type: "string" }, minItems: 2, default: null,
        description: "The class names, by label, that the model must have been trained on (refused otherwise); null: the model's own.",
      },
      allow_mismatch: {
        type: "array", items: { type: "string" }, default: [],
        description: "Preprocessing parameters allowed to differ from the model's training samples (fps, crop, mask, flow ...), each still named in a warning. Empty: every difference refuses.",
      },
      backend: BACKEND_PARAM,
      batch: { type: "integer", minimum: 1, default: 64, description: "Samples per forward pass. No effect on results (each sample's numbers do not depend on its batch)." },
      memory_mb: { type: "integer", minimum: 0, default: 512, description: "Sample files kept in memory (MiB). No effect on results." },
    },
  },
  executionParams: ["backend", "batch", "memory_mb"],
  inputs: {
    model: { type: "artifact", description: "evaluate.model, or a model file: { file: models/lab/model.json } with its weights.bin beside it" },
    samples: { type: "collection", description: "flow.samples of the recordings to classify (labels not needed; when present, accuracy is reported)" },
    reports: { type: "collection", optional: true, description: "extract.reports of the same recordings: the motion trace for the figures, the recording's length for bout rates" },
  },
  outputs: {
    table: { type: "artifact", description: "events.csv and events.json (per event), recordings.csv (per recording), subsamples.h5 (per-subsample log-probabilities), summary.md" },
    recordings: { type: "collection", description: "per recording: figure.png (its motion trace, each bout coloured by its predicted class); meta bouts per class, bout rate" },
  },
  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const { classifySamples } = await import("./run.js");
    return classifySamples(ctx, params, inputs.model, inputs.samples, inputs.reports);
  },
} as const;

export type ClassifyParams = ParamsOf<typeof classify.params>;
export default classify satisfies StageKind;
