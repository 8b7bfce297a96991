/**
 * Mattson's LRU stack (Mattson et al., 1970), incrementally: feed it one page at a time and it
 * says how deep the page was in the LRU stack, in O(log M) for M pages on the stack.
 *
 * LRU is a stack algorithm: a cache of C pages holds exactly the top C pages of the stack, so an
 * access at depth d (1 = the page touched last) hits every cache of d pages or more, and one pass
 * gives the miss ratio of every size (`StackDistanceHistogram`).
 *
 *   page ──PageValueMap──▶ t0 (its last access time)     depth = 1 + (live times after t0)
 *   CountingBitmap over access times: bit t set while t is some page's last access.
 *
 * Counting the live times in (t0, now) walks a Fenwick tree over 32-time words from both ends
 * until the walks meet, so a page reused soon (the common case) costs few steps, in cache-hot
 * nodes, and a deep one O(log M).
 *
 * Invariants:
 * - Each page on the stack has exactly one live time; times are unique and increasing, so the
 *   pages above a page are those with a later live time.
 * - Memory is O(M), not O(accesses): when the clock reaches the bitmap's capacity, the live times
 *   are renumbered 1..M in order (their ranks, by a linear scan; order kept, so depths are
 *   unchanged), and the capacity is then 8·M, so this O(M) step comes once per 7·M accesses or more.
 * - `remove` takes a page off the stack (the pages below move up one), for samplers that drop
 *   pages (fixed-size SHARDS) and for caches that hold only part of the stack.
 *
 * Part of a stack: a hypervisor's exclusive cache below a VM of v pages (pages enter it when the
 * VM evicts them, leave when the VM faults them back) keeps one of these over the evicted pages:
 * `access(page)` on each eviction (it goes on top), `remove(page)` on each fault. The depth
 * `remove` returns, plus v, is the fault's depth in the VM's whole LRU stack, so a
 * `StackDistanceHistogram` of those depths (and the VM's hits, at depth ≤ v) gives the exact
 * miss-ratio curve at every size ≥ v.
 */
import { CountingBitmap } from "./counting-bitmap";
import { PageValueMap } from "../util/page-value-map";

const MIN_TIME_CAPACITY = 1024;
/**
 * Access times per page on the stack after a compaction: a compaction costs O(pages) and comes
 * every (8 − 1) × pages accesses. The bitmap costs a bit per time, so 8 bits a page.
 */
const TIMES_PER_PAGE = 8;

/**
 * An LRU stack that reports each access's stack depth.
 *
 * @example
 * const s = new MattsonStack();
 * s.access(1) // Infinity (first touch: a cold miss at every size)
 * s.access(2) // Infinity
 * s.access(1) // 2 (page 2 was touched since, so page 1 was second from the top)
 * s.access(1) // 1
 */
export class MattsonStack {
  /** page → the time of its last access, 1..now. */
  private readonly times: PageValueMap;
  /** Bit t is set while time t is some page's last access. */
  private liveTimes: CountingBitmap;
  /** The last time handed out (= liveTimes.length); times run 1..liveTimes.capacity between compactions. */
  private now = 0;
  private live = 0;

  /** `expectedPages` sizes the tables up front (they grow anyway). */
  constructor(expectedPages = 0) {
    this.times = new PageValueMap(expectedPages);
    this.liveTimes = new CountingBitmap(Math.max(MIN_TIME_CAPACITY, TIMES_PER_PAGE * expectedPages));
  }

  /** Pages on the stack. */
  get sizePages(): number {
    return this.live;
  }

  /**
   * Touch `page`: returns its depth before the access (1 = it was on top), or Infinity when it was
   * not on the stack; it is on top afterwards.
   *
   * @example
   * const s = new MattsonStack();
   * s.access(7); s.access(8); s.access(9);
   * s.access(7) // 3
   */
  access(page: number): number {
    if (this.now === this.liveTimes.capacity) this.compact();
    const time = ++this.now;
    const times = this.times;
    const liveTimes = this.liveTimes;
    const slot = times.find(page);
    if (slot < 0) {
      times.insertAt(slot, page, time);
      this.live++;
      liveTimes.push(true);
      return Infinity;
    }
    const last = times.valueAt(slot);
    // Live times in (last, time): the pages touched since, each above this one.
    const depth = 1 + liveTimes.countRange(last, time - 1);
    liveTimes.clear(last);
    liveTimes.push(true);
    times.setValueAt(slot, time);
    return depth;
  }

  /**
   * The depth of `page` (1 = top) without touching it, or Infinity when it is not on the stack.
   *
   * @example
   * const s = new MattsonStack(); s.access(1); s.access(2);
   * s.depthOf(1) // 2
   */
  depthOf(page: number): number {
    const last = this.times.get(page);
    if (last < 0) return Infinity;
    return 1 + this.liveTimes.countRange(last, this.now);
  }

  /**
   * Take `page` off the stack; returns the depth it had, or Infinity when it was not there.
   *
   * @example
   * const s = new MattsonStack(); s.access(1); s.access(2);
   * s.remove(1) // 2
   * s.sizePages // 1
   */
  remove(page: number): number {
    const last = this.times.delete(page);
    if (last < 0) return Infinity;
    const depth = 1 + this.liveTimes.countRange(last, this.now);
    this.liveTimes.clear(last);
    this.live--;
    return depth;
  }

  /** Renumber the live times 1..live in order, and make room for at least as many new ones. */
  private compact(): void {
    const liveTimes = this.liveTimes;
    liveTimes.prepareRanks();
    this.times.mapValues((t) => liveTimes.rank(t));
    this.now = this.live;
    const capacity = Math.max(MIN_TIME_CAPACITY, TIMES_PER_PAGE * this.live);
    if (capacity > liveTimes.capacity || capacity * 4 < liveTimes.capacity) this.liveTimes = new CountingBitmap(capacity);
    this.liveTimes.fillOnes(this.live);
  }
}
