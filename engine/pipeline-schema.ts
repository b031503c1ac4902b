import type { JsonSchema } from "./stage-api.js";

export const STAGE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_-]*$";
/** A stage's name is a folder name under results/ and part of its task folders' names in .dag/tmp. */
export const STAGE_NAME_MAX = 64;
export const STAGE_REF_PATTERN = "^[A-Za-z_][A-Za-z0-9_-]*\\.[A-Za-z_][A-Za-z0-9_]*$";

/** Where a stage input comes from: another stage's output, files matched by a glob, or one file. */
export const inputSchema: JsonSchema = {
  description: "Where this input comes from: `<stage>.<output>`, `{ glob: pattern }` (a collection of files) or `{ file: path }`.",
  oneOf: [
    { type: "string", pattern: STAGE_REF_PATTERN, description: "another stage's output, as <stage>.<output>" },
    {
      type: "object",
      additionalProperties: false,
      required: ["glob"],
      properties: { glob: { type: "string", minLength: 1, description: "files relative to the pipeline file; each file is one item" } },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["file"],
      properties: { file: { type: "string", minLength: 1, description: "one file relative to the pipeline file" } },
    },
  ],
};

/**
 * What each task of a stage asks of the machine that runs it (engine/stage-api.ts `Resources`):
 * execution settings, outside every key. The local pool ignores them; SLURM maps each to sbatch.
 */
export const resourcesSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  description: "what each task asks of the machine (SLURM: sbatch options); outside the key: changing it reruns nothing",
  properties: {
    cpus: { type: "integer", minimum: 1, description: "CPU cores per task (sbatch --cpus-per-task)" },
    mem_mb: { type: "integer", minimum: 1, description: "memory per task in MiB (sbatch --mem)" },
    gpus: { type: "integer", minimum: 0, description: "GPUs per task (sbatch --gres=gpu:N)" },
    time_min: { type: "integer", minimum: 1, description: "wall-clock limit per task in minutes (sbatch --time)" },
    partition: { type: "string", pattern: "^[^\\s,]+$", description: "the cluster partition (sbatch --partition)" },
    sbatch: {
      type: "array",
      items: { type: "string", pattern: "^--?[A-Za-z]", description: "one sbatch option, e.g. --account=lab" },
      description: "extra sbatch options, each as one string: [--account=lab, --constraint=a100]",
    },
  },
};

/** The shape of a pipeline file; each stage's `params` are checked against its kind's own schema. */
export function pipelineSchema(stageSchemas: { params: Record<string, JsonSchema>; names: string[] }): JsonSchema {
  const stage = (kind?: string): JsonSchema => ({
    type: "object",
    additionalProperties: false,
    properties: {
      kind: kind
        ? { const: kind, description: "the stage kind (defaults to the stage's name)" }
        : { type: "string", ...(stageSchemas.names.length ? { enum: stageSchemas.names } : {}), description: "the stage kind (defaults to the stage's name)" },
      description: { type: "string" },
      inputs: { type: "object", additionalProperties: { $ref: "#/$defs/input" } },
      params: kind && stageSchemas.params[kind] ? stageSchemas.params[kind] : { type: "object" },
      resources: resourcesSchema,
    },
  });
  const named: Record<string, JsonSchema> = {};
  for (const name of stageSchemas.names) named[name] = stage(name);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://zebrafish-dag.local/schemas/pipeline.schema.json",
    title: "dag pipeline",
    type: "object",
    additionalProperties: false,
    required: ["stages"],
    properties: {
      seed: { type: "integer", minimum: 0, default: 0, description: "the seed every task's own seed is derived from" },
      cache: { type: "string", default: ".dag", description: "cache directory, relative to the pipeline file" },
      results: { type: "string", default: "results", description: "where each stage's outputs are linked for people to look at" },
      stage_paths: { type: "array", items: { type: "string" }, description: "extra folders of stage kinds, relative to the pipeline file" },
      stages: {
        type: "object",
        minProperties: 1,
        propertyNames: { pattern: STAGE_NAME_PATTERN, maxLength: STAGE_NAME_MAX },
        properties: named,
        additionalProperties: {
          ...stage(),
          ...(stageSchemas.names.length
            ? {
                allOf: stageSchemas.names.map((name) => ({
                  if: { required: ["kind"], properties: { kind: { const: name } } },
                  then: { properties: { params: stageSchemas.params[name] } },
                })),
              }
            : {}),
        },
      },
    },
    $defs: { input: inputSchema },
  };
}
