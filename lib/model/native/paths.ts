/**
 * Where build-native.ts puts the native kernels and its report: dist/native/, reached from the
 * compiled module (dist/lib/model/native/) or, under the test runner, from this source file.
 */
const dist = new URL(import.meta.url.endsWith(".ts") ? "../../../dist/" : "../../../", import.meta.url);
export const NATIVE_ADDON = new URL("native/convolutions.node", dist);
export const NATIVE_REPORT = new URL("native/build.json", dist);

export interface NativeBuildReport {
  built: boolean;
  /** What was built with what, or why nothing was. */
  reason: string;
}
