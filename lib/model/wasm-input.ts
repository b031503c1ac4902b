/**
 * The temporal stream's input written by our SIMD kernel (lib/model/wasm-simd/kernels.c
 * prepare_flow) straight into a wasm backend tensor: the same values as input.ts writeExample
 * (within float rounding: the kernel decodes in float32), without the JavaScript loop or the
 * copy of a Float32Array onto the heap. Null on other backends.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend-access.js";
import { augmentationGeometry, decoding, type StreamSample } from "./input.js";
import { heapAddress, simdKernels } from "./wasm-simd-kernels.js";

export function flowOnWasmHeap(samples: StreamSample[], augmentations: number[]): tf.Tensor4D | null {
  if (tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as WasmBackend;
  const kernels = simdKernels(backend);
  if (!kernels) return null;
  const first = samples[0]!;
  const { channels, rows, cols } = first;
  const size = augmentationGeometry(first, augmentations[0]!).size;
  const out = backend.makeOutput([samples.length, size, size, channels], "float32");
  // One sample's bytes, then its decoding (offsets, steps), on the heap.
  const bytes = channels * rows * cols;
  const words = Math.ceil(bytes / 4);
  const scratch = backend.makeOutput([words + 2 * channels], "float32");
  try {
    samples.forEach((s, i) => {
      const { top, left, flip } = augmentationGeometry(s, augmentations[i]!);
      const { min, step } = decoding(s, flip);
      const view = backend.typedArrayFromHeap(scratch); // after every allocation: the heap may have grown
      new Uint8Array(view.buffer, view.byteOffset, bytes).set(s.flow.subarray(0, bytes));
      view.set(min, words);
      view.set(step, words + channels);
      const at = view.byteOffset;
      kernels.prepare_flow(at, at + 4 * words, at + 4 * (words + channels), heapAddress(backend, out) + 4 * i * size * size * channels,
        channels, rows, cols, size, top, left, flip ? 1 : 0);
    });
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
}
