/**
 * Where build-native.ts puts the native kernels and its report: dist/native/, reached from the
 * compiled module (dist/lib/model/native/) or, under the test runner, from this source file.
 * Each is named as a literal `new URL(..., import.meta.url)` so that the code fingerprint of every
 * kind that loads the addon covers its bytes (engine/code-fingerprint.ts): a rebuild that makes
 * other bytes (other sources, another compiler) makes their results stale.
 */
const fromSources = import.meta.url.endsWith(".ts");
export const NATIVE_ADDON = fromSources ? new URL("../../../dist/native/convolutions.node", import.meta.url) : new URL("../../../native/convolutions.node", import.meta.url);
export const NATIVE_REPORT = fromSources ? new URL("../../../dist/native/build.json", import.meta.url) : new URL("../../../native/build.json", import.meta.url);

export interface NativeBuildReport {
  built: boolean;
  /** What was built with what, or why nothing was. */
  reason: string;
}
