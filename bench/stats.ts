/** The middle value of a benchmark's repeated timings (the upper middle for an even count). */
export function median(xs: readonly number[]): number {
  if (!xs.length) throw new Error("median of no timings");
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}
