/**
 * Compile-time checks, run by `npm run typecheck` (never executed): a kind's `run` takes the types of
 * its params and inputs from its own declaration, as engine/stage-api.ts promises.
 */
import { expectTypeOf } from "vitest";
import type { ArtifactIn, CollectionIn, ItemIn, ParamsOf } from "../engine/stage-api.js";
import mask from "../stages/mask/index.js";
import svm from "../stages/svm/index.js";
import synthesize from "../stages/synthesize/index.js";
import train from "../stages/train/index.js";
import type { RecordingParams } from "../lib/synth/params.js";
import numbers from "./fixtures/stages/numbers/index.js";
import square from "./fixtures/stages/square/index.js";

// Inputs: `each: true` arrives as one item, a collection as a collection, an optional artifact maybe not at all.
expectTypeOf<Parameters<typeof mask.run>[2]["events"]>().toEqualTypeOf<ItemIn>();
expectTypeOf<Parameters<typeof svm.run>[2]["features"]>().toEqualTypeOf<CollectionIn>();
expectTypeOf<Parameters<typeof svm.run>[2]["splits"]>().toEqualTypeOf<ArtifactIn | undefined>();
expectTypeOf<Parameters<typeof train.run>[2]["splits"]>().toEqualTypeOf<ArtifactIn>();

// Params: a property with a default is present (the engine fills it in); one without stays optional.
expectTypeOf<Parameters<typeof mask.run>[1]["gzip"]>().toEqualTypeOf<number>();
expectTypeOf<Parameters<typeof svm.run>[1]["kernels"]>().toEqualTypeOf<("rbf" | "linear")[]>();
type Declared = ParamsOf<{ type: "object"; additionalProperties: false; properties: { a: { type: "integer"; default: 1 }; b: { type: ["string", "null"] } } }>;
expectTypeOf<Declared>().toEqualTypeOf<{ a: number; b?: string | null }>();

// Generator stages: run receives the params of the items split lists.
expectTypeOf<Parameters<typeof train.run>[1]["lr"]>().toEqualTypeOf<number>();
expectTypeOf<Parameters<typeof synthesize.run>[1]>().toEqualTypeOf<RecordingParams>();

// The test fixtures declare themselves as the stages do: run's params and inputs from the declaration.
expectTypeOf<Parameters<typeof square.run>[1]>().toEqualTypeOf<{ offset: number; fail_on: number | null; threads: number }>();
expectTypeOf<Parameters<typeof square.run>[2]["values"]>().toEqualTypeOf<ItemIn>();
expectTypeOf<Parameters<typeof numbers.run>[1]>().toEqualTypeOf<{ value: number }>();
