import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pipelineSchema } from "./pipeline-schema.js";
import { BUILTIN_STAGE_DIR, KindRegistry } from "./registry.js";
import type { JsonSchema } from "./stage-api.js";

/**
 * Write schemas/pipeline.schema.json: the pipeline's shape with every built-in kind's params,
 * so that editors (yaml-language-server) complete and check pipeline.yaml as it is typed.
 */
export async function generateSchema(): Promise<string> {
  const registry = new KindRegistry([BUILTIN_STAGE_DIR]);
  const params: Record<string, JsonSchema> = {};
  for (const name of registry.names()) params[name] = (await registry.load(name)).kind.params;
  return `${JSON.stringify(pipelineSchema({ params, names: registry.names() }), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL("../../schemas/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}pipeline.schema.json`, await generateSchema());
}
