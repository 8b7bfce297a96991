/**
 * Sizes and units.
 *
 * Sizes are bytes (`sizeBytes`) or pages (`sizePages`); names carry the unit. A size written by a
 * user may be a number of pages or a string with a binary or decimal unit: "512 MiB", "4GiB",
 * "2 MB", "4096 B", "1000 pages". A string without a unit ("16384") is rejected, not guessed: the
 * number 16384 means pages, so reading the string as bytes would be a silent factor of 4096.
 * Anything else is rejected with the path it came from.
 */
import { MemvirtError } from "./errors";

/**
 * Bytes in a 4 KiB base page.
 * @internal
 */
export const PAGE_SIZE_BYTES = 4096;
/**
 * log2 of the base page size.
 * @internal
 */
export const PAGE_SHIFT = 12;

/** @internal */
export const KiB = 1024;
/** @internal */
export const MiB = 1024 * KiB;
/** @internal */
export const GiB = 1024 * MiB;
/** @internal */
export const TiB = 1024 * GiB;

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kib: KiB, mib: MiB, gib: GiB, tib: TiB,
  k: KiB, m: MiB, g: GiB, t: TiB,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};

/**
 * Parse a size into bytes. Numbers are taken as bytes here; see `parsePages` for page counts.
 * A string must carry a unit.
 *
 * @internal
 * @example
 * parseBytes("512 MiB") // 536870912
 * parseBytes("2M", "hostPageSize") // 2097152
 */
export function parseBytes(value: unknown, where = "size"): number {
  if (typeof value === "number") return checkSize(value, value, where);
  if (typeof value !== "string") throw new MemvirtError("expected a size such as \"512 MiB\"", { where, value });
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) throw new MemvirtError("expected a size such as \"512 MiB\"", { where, value });
  const unit = m[2].toLowerCase();
  if (unit === "") {
    const n = Number(m[1]);
    throw new MemvirtError(`a size string needs a unit: write ${m[1]} (a number, in pages), "${m[1]} pages" or "${formatBytes(n * PAGE_SIZE_BYTES)}"`, { where, value });
  }
  if (unit === "pages" || unit === "page") return checkSize(Number(m[1]) * PAGE_SIZE_BYTES, value, where);
  const scale = UNIT_BYTES[unit];
  if (scale === undefined) throw new MemvirtError(`unknown unit "${m[2]}" (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB or pages)`, { where, value });
  return checkSize(Number(m[1]) * scale, value, where);
}

/**
 * Parse a size into 4 KiB pages. A bare number is already a page count; a string carries a unit.
 * Sizes that are not a whole number of pages are rejected rather than rounded silently.
 *
 * @internal
 * @example
 * parsePages("512 MiB") // 131072
 * parsePages(1000) // 1000
 */
export function parsePages(value: unknown, where = "size", pageSizeBytes = PAGE_SIZE_BYTES): number {
  if (typeof value === "number") return checkSize(value, value, where);
  const bytes = parseBytes(value, where);
  if (bytes % pageSizeBytes !== 0) {
    throw new MemvirtError(`size is not a whole number of ${formatBytes(pageSizeBytes)} pages`, { where, value });
  }
  return bytes / pageSizeBytes;
}

function checkSize(n: number, value: unknown, where: string): number {
  if (!Number.isFinite(n)) throw new MemvirtError("size must be a finite number", { where, value });
  if (n < 0) throw new MemvirtError("size must not be negative", { where, value });
  if (!Number.isInteger(n)) throw new MemvirtError("size must be a whole number", { where, value });
  if (n > Number.MAX_SAFE_INTEGER) throw new MemvirtError("size is too large", { where, value });
  return n;
}

/**
 * Format bytes with a binary unit, e.g. for explain text.
 *
 * @internal
 * @example
 * formatBytes(2 * 1024 * 1024) // "2 MiB"
 */
export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [[TiB, "TiB"], [GiB, "GiB"], [MiB, "MiB"], [KiB, "KiB"]];
  for (const [scale, name] of units) {
    if (bytes >= scale) {
      const v = bytes / scale;
      return `${Number.isInteger(v) ? v : v.toFixed(2)} ${name}`;
    }
  }
  return `${bytes} B`;
}

/**
 * Format a count with thousands separators.
 *
 * @internal
 * @example
 * formatCount(1234567) // "1,234,567"
 */
export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 3 });
}
