/**
 * Conv2D and Conv2DBackpropFilter in WGSL for TF.js's WebGPU backend, channels-last, both as an
 * implicit GEMM (the matrix A is gathered from the image as it is read, never stored):
 *
 *   forward   y[m, n]  = sum over k of x(m, k) * W[k, n],  m = (b, oh, ow), k = (kh, kw, ci), n = co
 *   filter    dW[m, n] = sum over k of x(m, k) * dy[k, n], m = (kh, kw, ci), k = (b, oh, ow), n = co
 *
 * where x(m, k) is the input pixel that tap (kh, kw, ci) sees at output position (b, oh, ow),
 * zero in the padding. Both products come out in the tensors' own layouts (y [B, OH, OW, Co],
 * dW [KH, KW, Ci, Co]).
 *
 * TF.js 4.22's filter gradient gives each of the KH*KW*Ci*Co weights one invocation that walks all
 * B*OH*OW positions alone: few invocations, each a long serial loop of uncoalesced reads. Here a
 * workgroup of up to 16 x 16 invocations computes a 64 x 64 (or 64 x 32, 64 x 16) tile of the
 * product, 4 x 4 per invocation, from 16-deep slices of A and B staged in workgroup memory; the
 * K axis is split across workgroups where the tiles alone would not fill the GPU (the filter
 * gradient's few rows and long K). Each split writes its partial tile and a second pass sums the
 * splits in a fixed order, so the result is deterministic (no atomics).
 *
 * TF.js wraps getUserCode in its own prelude: uniforms (xShape, wShape, dyShape, outShape, size
 * and ours), the input arrays by their variable names, `result`, localId / workgroupId, and a
 * `_start` entry point that calls `main()`, or `main(index)` for a flat dispatch.
 */
import type { backend_util, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import { FLAT_WORKGROUP, flatDispatch } from "./webgpu-dispatch.js";

/** Rows of the product per workgroup tile, and the depth of one staged K slice. */
const TILE_M = 64;
const DEPTH = 16;
/** Workgroups worth launching at least: a few per compute unit of a large GPU (an H200 has 132). */
const TARGET_WORKGROUPS = 512;

/**
 * Columns of the product per tile: 64, 32 or 16, whichever pads Co least (ties to the wider), so
 * that 16 or 96 output channels do not leave three quarters or a third of each tile idle.
 */
export function columnTile(n: number): 16 | 32 | 64 {
  const padded = (t: number) => Math.ceil(n / t) * t;
  return ([64, 32, 16] as const).reduce((best, t) => (padded(t) < padded(best) ? t : best));
}

/** How many ways to split the K axis, and how many of its positions each split covers (a multiple of DEPTH). */
export function splitK(m: number, n: number, k: number): { splits: number; perSplit: number } {
  const tiles = Math.ceil(m / TILE_M) * Math.ceil(n / columnTile(n));
  const slices = Math.ceil(k / DEPTH);
  // At least 4 slices (64 positions) per split: shorter ones spend more on the partial sums than on the product.
  const wanted = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(slices / 4)));
  const perSplit = Math.ceil(slices / wanted) * DEPTH;
  return { splits: Math.ceil(k / perSplit), perSplit };
}

/** WGSL: the input pixel seen by filter tap (kh, kw, ci) at output position (b, oh, ow); 0 in the padding. */
const GATHER = `
  fn gather(b : i32, oh : i32, ow : i32, tap : i32, ci : i32) -> f32 {
    let kw = tap % uniforms.filterHW.y;
    let kh = tap / uniforms.filterHW.y;
    let ih = oh * uniforms.strides.x + kh * uniforms.dilations.x - uniforms.pads.x;
    let iw = ow * uniforms.strides.y + kw * uniforms.dilations.y - uniforms.pads.y;
    if (ih < 0 || ih >= uniforms.xShape.y || iw < 0 || iw >= uniforms.xShape.z) { return 0.0; }
    return x[((b * uniforms.xShape.y + ih) * uniforms.xShape.z + iw) * uniforms.xShape.w + ci];
  }
`;

/** How one product reads its operands: WGSL for loadA(m, k) and loadB(k, n) (both 0 past M, N or kEnd). */
interface Operands {
  name: string;
  variableNames: [string, string];
  code: string;
  /** Which index of A runs along memory (x's channels): staged with it fastest, for coalesced reads. */
  aContiguous: "m" | "k";
}

const FORWARD: Operands = {
  name: "Forward",
  variableNames: ["x", "w"],
  aContiguous: "k",
  code: `${GATHER}
    fn loadA(m : i32, k : i32, kEnd : i32) -> f32 {
      if (m >= uniforms.outHW.x * uniforms.outHW.y * uniforms.xShape.x || k >= kEnd) { return 0.0; }
      let ow = m % uniforms.outHW.y;
      let bo = m / uniforms.outHW.y;
      return gather(bo / uniforms.outHW.x, bo % uniforms.outHW.x, ow, k / uniforms.xShape.w, k % uniforms.xShape.w);
    }
    fn loadB(k : i32, n : i32, kEnd : i32) -> f32 {
      if (k >= kEnd || n >= uniforms.wShape.w) { return 0.0; }
      return w[k * uniforms.wShape.w + n];
    }`,
};

const FILTER_GRADIENT: Operands = {
  name: "DerFilter",
  variableNames: ["x", "dy"],
  aContiguous: "m",
  code: `${GATHER}
    fn loadA(m : i32, k : i32, kEnd : i32) -> f32 {
      if (m >= uniforms.filterHW.x * uniforms.filterHW.y * uniforms.xShape.w || k >= kEnd) { return 0.0; }
      let ow = k % uniforms.dyShape.z;
      let bo = k / uniforms.dyShape.z;
      return gather(bo / uniforms.dyShape.y, bo % uniforms.dyShape.y, ow, m / uniforms.xShape.w, m % uniforms.xShape.w);
    }
    fn loadB(k : i32, n : i32, kEnd : i32) -> f32 {
      if (k >= kEnd || n >= uniforms.dyShape.w) { return 0.0; }
      return dy[k * uniforms.dyShape.w + n];
    }`,
};

class ImplicitGemmProgram implements WebGPUProgram {
  variableNames: string[];
  uniforms = "filterHW : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>, dilations : vec2<i32>, outHW : vec2<i32>, kTotal : i32, perSplit : i32,";
  workgroupSize: [number, number, number];
  outputShape: number[];
  dispatchLayout = { x: [0], y: [1], z: [2] };
  dispatch: [number, number, number];
  shaderKey: string;
  private readonly tileN: number;

  /**
   * Output [splits, M, N]: the partial products of each K split (one split: the product itself).
   * Workgroups: x the column tiles; y and z together the (row tile, split) pairs, row tiles first,
   * folded so that no dimension exceeds `maxPerDimension` (65,535 64-row tiles are 4.2 M output
   * positions: a batch of 1,500 of the default network's conv1; TF.js's own kernels stop there).
   */
  constructor(private readonly operands: Operands, m: number, n: number, splits: number, maxPerDimension: number) {
    this.variableNames = operands.variableNames;
    this.tileN = columnTile(n);
    this.outputShape = [splits, m, n];
    // One invocation per 4 x 4 block of the tile.
    this.workgroupSize = [this.tileN / 4, TILE_M / 4, 1];
    const pairs = Math.ceil(m / TILE_M) * splits;
    const y = Math.min(pairs, maxPerDimension);
    this.dispatch = [Math.ceil(n / this.tileN), y, Math.ceil(pairs / y)];
    this.shaderKey = `ourImplicitGemm${operands.name}${this.tileN}`;
  }

  getUserCode(): string {
    const invocations = (this.tileN / 4) * (TILE_M / 4);
    // Staging order of A: consecutive invocations take consecutive positions along memory.
    const [kk, mm] = this.operands.aContiguous === "m" ? [`e / ${TILE_M}`, `e % ${TILE_M}`] : [`e % ${DEPTH}`, `e / ${DEPTH}`];
    return `
      var<workgroup> tileA : array<array<vec4<f32>, ${TILE_M / 4}>, ${DEPTH}>;
      var<workgroup> tileB : array<array<vec4<f32>, ${this.tileN / 4}>, ${DEPTH}>;
      ${this.operands.code}

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let flat = i32(localIndex);
        let rowTiles = (uniforms.outShape.y + ${TILE_M - 1}) / ${TILE_M};
        let pair = i32(workgroupId.y + workgroupId.z * numWorkgroups.y);
        let m0 = (pair % rowTiles) * ${TILE_M};
        let n0 = i32(workgroupId.x) * ${this.tileN};
        // A surplus workgroup of the fold (split = splits) loads zeros and writes nothing.
        let split = pair / rowTiles;
        let kBegin = split * uniforms.perSplit;
        let kEnd = min(kBegin + uniforms.perSplit, uniforms.kTotal);

        var acc : array<vec4<f32>, 4>;
        // The trip count comes from uniforms alone (workgroupBarrier needs uniform control flow);
        // the last split's surplus slices load zeros.
        for (var slice = 0; slice < uniforms.perSplit / ${DEPTH}; slice = slice + 1) {
          let k0 = kBegin + slice * ${DEPTH};
          for (var e = flat; e < ${DEPTH * TILE_M}; e = e + ${invocations}) {
            let kk = ${kk};
            let mm = ${mm};
            tileA[kk][mm / 4][mm % 4] = loadA(m0 + mm, k0 + kk, kEnd);
          }
          for (var e = flat; e < ${DEPTH * this.tileN}; e = e + ${invocations}) {
            let kk = e / ${this.tileN};
            let nn = e % ${this.tileN};
            tileB[kk][nn / 4][nn % 4] = loadB(k0 + kk, n0 + nn, kEnd);
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${DEPTH}; kk = kk + 1) {
            let a = tileA[kk][ty];
            let b = tileB[kk][tx];
            acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
            acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
            acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
            acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
          }
          workgroupBarrier();
        }

        let rows = uniforms.outShape.y;
        let cols = uniforms.outShape.z;
        if (split >= uniforms.outShape.x) { return; }
        for (var i = 0; i < 4; i = i + 1) {
          let m = m0 + ty * 4 + i;
          if (m >= rows) { break; }
          for (var j = 0; j < 4; j = j + 1) {
            let n = n0 + tx * 4 + j;
            if (n < cols) { result[(split * rows + m) * cols + n] = acc[i][j]; }
          }
        }
      }
    `;
  }
}

/** The sum over splits of the partial products, in split order. */
class SumSplitsProgram implements WebGPUProgram {
  variableNames = ["partial"];
  uniforms = "splits : i32,";
  workgroupSize: [number, number, number] = [FLAT_WORKGROUP, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  size = true;
  shaderKey = "ourImplicitGemmSumSplits";

  constructor(shape: number[]) {
    this.outputShape = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatDispatch(shape));
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var total = 0.0;
          for (var s = 0; s < uniforms.splits; s = s + 1) { total = total + partial[s * uniforms.size + index]; }
          result[index] = total;
        }
      }
    `;
  }
}

/**
 * Runs one product of `info`'s convolution and returns it as a tensor of `shape`. `limit`:
 * workgroups per dispatch dimension, the device's unless smaller (tests fold small products with it).
 */
function implicitGemm(backend: WebGPUBackend, operands: Operands, inputs: [TensorInfo, TensorInfo], info: backend_util.Conv2DInfo, [m, n, k]: number[], shape: number[], limit: number | undefined): TensorInfo {
  const { splits, perSplit } = splitK(m!, n!, k!);
  const uniforms = [
    { type: "int32", data: [info.filterHeight, info.filterWidth] },
    { type: "int32", data: [info.strideHeight, info.strideWidth] },
    { type: "int32", data: [info.padInfo.top, info.padInfo.left] },
    { type: "int32", data: [info.dilationHeight, info.dilationWidth] },
    { type: "int32", data: [info.outHeight, info.outWidth] },
    { type: "int32", data: [k!] },
    { type: "int32", data: [perSplit] },
  ];
  const program = new ImplicitGemmProgram(operands, m!, n!, splits, limit ?? backend.device.limits.maxComputeWorkgroupsPerDimension);
  const partial = backend.runWebGPUProgram(program, inputs, "float32", uniforms);
  if (splits === 1) return { dataId: partial.dataId, shape, dtype: "float32" };
  try {
    return backend.runWebGPUProgram(new SumSplitsProgram(shape), [partial], "float32", [{ type: "int32", data: [splits] }]);
  } finally {
    backend.disposeData(partial.dataId);
  }
}

/** y [B, OH, OW, Co] of a channels-last convolution described by `info`. */
export function conv2dWebgpu(backend: WebGPUBackend, x: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, limit?: number): TensorInfo {
  const mnk = [info.batchSize * info.outHeight * info.outWidth, info.outChannels, info.filterHeight * info.filterWidth * info.inChannels];
  return implicitGemm(backend, FORWARD, [x, filter], info, mnk, [info.batchSize, info.outHeight, info.outWidth, info.outChannels], limit);
}

/** dW [KH, KW, Ci, Co] of a channels-last convolution described by `info`. */
export function filterGradWebgpu(backend: WebGPUBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, limit?: number): TensorInfo {
  const mnk = [info.filterHeight * info.filterWidth * info.inChannels, info.outChannels, info.batchSize * info.outHeight * info.outWidth];
  return implicitGemm(backend, FILTER_GRADIENT, [x, dy], info, mnk, [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], limit);
}
