/**
 * Growing a typed-array histogram or buffer by doubling, so that appends cost O(1) amortized and
 * the hot path only pays a length check.
 */

/**
 * `counts` if index `index` fits, else a copy at least twice as long (a power-of-two multiple of
 * its length) that holds it, with the old values at the front and zeros after.
 *
 * @example
 * let counts = new Float64Array(4);
 * counts = grownToHold(counts, 9); // length 16, counts[0..3] kept
 */
export function grownToHold<T extends Float64Array>(counts: T, index: number): T {
  if (index < counts.length) return counts;
  let size = Math.max(1, counts.length) * 2;
  while (size <= index) size *= 2;
  const bigger = new Float64Array(size);
  bigger.set(counts);
  return bigger as T; // T is Float64Array (over an ArrayBuffer, in TypeScript ≥ 5.7's terms)
}
