/**
 * Page sizes and radix-table shapes of x86-64.
 *
 * A virtual page number (VPN, 4 KiB granule) is cut into 9-bit indices, one per level:
 *
 *   level:      5        4        3        2        1
 *   VA bits:  56..48   47..39   38..30   29..21   20..12 | 11..0 offset
 *
 * 4-level tables translate 48-bit addresses, 5-level tables 57-bit ones. A large page stops the
 * walk early: a 2 MiB leaf sits at level 2 (21-bit offset), a 1 GiB leaf at level 3 (30-bit
 * offset), so each size step removes one level from the walk.
 *
 * Invariant: page numbers are integers held in doubles (exact below 2^53); indices are taken
 * with `levelIndex`, which never builds a BigInt.
 */
import { MemvirtError } from "../util/errors";

/** A page size x86-64 can map with one leaf entry. */
export type PageSize = "4K" | "2M" | "1G";
/** Depth of a radix page table: 4 (48-bit VA) or 5 (57-bit VA). */
export type Levels = 4 | 5;

/**
 * Every page size, smallest first.
 * @internal
 */
export const PAGE_SIZES: readonly PageSize[] = ["4K", "2M", "1G"];

/**
 * Entries per table page (4 KiB / 8-byte entries).
 * @internal
 */
export const ENTRIES_PER_TABLE = 512;

/**
 * 512^k for k = 0..5: the number of 4 KiB pages one entry at level k+1 covers.
 * @internal
 */
export const LEVEL_SPAN_PAGES: readonly number[] = [1, 512, 262144, 134217728, 68719476736, 35184372088832];

/**
 * The level at which a leaf of this size sits: 1 for 4K, 2 for 2M, 3 for 1G.
 *
 * @internal
 * @example
 * leafLevelOf("2M") // 2
 */
export function leafLevelOf(size: PageSize): 1 | 2 | 3 {
  return size === "4K" ? 1 : size === "2M" ? 2 : 3;
}

/**
 * How many 4 KiB frames one page of this size spans.
 *
 * @internal
 * @example
 * framesPerPage("2M") // 512
 */
export function framesPerPage(size: PageSize): number {
  return LEVEL_SPAN_PAGES[leafLevelOf(size) - 1];
}

/**
 * The size in bytes.
 *
 * @internal
 * @example
 * pageSizeBytes("1G") // 1073741824
 */
export function pageSizeBytes(size: PageSize): number {
  return framesPerPage(size) * 4096;
}

/**
 * The smaller of two page sizes: a translation that combines two mappings can be no larger than
 * either of them (a guest 2M page backed by 4K host pages is splintered into 4K pieces).
 *
 * @internal
 * @example
 * smallerPageSize("2M", "4K") // "4K"
 */
export function smallerPageSize(a: PageSize, b: PageSize): PageSize {
  return leafLevelOf(a) <= leafLevelOf(b) ? a : b;
}

/**
 * Virtual-address width of a table depth.
 *
 * @internal
 * @example
 * addressBitsOf(5) // 57
 */
export function addressBitsOf(levels: Levels): 48 | 57 {
  return levels === 4 ? 48 : 57;
}

/**
 * The 9-bit index a page number uses at `level` (1 = leaf table). Exact for any integer page
 * number below 2^53; no allocation.
 *
 * @internal
 * @example
 * levelIndex(0x7f123, 1) // 0x123
 */
export function levelIndex(page: number, level: number): number {
  // `>>>` and `&` take the low 32 bits exactly, so levels 1..3 (bits 0..26) need no division.
  if (level <= 3) return (page >>> (9 * (level - 1))) & 511;
  return Math.floor(page / LEVEL_SPAN_PAGES[level - 1]) & 511;
}

/**
 * Parse a page size as a user writes it: "4K", "4KiB", "2M", "2 MiB", "1G", or a byte count.
 *
 * @internal
 * @example
 * parsePageSize("2MiB", "--host-page-size") // "2M"
 */
export function parsePageSize(value: unknown, where = "pageSize"): PageSize {
  if (typeof value === "number") {
    if (value === 4096) return "4K";
    if (value === 2097152) return "2M";
    if (value === 1073741824) return "1G";
  } else if (typeof value === "string") {
    const m = /^\s*(4|2|1)\s*(k|m|g)(?:i?b)?\s*$/i.exec(value);
    if (m) {
      const text = `${m[1]}${m[2].toUpperCase()}`;
      if (text === "4K" || text === "2M" || text === "1G") return text;
    }
  }
  throw new MemvirtError("expected a page size: 4K, 2M or 1G", { where, value });
}

/**
 * Parse a table depth (4 or 5).
 *
 * @internal
 * @example
 * parseLevels("5", "--guest-levels") // 5
 */
export function parseLevels(value: unknown, where = "levels"): Levels {
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (n === 4 || n === 5) return n;
  throw new MemvirtError("expected 4 or 5 page-table levels", { where, value });
}
