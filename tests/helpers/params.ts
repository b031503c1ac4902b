/** A kind's params as the engine hands them to `run`: the given ones, checked, every default filled in. */
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import type { StageKind } from "../../engine/stage-api.js";

export function withSchemaDefaults<K extends StageKind>(kind: K, given: object = {}): Parameters<K["run"]>[1] {
  const params: unknown = structuredClone(given);
  const validate = new Ajv({ strict: false, useDefaults: true, allErrors: true }).compile<Parameters<K["run"]>[1]>(kind.params);
  if (!validate(params)) throw new Error(`${kind.name} params: ${JSON.stringify(validate.errors)}`);
  return params;
}
