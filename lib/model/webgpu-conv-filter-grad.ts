/**
 * Conv2DBackpropFilter in WGSL for TF.js's WebGPU backend, as an implicit GEMM with split K.
 *
 * The filter gradient is one matrix product: dW[m, n] = sum over k of A[m, k] * dy[k, n], with
 * m = (kh, kw, ci) (the filter's own row order), n = co and k = (b, oh, ow), where A[m, k] is the
 * input pixel that tap m saw at output position k (zero in the padding). TF.js 4.22's kernel
 * gives each of the KH*KW*Ci*Co filter weights one invocation that walks all B*OH*OW positions
 * alone: few invocations, each a long serial loop of uncoalesced reads. Here a workgroup of
 * up to 16 x 16 invocations computes a 64 x 64 (or 64 x 32, 64 x 16) tile of dW (4 x 4 per invocation) from 16-deep slices
 * of A and dy staged in workgroup memory, and the K axis is split across workgroups so that small
 * filters still fill the GPU. Each split writes its partial tile; a second pass sums the splits
 * in a fixed order, so the result is deterministic (no atomics).
 *
 * TF.js wraps getUserCode in its own prelude: uniforms (xShape, dyShape, outShape, size and ours),
 * the input arrays by their variable names, `result`, localId / workgroupId, and a `_start` entry
 * point that calls `main()`, or `main(index)` for a flat dispatch.
 */
import type { backend_util, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";

/** Rows of dW per workgroup tile, and the depth of one staged K slice. */
const TILE_M = 64;
const DEPTH = 16;
/** Workgroups worth launching at least: a few per compute unit of a large GPU (an H200 has 132). */
const TARGET_WORKGROUPS = 512;

/**
 * Columns of dW per tile: 64, 32 or 16, whichever pads Co least (ties to the wider), so that
 * 16 or 96 output channels do not leave three quarters or a third of each tile idle.
 */
export function columnTile(n: number): 16 | 32 | 64 {
  const padded = (t: number) => Math.ceil(n / t) * t;
  return ([64, 32, 16] as const).reduce((best, t) => (padded(t) < padded(best) ? t : best));
}

/** How many ways to split the K axis, and how many positions each split covers (a multiple of DEPTH). */
export function splitK(m: number, n: number, k: number): { splits: number; perSplit: number } {
  const tiles = Math.ceil(m / TILE_M) * Math.ceil(n / columnTile(n));
  const slices = Math.ceil(k / DEPTH);
  // At least 4 slices (64 positions) per split: shorter ones spend more on the partial sums than on the product.
  const wanted = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(slices / 4)));
  const perSplit = Math.ceil(slices / wanted) * DEPTH;
  return { splits: Math.ceil(k / perSplit), perSplit };
}

class FilterGradProgram implements WebGPUProgram {
  variableNames = ["x", "dy"];
  uniforms = "filterHW : vec2<i32>, strides : vec2<i32>, pads : vec2<i32>, dilations : vec2<i32>, perSplit : i32,";
  workgroupSize: [number, number, number];
  outputShape: number[];
  dispatchLayout = { x: [0], y: [1], z: [2] };
  dispatch: [number, number, number];
  shaderKey: string;
  private readonly tileN: number;

  /** Output [splits, M, N]: the partial sums of each K split (M*N is dW's own layout). */
  constructor(m: number, n: number, splits: number) {
    this.tileN = columnTile(n);
    this.outputShape = [splits, m, n];
    // One invocation per 4 x 4 block of the tile.
    this.workgroupSize = [this.tileN / 4, TILE_M / 4, 1];
    this.dispatch = [Math.ceil(n / this.tileN), Math.ceil(m / TILE_M), splits];
    this.shaderKey = `ourConv2DDerFilterGemm${this.tileN}`;
  }

  getUserCode(): string {
    const invocations = (this.tileN / 4) * (TILE_M / 4);
    return `
      var<workgroup> tileA : array<array<vec4<f32>, ${TILE_M / 4}>, ${DEPTH}>;
      var<workgroup> tileB : array<array<vec4<f32>, ${this.tileN / 4}>, ${DEPTH}>;

      // Input pixel seen by filter tap m at output position k (0 outside the image).
      fn loadA(m : i32, k : i32, kEnd : i32) -> f32 {
        let channels = uniforms.xShape.w;
        if (m >= uniforms.filterHW.x * uniforms.filterHW.y * channels || k >= kEnd) { return 0.0; }
        let ci = m % channels;
        let tap = m / channels;
        let kw = tap % uniforms.filterHW.y;
        let kh = tap / uniforms.filterHW.y;
        let ow = k % uniforms.dyShape.z;
        let bo = k / uniforms.dyShape.z;
        let oh = bo % uniforms.dyShape.y;
        let b = bo / uniforms.dyShape.y;
        let ih = oh * uniforms.strides.x + kh * uniforms.dilations.x - uniforms.pads.x;
        let iw = ow * uniforms.strides.y + kw * uniforms.dilations.y - uniforms.pads.y;
        if (ih < 0 || ih >= uniforms.xShape.y || iw < 0 || iw >= uniforms.xShape.z) { return 0.0; }
        return x[((b * uniforms.xShape.y + ih) * uniforms.xShape.z + iw) * channels + ci];
      }

      fn loadB(k : i32, n : i32, kEnd : i32) -> f32 {
        if (k >= kEnd || n >= uniforms.dyShape.w) { return 0.0; }
        return dy[k * uniforms.dyShape.w + n];
      }

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let flat = i32(localIndex);
        let m0 = i32(workgroupId.y) * ${TILE_M};
        let n0 = i32(workgroupId.x) * ${this.tileN};
        let split = i32(workgroupId.z);
        let kTotal = uniforms.dyShape.x * uniforms.dyShape.y * uniforms.dyShape.z;
        let kBegin = split * uniforms.perSplit;
        let kEnd = min(kBegin + uniforms.perSplit, kTotal);

        var acc : array<vec4<f32>, 4>;
        // The trip count comes from uniforms alone (workgroupBarrier needs uniform control flow);
        // the last split's surplus slices load zeros.
        for (var slice = 0; slice < uniforms.perSplit / ${DEPTH}; slice = slice + 1) {
          let k0 = kBegin + slice * ${DEPTH};
          // Consecutive invocations read consecutive m (x's channels, then taps) or n (dy's channels).
          for (var e = flat; e < ${DEPTH * TILE_M}; e = e + ${invocations}) {
            let kk = e / ${TILE_M};
            let mm = e % ${TILE_M};
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

/** dW = the sum over splits of the partial products, in split order. */
class SumSplitsProgram implements WebGPUProgram {
  variableNames = ["partial"];
  uniforms = "splits : i32,";
  workgroupSize: [number, number, number] = [64, 1, 1];
  outputShape: number[];
  dispatchLayout = { x: [0, 1, 2, 3] };
  dispatch: [number, number, number];
  size = true;
  shaderKey = "ourConv2DDerFilterSumSplits";

  constructor(filterShape: number[]) {
    this.outputShape = filterShape;
    const size = filterShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(size / 64), 1, 1];
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

/** dW [KH, KW, Ci, Co] of a channels-last convolution described by `info`. */
export function filterGradWebgpu(backend: WebGPUBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const m = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const { splits, perSplit } = splitK(m, n, info.batchSize * info.outHeight * info.outWidth);
  const uniforms = [
    { type: "int32", data: [info.filterHeight, info.filterWidth] },
    { type: "int32", data: [info.strideHeight, info.strideWidth] },
    { type: "int32", data: [info.padInfo.top, info.padInfo.left] },
    { type: "int32", data: [info.dilationHeight, info.dilationWidth] },
    { type: "int32", data: [perSplit] },
  ];
  const partial = backend.runWebGPUProgram(new FilterGradProgram(m, n, splits), [x, dy], "float32", uniforms);
  const filterShape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  if (splits === 1) return { dataId: partial.dataId, shape: filterShape, dtype: "float32" };
  try {
    return backend.runWebGPUProgram(new SumSplitsProgram(filterShape), [partial], "float32", [{ type: "int32", data: [splits] }]);
  } finally {
    backend.disposeData(partial.dataId);
  }
}
