/**
 * Peak detection after Billauer's `peakdet` (the algorithm Semmelhack et al. 2014 used on the tail
 * angle): a maximum is accepted once the series has fallen `delta` below it, a minimum once it has
 * risen `delta` above it, alternating, starting with a maximum. Like the original, a series that
 * starts by falling more than `delta` yields a maximum at its first sample.
 */

export interface Extremum {
  index: number;
  value: number;
}

export interface Peaks {
  maxima: Extremum[];
  minima: Extremum[];
}

export function peakdet(series: ArrayLike<number>, delta: number): Peaks {
  if (!(delta > 0)) throw new RangeError(`peak detection delta must be positive, got ${delta}`);
  const maxima: Extremum[] = [];
  const minima: Extremum[] = [];
  let mn = Infinity;
  let mx = -Infinity;
  let mnAt = -1;
  let mxAt = -1;
  let lookForMax = true;
  for (let i = 0; i < series.length; i++) {
    const v = series[i]!;
    if (v > mx) {
      mx = v;
      mxAt = i;
    }
    if (v < mn) {
      mn = v;
      mnAt = i;
    }
    if (lookForMax) {
      if (v < mx - delta) {
        maxima.push({ index: mxAt, value: mx });
        mn = v;
        mnAt = i;
        lookForMax = false;
      }
    } else if (v > mn + delta) {
      minima.push({ index: mnAt, value: mn });
      mx = v;
      mxAt = i;
      lookForMax = true;
    }
  }
  return { maxima, minima };
}

/** The number of peaks: maxima plus minima. */
export function countPeaks(series: ArrayLike<number>, delta: number): number {
  const { maxima, minima } = peakdet(series, delta);
  return maxima.length + minima.length;
}
