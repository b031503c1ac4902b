/**
 * evaluate: picks the grid point with the best validation accuracy and reports train,
 * validation and test metrics of its spatial, temporal and fused outputs, like the paper's
 * Table 1. See README.md. TensorFlow.js loads inside run().
 */
import type { InputsOf, ParamsOf, StageContext, StageKind } from "../../engine/stage-api.js";
import { BACKEND_PARAM } from "../../lib/model/backend-param.js";

const evaluate = {
  name: "evaluate",
  version: 2, // 2: F1 = 2TP / (2TP + FP + FN), defined (0) where precision is not, as the svm's
  description: "Selects the trained model with the best validation accuracy; accuracy, precision, recall, F1 and confusion per split and stream (the paper's Table 1)",
  params: {
    type: "object",
    additionalProperties: false,
    properties: {
      backend: BACKEND_PARAM,
      batch: { type: "integer", minimum: 1, default: 64, description: "Samples per forward pass. No effect on results beyond float rounding." },
      memory_mb: { type: "integer", minimum: 0, default: 512, description: "Sample files kept in memory (MiB). No effect on results." },
    },
  },
  // The backend changes float rounding only (README: results across backends), the others speed.
  executionParams: ["backend", "batch", "memory_mb"],
  inputs: {
    models: { type: "collection", description: "train.models: one model per grid point, meta validation_accuracy" },
    samples: { type: "collection", description: "flow.samples: the samples the models were trained on" },
    splits: { type: "artifact", description: "split.splits: the same splits the models were trained with" },
  },
  outputs: {
    report: { type: "artifact", description: "metrics.json (per split and stream), table.md (Table 1 and details), predictions.csv (per sample)" },
    model: { type: "artifact", description: "the selected model: model.json + weights.bin, history.json" },
  },
  async run(ctx: StageContext, params: ParamsOf<typeof this.params>, inputs: InputsOf<typeof this.inputs>) {
    const { evaluateModels } = await import("./run.js");
    return evaluateModels(ctx, params, inputs.models, inputs.samples, inputs.splits);
  },
} as const;

export type EvaluateParams = ParamsOf<typeof evaluate.params>;
export default evaluate satisfies StageKind;
