/**
 * Checks for the option objects of the translation structures (TLB, nested TLB, page-walk
 * caches): an unknown key or a value of the wrong type is an error naming its path
 * (`tlb.tagged`, `pwc.entrys`), never a silent default, as in experiment files.
 */
import { MemvirtError, pathJoin } from "../util/errors";

/**
 * Reject a key of `options` that is not in `known`, naming it and the known ones.
 *
 * @example
 * checkOptionKeys({ entries: 64, way: 4 }, ["entries", "ways", "tagged"], "tlb")
 * // throws "tlb.way: unknown option (known: entries, ways, tagged) (got 4)"
 */
export function checkOptionKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new MemvirtError(`unknown option (known: ${known.join(", ")})`, { where: pathJoin(where, key), value: (options as Record<string, unknown>)[key] });
    }
  }
}

/**
 * An optional boolean option: its value, or `fallback` when undefined.
 *
 * @example
 * optionalBoolean(options.tagged, true, "tlb.tagged") // true
 */
export function optionalBoolean(value: unknown, fallback: boolean, where: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new MemvirtError("expected true or false", { where, value });
  return value;
}
