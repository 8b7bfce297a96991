/**
 * A Fenwick (binary indexed) tree over a growing sequence of integer counts: append a count,
 * add to one, and sum a range, each in O(log n), in one Int32Array.
 *
 * The LRU stack (`MattsonStack`) keeps one over access times: position t holds 1 while the page
 * last touched at time t is still on the stack, so the range sum over (t0, now] counts the pages
 * touched since t0.
 *
 * Invariants:
 * - tree[i] is the sum of positions (i − lowbit(i), i] for every i ≤ length. Nodes above
 *   `length` are never read, so `add` stops at `length` and `push` computes a new node from the
 *   nodes below it (O(1) amortized). A recent position thus costs O(log(length − position)),
 *   in nodes that are still in cache, not O(log capacity).
 * - Counts stay below 2^31.
 */
import { MemvirtError } from "../util/errors";

/**
 * Range sums over an append-only sequence of counts, with point updates.
 *
 * @example
 * const f = new FenwickTree(8);
 * f.push(0); f.push(0); f.push(1); f.push(0); f.push(1); // positions 1..5
 * f.prefixSum(4)   // 1
 * f.rangeSum(3, 5) // 1 (positions 4 and 5)
 * f.add(3, -1);
 * f.prefixSum(5)   // 1
 */
export class FenwickTree {
  /** The most positions it can hold. */
  readonly capacity: number;
  private readonly tree: Int32Array;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 2 ** 31 - 1) throw new MemvirtError("must be a whole number from 1 to 2^31-1", { where: "capacity", value: capacity });
    this.capacity = capacity;
    this.tree = new Int32Array(capacity + 1);
  }

  /** Positions 1..length hold counts. */
  get length(): number {
    return this.count;
  }

  /**
   * Append `value` at position length + 1 (which must be ≤ capacity).
   *
   * @example
   * const f = new FenwickTree(4); f.push(2);
   * f.prefixSum(1) // 2
   */
  push(value: number): void {
    const t = ++this.count;
    const tree = this.tree;
    // tree[t] covers (t − lowbit(t), t]: the value plus the nodes that tile (t − lowbit(t), t − 1].
    const low = t - (t & -t);
    let sum = value;
    for (let i = t - 1; i > low; i -= i & -i) sum += tree[i];
    tree[t] = sum;
  }

  /**
   * Add `delta` at `position` (1 ≤ position ≤ length).
   *
   * @example
   * const f = new FenwickTree(4); f.push(1);
   * f.add(1, -1);
   */
  add(position: number, delta: number): void {
    const tree = this.tree;
    const n = this.count;
    for (let i = position; i <= n; i += i & -i) tree[i] += delta;
  }

  /**
   * The sum of positions 1..position (0 for position 0; position ≤ length).
   *
   * @example
   * const f = new FenwickTree(4); f.push(0); f.push(5);
   * f.prefixSum(1) // 0
   * f.prefixSum(2) // 5
   */
  prefixSum(position: number): number {
    const tree = this.tree;
    let sum = 0;
    for (let i = position; i > 0; i -= i & -i) sum += tree[i];
    return sum;
  }

  /**
   * The sum of positions after+1..upTo (after ≤ upTo ≤ length). The two prefix walks stop where
   * they meet, so a short range costs O(log(upTo − after)): the LRU stack's common case, a page
   * reused soon after its last access.
   *
   * @example
   * const f = new FenwickTree(8); for (const v of [0, 0, 1, 0, 0, 1]) f.push(v);
   * f.rangeSum(3, 6) // 1 (position 6)
   */
  rangeSum(after: number, upTo: number): number {
    const tree = this.tree;
    let sum = 0;
    let i = upTo;
    let j = after;
    while (i !== j) {
      if (i > j) {
        sum += tree[i];
        i -= i & -i;
      } else {
        sum -= tree[j];
        j -= j & -j;
      }
    }
    return sum;
  }

  /**
   * Empty the sequence (length 0), in O(1).
   *
   * @example
   * const f = new FenwickTree(4); f.push(1); f.clear();
   * f.length // 0
   */
  clear(): void {
    this.count = 0;
  }

  /**
   * Reset to `count` positions that each hold 1, in O(count): the state after renumbering the
   * live access times 1..count.
   *
   * @example
   * const f = new FenwickTree(8); f.fillOnes(3);
   * f.prefixSum(3) // 3
   */
  fillOnes(count: number): void {
    if (count > this.capacity) throw new MemvirtError(`must be at most the capacity, ${this.capacity}`, { where: "count", value: count });
    const tree = this.tree;
    for (let i = 1; i <= count; i++) tree[i] = i & -i; // a node covers lowbit(i) ones
    this.count = count;
  }
}
