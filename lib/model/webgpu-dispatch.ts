/**
 * A flat dispatch for TF.js's WebGPU programs: one invocation per output element, FLAT_WORKGROUP
 * to a workgroup, and TF.js's prelude then calls `main(index)`. (TF.js's own webgpu_util does the
 * same, but importing it would load the whole webgpu backend wherever this module is imported.)
 */
export const FLAT_WORKGROUP = 64;

export function flatDispatch(shape: number[]): { dispatchLayout: { x: number[] }; dispatch: [number, number, number] } {
  return { dispatchLayout: { x: shape.map((_, i) => i) }, dispatch: [Math.ceil(shape.reduce((a, b) => a * b, 1) / FLAT_WORKGROUP), 1, 1] };
}
