/**
 * The backend choice as a stage param, apart from backend.ts so that a stage kind can declare it
 * without loading TensorFlow.js (kinds are loaded by every dag command; TF.js only by run()).
 */
export const BACKEND_CHOICES = ["auto", "webgpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The `backend` param of the stages that run the network (an execution param: not in the key). */
export const BACKEND_PARAM = {
  type: "string", enum: [...BACKEND_CHOICES], default: "auto",
  description: "TensorFlow.js backend: auto takes the fastest that works here; DAG_TFJS_BACKEND overrides auto.",
} as const;
