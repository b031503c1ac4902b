/**
 * Weights on the host: named Float32Arrays with shapes, the form in which they are initialised,
 * checkpointed, loaded from files and handed to TensorFlow.js.
 */
import { Rng, hash32 } from "../random.js";
import { allWeightShapes, type Architecture } from "./architecture.js";

export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

/** Weights by name (`spatial/conv1/kernel`, ...), in the architecture's order. */
export type HostWeights = Map<string, HostTensor>;

export const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The output layer's Glorot-uniform weights are scaled by this, so that each stream starts near
 * log(1/2) for both classes. Unscaled, the default network's stream logits had a standard
 * deviation of 1.5-3.7 at initialisation on the default data (He-initialised ReLU layers and
 * max-pools let large flow values grow), the first epoch's loss was 3.5, and over seeds the
 * trained network reached 0.875-0.975 test accuracy; scaled, 0.975 (stages/train/README.md).
 */
export const OUTPUT_INIT_GAIN = 0.1;

/**
 * Seeded random initialisation: He normal (std sqrt(2 / fan_in)) for every layer followed by a
 * ReLU, Glorot uniform times OUTPUT_INIT_GAIN for the output layer, zero biases. Each weight
 * draws from its own stream (seed, name), so changing one layer's width leaves the others'
 * first weights unchanged.
 */
export function initialWeights(arch: Architecture, seed: number): HostWeights {
  const shapes = allWeightShapes(arch);
  const outputLayers = new Set(["spatial", "temporal"].map((s) => shapes.filter((w) => w.name.startsWith(`${s}/`) && w.name.endsWith("/kernel")).at(-1)!.name));
  const weights: HostWeights = new Map();
  for (const { name, shape } of shapes) {
    const values = new Float32Array(sizeOf(shape));
    if (name.endsWith("/kernel")) {
      const fanOut = shape.at(-1)!;
      const fanIn = values.length / fanOut;
      const rng = new Rng(hash32(seed, name));
      if (outputLayers.has(name)) {
        const limit = OUTPUT_INIT_GAIN * Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-limit, limit);
      } else {
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < values.length; i++) values[i] = std * rng.normal();
      }
    }
    weights.set(name, { shape, values });
  }
  return weights;
}

/** Checks that `weights` has exactly the architecture's names and shapes. */
export function checkWeights(arch: Architecture, weights: HostWeights, source: string): void {
  for (const { name, shape } of allWeightShapes(arch)) {
    const w = weights.get(name);
    if (!w) throw new Error(`${source} has no weight "${name}" ([${shape.join(", ")}]): it was made for another architecture`);
    if (w.shape.join(",") !== shape.join(",")) {
      throw new Error(`${source}: weight "${name}" is [${w.shape.join(", ")}], the architecture needs [${shape.join(", ")}]: use the architecture it was trained with`);
    }
  }
}
