/**
 * Checks for workload options, shared by the generator constructors and `createWorkload`.
 *
 * Invariant: every check throws a MemvirtError whose `where` is the full path of the bad field
 * (e.g. `vms[1].workload.exponent`), so a JSON experiment file points at its own mistake.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { parsePages } from "../util/units";

/** A size as users write it: a page count or a string such as "64 MiB". */
export type Size = number | string;

/**
 * Largest page count a generator accepts (2^40 pages = 4 PiB of virtual space).
 * @internal
 */
export const MAX_WORKLOAD_PAGES = 2 ** 40;

/**
 * A page count (number or size string), at least `min`.
 *
 * @internal
 * @example
 * checkPages("64 MiB", "workload.pages") // 16384
 */
export function checkPages(value: unknown, where: string, min = 1): number {
  if (value === undefined) throw new MemvirtError("is required (a page count or a size such as \"64 MiB\")", { where });
  const pages = parsePages(value, where);
  if (pages < min) throw new MemvirtError(`must be at least ${min} page${min === 1 ? "" : "s"}`, { where, value });
  if (pages > MAX_WORKLOAD_PAGES) throw new MemvirtError(`must be at most 2^40 pages`, { where, value });
  return pages;
}

/**
 * A probability in [0, 1].
 *
 * @internal
 * @example
 * checkFraction(0.3, "workload.writeFraction") // 0.3
 */
export function checkFraction(value: unknown, where: string): number {
  if (value === undefined) throw new MemvirtError("is required (a number between 0 and 1)", { where });
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new MemvirtError("must be a number between 0 and 1", { where, value });
  }
  return value;
}

/**
 * A finite real number in [min, max].
 *
 * @internal
 * @example
 * checkNumber(1.1, "workload.exponent", 0, 10) // 1.1
 */
export function checkNumber(value: unknown, where: string, min: number, max: number): number {
  if (value === undefined) throw new MemvirtError(`is required (a number between ${min} and ${max})`, { where });
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new MemvirtError(`must be a number between ${min} and ${max}`, { where, value });
  }
  return value;
}

/**
 * A whole count >= min (accesses, repetitions).
 *
 * @internal
 * @example
 * checkCount(1000, "workload.accesses") // 1000
 */
export function checkCount(value: unknown, where: string, min = 0): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > Number.MAX_SAFE_INTEGER) {
    throw new MemvirtError(`must be a whole number of at least ${min}`, { where, value });
  }
  return value;
}

/**
 * A boolean.
 *
 * @internal
 * @example
 * checkBoolean(true, "workload.loop") // true
 */
export function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw new MemvirtError("must be true or false", { where, value });
  return value;
}

/**
 * A plain object with only the allowed keys.
 *
 * @internal
 * @example
 * checkKeys({ kind: "uniform", pages: 10 }, ["kind", "pages"], "workload")
 */
export function checkKeys(value: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MemvirtError("must be an object", { where, value });
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new MemvirtError(`unknown field (valid fields: ${allowed.join(", ")})`, { where: pathJoin(where, key), value: (value as Record<string, unknown>)[key] });
    }
  }
  return value as Record<string, unknown>;
}
