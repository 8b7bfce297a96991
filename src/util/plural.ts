/**
 * Counts in human text: "1 access", "2 accesses", "1,234 TLB misses".
 */
import { formatCount } from "./units";

/**
 * The count with thousands separators and the noun in the right number.
 *
 * @example
 * countOf(1, "access", "accesses") // "1 access"
 * countOf(1234, "miss", "misses")  // "1,234 misses"
 * countOf(2, "fork")               // "2 forks"
 */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : plural}`;
}
