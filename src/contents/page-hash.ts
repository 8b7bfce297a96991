/**
 * Page hashing: one 64-bit hash per page, and exact recognition of zero pages.
 *
 * The hash is xxHash's XXH64 (seed 0) from `@node-rs/xxhash`. On 4 KiB pages it measured
 * faster than the same package's XXH3 (≈ 4 GB/s against ≈ 1.6 GB/s on this machine;
 * `npm run bench -- contents` prints both), because that package's XXH3 is not vectorised
 * while its XXH64 is close to the algorithm's scalar speed.
 *
 * A hash only nominates candidates: equal hashes are not proof of equal contents. The sharing
 * report counts contents by hash unless every snapshot kept its bytes, and then compares bytes.
 * Zero pages are never decided by hash: a page is zero when every byte is zero.
 */
import { xxh64 } from "@node-rs/xxhash";

/** A 64-bit page hash function with the name a snapshot records (`"xxh64"`). */
export interface PageHasher {
  /** Recorded in the snapshot; snapshots are only compared when their hashers have one name. */
  readonly name: string;
  /** The page's 64-bit hash. */
  hash(page: Uint8Array): bigint;
}

/**
 * XXH64 with seed 0, the hash `capture-pages` stores. `xxhsum -H1` prints the same value
 * (big-endian hex) for a file holding the page.
 *
 * @example
 * XXH64_HASHER.hash(new Uint8Array(4096)).toString(16)
 */
export const XXH64_HASHER: PageHasher = { name: "xxh64", hash: (page) => xxh64(page) };

const zeroPages = new Map<number, Buffer>();

/**
 * A shared all-zero page of `pageSizeBytes` (do not write to it).
 *
 * @example
 * zeroPage(4096).length // 4096
 */
export function zeroPage(pageSizeBytes: number): Buffer {
  let page = zeroPages.get(pageSizeBytes);
  if (page === undefined) {
    page = Buffer.alloc(pageSizeBytes);
    zeroPages.set(pageSizeBytes, page);
  }
  return page;
}

/**
 * True when every byte of `page` is zero (a memcmp against a zero page, not a hash).
 *
 * @example
 * isZeroPage(new Uint8Array(4096)) // true
 */
export function isZeroPage(page: Uint8Array): boolean {
  return zeroPage(page.length).equals(page);
}

/**
 * Split a 64-bit hash into its low and high 32-bit halves.
 *
 * @example
 * hashHalves(0x1_0000_0002n) // { lo: 2, hi: 1 }
 */
export function hashHalves(hash: bigint): { lo: number; hi: number } {
  return { lo: Number(hash & 0xffff_ffffn), hi: Number((hash >> 32n) & 0xffff_ffffn) };
}
