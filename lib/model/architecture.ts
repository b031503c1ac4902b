/**
 * The two-stream network as data: what each layer is, not how it runs. `forward.ts` runs it,
 * `layers-model.ts` saves it as a tf.LayersModel, `init.ts` draws its first weights.
 *
 * Both streams share the conv/fc stack (CNN-M-2048, Chatfield et al. 2014, as adapted by
 * Breier & Onken 2020, figure 2); they differ in input channels and in where LRN sits.
 */

/** Which stream(s) a layer's local response normalisation applies to. */
export type LrnPlacement = "both" | "spatial" | "temporal" | "none";

export interface ConvLayer {
  filters: number;
  /** Square kernel side (pixels). */
  kernel: number;
  stride: number;
  /** Zero padding on every side (pixels), as PyTorch's `padding`. */
  pad: number;
  /** conv -> ReLU -> LRN (where placed) -> max-pool (when `pool`). */
  lrn: LrnPlacement;
  pool: boolean;
}

export interface Architecture {
  /** Side of the square input of both streams (pixels). */
  input_size: number;
  /** Flow frames (x, y pairs) per sample in the data: 85 for 86 subsampled frames. */
  flow_pairs: number;
  /**
   * The temporal stream sees every `flow_stride`-th flow pair (1 = all, the paper's); its input
   * has 2 * ceil(flow_pairs / flow_stride) channels, x and y interleaved.
   */
  flow_stride: number;
  conv: ConvLayer[];
  /** Hidden fully connected layers (fc6, fc7), each followed by ReLU and dropout. */
  fc: number[];
  /** Dropout rate (probability of dropping a unit) after each hidden fc layer. */
  dropout: number;
  /** PyTorch's LocalResponseNorm(size, alpha, beta, k): x / (k + alpha/size * sum x^2)^beta. */
  lrn: { size: number; alpha: number; beta: number; k: number };
  /** Max-pooling window and stride (pixels), no padding. */
  pool: { size: number; stride: number };
  classes: number;
}

export type Stream = "spatial" | "temporal";
export const STREAMS: Stream[] = ["spatial", "temporal"];

const CNN_M_LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 };

/** CNN-M-2048 at 224x224 with 170 flow channels, as in the paper. */
export const PAPER: Architecture = {
  input_size: 224,
  flow_pairs: 85,
  flow_stride: 1,
  conv: [
    { filters: 96, kernel: 7, stride: 2, pad: 0, lrn: "both", pool: true },
    { filters: 256, kernel: 5, stride: 2, pad: 1, lrn: "spatial", pool: true },
    { filters: 512, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: false },
    { filters: 512, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: false },
    { filters: 512, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: true },
  ],
  fc: [4096, 2048],
  dropout: 0.9,
  lrn: CNN_M_LRN,
  pool: { size: 3, stride: 2 },
  classes: 2,
};

/**
 * The same topology, narrow, for the default synthetic pipeline on 2 CPU cores: 112x112 input
 * (a 128-pixel crop), every 5th flow pair (34 channels), 1/6 to 1/8 of the widths: 86 M
 * multiply-adds per sample, 1/140 of the paper network's; see docs/benchmarks-train.md.
 */
export const NARROW: Architecture = {
  ...PAPER,
  input_size: 112,
  flow_stride: 5,
  conv: [
    { filters: 16, kernel: 7, stride: 2, pad: 0, lrn: "both", pool: true },
    { filters: 32, kernel: 5, stride: 2, pad: 1, lrn: "spatial", pool: true },
    { filters: 64, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: false },
    { filters: 64, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: false },
    { filters: 64, kernel: 3, stride: 1, pad: 1, lrn: "none", pool: true },
  ],
  fc: [256, 128],
  dropout: 0.5,
};

export const PRESETS = { default: NARROW, paper: PAPER } as const;
export type PresetName = keyof typeof PRESETS;

/** The `architecture` parameter: a preset, with any field replaced. */
export type ArchitectureParams = { preset: PresetName } & Partial<Architecture>;

export function resolveArchitecture(params: ArchitectureParams): Architecture {
  const { preset, ...overrides } = params;
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown architecture preset "${preset}": use ${Object.keys(PRESETS).join(" or ")}`);
  const arch: Architecture = { ...structuredClone(base), ...structuredClone(overrides) };
  checkArchitecture(arch);
  return arch;
}

/** Channels of a stream's input. */
export function inputChannels(arch: Architecture, stream: Stream): number {
  return stream === "spatial" ? 1 : 2 * Math.ceil(arch.flow_pairs / arch.flow_stride);
}

/**
 * The flow channels the temporal stream sees, in order, as indices into a sample file that holds
 * every `pairStride`-th of the `flow_pairs` pairs (the flow stage's `pair_stride`; 1: all).
 */
export function flowChannels(arch: Architecture, pairStride = 1): number[] {
  if (arch.flow_stride % pairStride !== 0) {
    throw new Error(
      `the network reads every ${arch.flow_stride}. flow pair (architecture.flow_stride) but the samples hold only every ${pairStride}. (flow.pair_stride): ` +
        "set flow.pair_stride to a divisor of flow_stride, or flow_stride to a multiple of pair_stride",
    );
  }
  const channels: number[] = [];
  for (let pair = 0; pair < arch.flow_pairs; pair += arch.flow_stride) {
    const stored = pair / pairStride;
    channels.push(2 * stored, 2 * stored + 1);
  }
  return channels;
}

export function hasLrn(layer: ConvLayer, stream: Stream): boolean {
  return layer.lrn === "both" || layer.lrn === stream;
}

/** Output side after a window of `size` with `stride` and `pad` on each side. */
const outSide = (side: number, size: number, stride: number, pad: number): number => Math.floor((side + 2 * pad - size) / stride) + 1;

export interface LayerShape {
  name: string;
  /** [rows, cols, channels] after this layer (and its pooling). */
  shape: [number, number, number];
}

/** The feature map after every conv layer (and its pool), then the flattened size feeding fc6. */
export function convShapes(arch: Architecture, stream: Stream): { layers: LayerShape[]; flat: number } {
  let side = arch.input_size;
  let channels = inputChannels(arch, stream);
  const layers: LayerShape[] = [];
  arch.conv.forEach((layer, i) => {
    const name = `conv${i + 1}`;
    const convSide = outSide(side, layer.kernel, layer.stride, layer.pad);
    if (convSide < 1) throw new Error(`${name} (kernel ${layer.kernel}, stride ${layer.stride}, pad ${layer.pad}) gets a ${side}x${side} map: nothing left; raise input_size`);
    side = layer.pool ? outSide(convSide, arch.pool.size, arch.pool.stride, 0) : convSide;
    if (side < 1) throw new Error(`the max-pool after ${name} gets a ${convSide}x${convSide} map, smaller than its ${arch.pool.size}x${arch.pool.size} window: raise input_size`);
    channels = layer.filters;
    layers.push({ name, shape: [side, side, channels] });
  });
  return { layers, flat: side * side * channels };
}

/** Names and shapes of every weight of one stream, in layer order (kernels HWIO, dense [in, out]). */
export function weightShapes(arch: Architecture, stream: Stream): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [];
  let channels = inputChannels(arch, stream);
  arch.conv.forEach((layer, i) => {
    out.push({ name: `${stream}/conv${i + 1}/kernel`, shape: [layer.kernel, layer.kernel, channels, layer.filters] });
    out.push({ name: `${stream}/conv${i + 1}/bias`, shape: [layer.filters] });
    channels = layer.filters;
  });
  let units = convShapes(arch, stream).flat;
  [...arch.fc, arch.classes].forEach((next, i) => {
    const name = `${stream}/fc${arch.conv.length + 1 + i}`;
    out.push({ name: `${name}/kernel`, shape: [units, next] });
    out.push({ name: `${name}/bias`, shape: [next] });
    units = next;
  });
  return out;
}

/** Every weight of the two-stream network: spatial first, then temporal. */
export function allWeightShapes(arch: Architecture): { name: string; shape: number[] }[] {
  return STREAMS.flatMap((s) => weightShapes(arch, s));
}

export function parameterCount(arch: Architecture): number {
  return allWeightShapes(arch).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}

/** Multiply-adds of one forward pass of both streams, or of those given (conv and dense layers). */
export function multiplyAdds(arch: Architecture, streams: readonly Stream[] = STREAMS): number {
  let total = 0;
  for (const stream of streams) {
    let side = arch.input_size;
    let channels = inputChannels(arch, stream);
    for (const layer of arch.conv) {
      const convSide = outSide(side, layer.kernel, layer.stride, layer.pad);
      total += convSide * convSide * layer.kernel * layer.kernel * channels * layer.filters;
      side = layer.pool ? outSide(convSide, arch.pool.size, arch.pool.stride, 0) : convSide;
      channels = layer.filters;
    }
    let units = side * side * channels;
    for (const next of [...arch.fc, arch.classes]) {
      total += units * next;
      units = next;
    }
  }
  return total;
}

function checkArchitecture(arch: Architecture): void {
  if (arch.lrn.size % 2 !== 1) throw new Error(`lrn.size must be odd (got ${arch.lrn.size}): TensorFlow's LRN window is symmetric`);
  if (arch.flow_stride < 1 || arch.flow_stride > arch.flow_pairs) throw new Error(`flow_stride must be in 1..flow_pairs (${arch.flow_pairs}); got ${arch.flow_stride}`);
  if (arch.dropout < 0 || arch.dropout >= 1) throw new Error(`dropout is a rate in [0, 1); got ${arch.dropout}`);
  if (arch.conv.length === 0) throw new Error("the architecture needs at least one conv layer");
  for (const stream of STREAMS) convShapes(arch, stream); // throws when the input is too small
}

/** JSON Schema of one conv layer (for the stage's params). */
const CONV_LAYER_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["filters", "kernel", "stride", "pad", "lrn", "pool"],
  properties: {
    filters: { type: "integer", minimum: 1, description: "Output channels." },
    kernel: { type: "integer", minimum: 1, description: "Square kernel side (pixels)." },
    stride: { type: "integer", minimum: 1, description: "Stride (pixels)." },
    pad: { type: "integer", minimum: 0, description: "Zero padding on each side (pixels)." },
    lrn: { type: "string", enum: ["both", "spatial", "temporal", "none"], description: "Streams with local response normalisation after this layer's ReLU." },
    pool: { type: "boolean", description: "Max-pool after this layer (window and stride from `pool`)." },
  },
} as const;

/** JSON Schema of the `architecture` parameter. Fields left out take the preset's values. */
export const ARCHITECTURE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  default: { preset: "default" },
  description:
    "The network: a preset (`default`: narrow CNN-M for 2 CPU cores, 112x112, every 5th flow pair; `paper`: CNN-M-2048, 224x224, 170 flow channels) with any of the fields below replaced. Fields left out take the preset's values.",
  properties: {
    preset: { type: "string", enum: Object.keys(PRESETS) as PresetName[], default: "default", description: "Which preset to start from." },
    input_size: { type: "integer", minimum: 16, description: "Side of the square input (pixels). Crops are resized to it. Preset: 112 (default), 224 (paper)." },
    flow_pairs: { type: "integer", minimum: 1, description: "Flow frames (x, y pairs) per sample in the data. Preset: 85." },
    flow_stride: { type: "integer", minimum: 1, description: "The temporal stream sees every n-th flow pair. Preset: 5 (default), 1 (paper)." },
    conv: { type: "array", minItems: 1, items: CONV_LAYER_SCHEMA, description: "Conv layers in order. Preset: CNN-M's five (7x7/2, 5x5/2 pad 1, 3x3 x3)." },
    fc: { type: "array", items: { type: "integer", minimum: 1 }, description: "Hidden fully connected layers (units). Preset: [256, 128] (default), [4096, 2048] (paper)." },
    dropout: { type: "number", minimum: 0, exclusiveMaximum: 1, description: "Dropout rate after each hidden fc layer. Preset: 0.5 (default), 0.9 (paper, their code's default)." },
    lrn: {
      type: "object", additionalProperties: false, required: ["size", "alpha", "beta", "k"],
      description: "Local response normalisation, PyTorch's convention (alpha is divided by size). Preset: size 5, alpha 1e-4, beta 0.75, k 2.",
      properties: { size: { type: "integer", minimum: 1 }, alpha: { type: "number" }, beta: { type: "number" }, k: { type: "number" } },
    },
    pool: {
      type: "object", additionalProperties: false, required: ["size", "stride"],
      description: "Max-pooling window and stride (pixels). Preset: 3, 2.",
      properties: { size: { type: "integer", minimum: 1 }, stride: { type: "integer", minimum: 1 } },
    },
    classes: { type: "integer", minimum: 2, description: "Output classes. Preset: 2." },
  },
} as const;
