/**
 * The cache sizes a miss-ratio curve is reported at, when the caller gives none.
 *
 * Every size from 1 to 64 pages (small caches, where the curve is steepest and each page
 * matters), then 8 sizes per doubling (each about 9% above the last, rounded to whole pages),
 * and the footprint itself, where only cold misses remain. A footprint of a million pages gives
 * about 180 sizes.
 */

/** Every size up to this many pages is listed. */
export const MRC_EVERY_SIZE_UP_TO_PAGES = 64;
/** Sizes per doubling above that. */
export const MRC_SIZES_PER_DOUBLING = 8;

/**
 * Default sizes, in pages, for a footprint of `footprintPages` (rounded up to a whole page).
 *
 * @example
 * defaultMrcSizes(5)          // [1, 2, 3, 4, 5]
 * defaultMrcSizes(100).slice(62) // [63, 64, 70, 76, 83, 91, 100]
 */
export function defaultMrcSizes(footprintPages: number): number[] {
  const footprint = Math.max(1, Math.ceil(footprintPages));
  const sizes: number[] = [];
  for (let s = 1; s <= Math.min(MRC_EVERY_SIZE_UP_TO_PAGES, footprint); s++) sizes.push(s);
  for (let k = 1; ; k++) {
    const s = Math.round(MRC_EVERY_SIZE_UP_TO_PAGES * 2 ** (k / MRC_SIZES_PER_DOUBLING));
    if (s >= footprint) break;
    if (s > sizes[sizes.length - 1]) sizes.push(s);
  }
  if (sizes[sizes.length - 1] !== footprint) sizes.push(footprint);
  return sizes;
}

/**
 * The powers of two among `sizes`, plus the last: a short table for people to read.
 *
 * @example
 * summaryMrcSizes([1, 2, 3, 4, 5, 6, 7]) // [1, 2, 4, 7]
 */
export function summaryMrcSizes(sizes: readonly number[]): number[] {
  const out = sizes.filter((s) => Number.isInteger(Math.log2(s)));
  const last = sizes[sizes.length - 1];
  if (last !== undefined && out[out.length - 1] !== last) out.push(last);
  return out;
}
