/** The explanation methods by name (no TensorFlow.js here: the stage kind declares its params with them). */
export const METHOD_NAMES = ["deep_taylor", "lrp_epsilon", "lrp_0", "saliency", "guided_backprop"] as const;
export type MethodName = (typeof METHOD_NAMES)[number];
