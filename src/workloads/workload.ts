/**
 * The access-stream contract shared by generators, trace readers and simulators.
 *
 * A workload fills caller-owned typed arrays in batches, so the per-access path allocates
 * nothing: the simulator owns one `pages`/`kinds` buffer pair and reuses it for the whole run.
 *
 *   simulator ──fill(pages, kinds)──▶ workload
 *             ◀── n (0 = finished) ──
 *
 * Pages are virtual page numbers of 4 KiB pages (`address >> 12`), held in a Float64Array
 * because 57-bit addresses give page numbers above 2^32 (still exact in a double).
 */

/** Access kinds, stored in a Uint8Array. */
export const READ = 0;
export const WRITE = 1;
export const FETCH = 2;
export type AccessKind = typeof READ | typeof WRITE | typeof FETCH;

/** A source of accesses. */
export interface Workload {
  /** Short name for tables and explain text, e.g. "zipf(1.1) over 4096 pages". */
  readonly name: string;
  /**
   * Write up to `pages.length` accesses into `pages` and `kinds`; return how many were written.
   * Returns 0 once the workload is exhausted (an endless generator never returns 0).
   */
  fill(pages: Float64Array, kinds: Uint8Array): number;
  /**
   * The virtual pages it may touch, as `[firstPage, pageCount]` ranges (they may overlap), when
   * known before it runs; the host checks them against the guest's memory plus swap. Absent when
   * unknown; a partial list (a phase of unknown footprint) is a lower bound.
   */
  footprint?(): ReadonlyArray<readonly [number, number]>;
}
