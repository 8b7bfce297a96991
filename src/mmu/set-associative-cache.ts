/**
 * A set-associative cache with true LRU replacement, the building block of the TLB, the nested
 * TLB and the page-walk caches.
 *
 *   key ──(low bits)──▶ set s ──▶ its `ways` slots, kept in LRU order by a list per set
 *   (tag, key) ──hash──▶ bucket b: count[b] valid slots hash here, hint[b] = the last one filled
 *
 * The set is chosen by the low bits of the key (`(key >>> 0) & (sets - 1)`), as hardware indexes
 * a TLB by low VPN bits; a hit needs both the tag (ASID/VPID) and the full key to match. A miss
 * that inserts takes an invalid slot of the set if there is one, else the least recently used
 * (the tail of the set's list).
 *
 * Lookups cost O(1) at any associativity, which matters because simulated keys are random and a
 * scan over 16 ways mispredicts: the bucket table is ≥ 8× larger than the cache, so a missing
 * key's bucket is usually empty (count 0: a certain miss, no scan), and a present key is usually
 * where its bucket's hint points. Only when the hint is stale and the bucket holds two or more
 * entries does a lookup scan the set.
 *
 * Layout: few arrays, interleaved, so one operation touches few cache lines (the simulator's
 * own page tables compete for the same L1):
 *
 *   data[2s], data[2s+1]            key and tag of slot s (tag -1: invalid)
 *   links[4n .. 4n+2]               bucket, prev, next of node n: n < entries is a slot, node
 *                                   entries + set is that set's sentinel (prev = LRU, next = MRU)
 *   buckets[2b], buckets[2b+1]      count and hint of bucket b
 *
 * Each set's list is circular through its sentinel, so moving a slot to the front needs no branch.
 *
 * Stamp LRU (`lru: "stamp"`) replaces the lists by one number per slot:
 *
 *   stamps[s]                       the clock when slot s was last used; 0: invalid
 *
 * A hit stores one stamp instead of relinking four nodes; a fill takes the smallest stamp of
 * its set. Caches that mostly hit and have few ways (the STC's) gain; TLBs, which fill on
 * almost every miss, keep lists.
 *
 * A batch kernel may inline lookups and fills on these arrays (nested-mode.ts `runStc` does, as
 * V8 will not inline enough method calls into one loop): it must keep the invariants below,
 * hash with `hashOf`'s formula, relink with `moveToFront` (list LRU only), fill as `fill`
 * does, add its lookups to `hits` / `misses`, and hand a missed key's fill to a method with
 * `expectFill`.
 *
 * Invariants: `sets` is a power of two; a (tag, key) pair occupies at most one slot; tags are
 * ≥ 0; count[b] = number of valid slots whose (tag, key) hashes to b (links[4s] remembers each
 * slot's bucket); each set's list holds its slots, most recent first, invalid slots behind valid
 * ones (list LRU), or stamps are unique among valid slots and 0 for invalid ones (stamp LRU);
 * lookups and inserts allocate nothing.
 */
import { MemvirtError } from "../util/errors";
import { formatCount } from "../util/units";
import { checkStateFits } from "./memory-budget";

/**
 * Size and shape of a set-associative structure.
 * @internal
 */
export interface CacheShape {
  /** Total entries. */
  entries: number;
  /** Ways per set (entries for fully associative). */
  ways: number;
}

/**
 * @internal
 * @example
 * const c = new SetAssociativeCache({ entries: 64, ways: 4 }, "tlb");
 * c.insert(1, 0x7f000, 0x4242, 0, 0);
 * c.lookup(1, 0x7f000) >= 0 // true
 */
export class SetAssociativeCache {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  /** What a hit returns, by slot. */
  readonly values: Float64Array;
  readonly values2: Float64Array;
  readonly flags: Uint8Array;
  /** sets − 1. The arrays below are for batch kernels only (see the layout above). */
  readonly setMask: number;
  /** Key and tag per slot. */
  readonly data: Float64Array;
  /** Bucket, prev, next per slot and per set sentinel. */
  readonly links: Int32Array;
  /** Count and hint per bucket. */
  readonly buckets: Int32Array;
  /** 32 − log2(buckets): multiplicative hashing keeps the top bits (see `hashOf`). */
  readonly hashShift: number;
  /** Bucket of the last missing `lookupForFill` (or -1), and the mutation count then. */
  private pending = -1;
  private pendingAt = -1;
  /** Bumped by every insert and invalidation, so `fillMissed` knows whether its lookup is stale. */
  private mutations = 0;
  /** Stamp LRU: the clock value of each slot's last use (0: invalid), or null for list LRU. */
  readonly stamps: Float64Array | null;
  private clock = 0;
  /** Lookups that hit / missed since creation (or `resetCounters`). */
  hits = 0;
  misses = 0;

  /**
   * `lru: "stamp"` keeps the LRU order as a use stamp per slot instead of a list: a hit is one
   * store instead of a relink, a fill scans its set for the oldest stamp. It suits caches that
   * mostly hit and have few ways (the STC's level caches); the default list suits caches that
   * fill on every miss (TLBs). Both are exact LRU; only the slot a fill picks among several
   * invalid ones may differ.
   */
  constructor(shape: CacheShape, where = "cache", lru: "list" | "stamp" = "list") {
    const { entries, ways } = shape;
    if (!Number.isInteger(entries) || entries < 1) throw new MemvirtError("entries must be a positive whole number", { where: `${where}.entries`, value: entries });
    if (!Number.isInteger(ways) || ways < 1 || ways > entries) throw new MemvirtError("ways must be a whole number between 1 and entries", { where: `${where}.ways`, value: ways });
    if (lru !== "list" && lru !== "stamp") throw new MemvirtError("lru must be \"list\" or \"stamp\"", { where: `${where}.lru`, value: lru });
    const sets = entries / ways;
    if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0) {
      throw new MemvirtError(`entries / ways must be a power of two (got ${entries} / ${ways})`, { where, value: shape });
    }
    const bits = bucketBits(entries);
    checkStateFits(SetAssociativeCache.stateBytesOf(entries, sets, bits, lru), `a cache of ${formatCount(entries)} entries`, `${where}.entries`, entries);
    this.entries = entries;
    this.ways = ways;
    this.sets = sets;
    this.setMask = sets - 1;
    this.values = new Float64Array(entries);
    this.values2 = new Float64Array(entries);
    this.flags = new Uint8Array(entries);
    this.data = new Float64Array(2 * entries);
    for (let slot = 0; slot < entries; slot++) this.data[2 * slot + 1] = -1;
    this.hashShift = 32 - bits;
    this.buckets = new Int32Array(2 * 2 ** bits);
    this.links = new Int32Array(4 * (entries + sets));
    this.stamps = lru === "stamp" ? new Float64Array(entries) : null;
    this.resetLists();
  }

  /**
   * Bytes of typed arrays a cache of this shape holds: values, values2, flags, data and stamps
   * per slot, links per slot and set, count and hint per bucket.
   *
   * @example
   * SetAssociativeCache.stateBytesOf(1536, 128, 14, "list") // 208384: the default TLB
   */
  static stateBytesOf(entries: number, sets: number, bucketBitCount: number, lru: "list" | "stamp"): number {
    return entries * (8 + 8 + 1 + 16 + (lru === "stamp" ? 8 : 0)) + 16 * (entries + sets) + 8 * 2 ** bucketBitCount;
  }

  /** Bytes of typed arrays this cache holds. */
  get stateBytes(): number {
    return this.values.byteLength + this.values2.byteLength + this.flags.byteLength + this.data.byteLength +
      this.links.byteLength + this.buckets.byteLength + (this.stamps?.byteLength ?? 0);
  }

  /**
   * The set a key maps to.
   *
   * @example
   * new SetAssociativeCache({ entries: 8, ways: 2 }).setOf(5) // 1
   */
  setOf(key: number): number {
    return (key >>> 0) & this.setMask;
  }

  /**
   * Find (tag, key). Returns its slot (for `values[slot]` etc.) and marks it most recently
   * used, or -1 on a miss.
   *
   * @example
   * const slot = cache.lookup(asid, vpn);
   */
  lookup(tag: number, key: number): number {
    const slot = this.find(tag, key, this.hash(tag, key));
    if (slot < 0) {
      this.misses++;
      return -1;
    }
    this.hits++;
    this.toFront(slot, (key >>> 0) & this.setMask);
    return slot;
  }

  /**
   * `lookup`, which on a miss also remembers what a following `fillMissed` needs. If the cache
   * changed in between, `fillMissed` falls back to `insert`, so the pair always behaves exactly
   * like lookup + insert.
   *
   * @example
   * if (ntlb.lookupForFill(vpid, page) < 0) ntlb.fillMissed(vpid, page, frame, 0, 0);
   */
  lookupForFill(tag: number, key: number): number {
    const h = this.hash(tag, key);
    const slot = this.find(tag, key, h);
    if (slot >= 0) {
      this.hits++;
      this.pending = -1;
      this.toFront(slot, (key >>> 0) & this.setMask);
      return slot;
    }
    this.misses++;
    this.pending = h;
    this.pendingAt = this.mutations;
    return -1;
  }

  /**
   * Insert after a `lookupForFill` miss for the same (tag, key). Returns the slot.
   *
   * @example
   * ntlb.fillMissed(vpid, page, frame, 0, 0);
   */
  fillMissed(tag: number, key: number, value: number, value2: number, flags: number): number {
    const h = this.pending;
    if (h < 0 || this.pendingAt !== this.mutations) return this.insert(tag, key, value, value2, flags);
    this.pending = -1;
    return this.fill(tag, key, h, value, value2, flags);
  }

  /**
   * Let the next `fillMissed` use bucket `h`, as after a `lookupForFill` miss (-1: none).
   * For batch kernels that looked up a key inline and leave its fill to a method.
   *
   * @example
   * ntlb.expectFill(hashOf(vpid, page, ntlb.hashShift));
   */
  expectFill(h: number): void {
    this.pending = h;
    this.pendingAt = this.mutations;
  }

  /**
   * Find (tag, key) by scanning its set (no hash, no LRU update, no counters): what a batch
   * kernel falls back to when a bucket's hint cannot decide.
   *
   * @example
   * cache.findInSet(asid, vpn) // slot or -1
   */
  findInSet(tag: number, key: number): number {
    const data = this.data;
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    for (let i = base; i < base + ways; i++) if (data[2 * i] === key && data[2 * i + 1] === tag) return i;
    return -1;
  }

  /**
   * Find (tag, key) without touching LRU order or counters.
   *
   * @example
   * cache.peek(asid, vpn) >= 0
   */
  peek(tag: number, key: number): number {
    return this.find(tag, key, this.hash(tag, key));
  }

  /**
   * Finish a `peek` that found `slot` as `lookup` would have: count a hit and mark the slot
   * most recently used. `peek` + `touch` is exactly `lookup`, for callers that must inspect an
   * entry before they commit to using it.
   *
   * @example
   * const slot = cache.peek(asid, vpn);
   * if (slot >= 0 && usable(cache.values[slot])) cache.touch(slot);
   */
  touch(slot: number): void {
    this.hits++;
    const stamps = this.stamps;
    if (stamps !== null) stamps[slot] = ++this.clock;
    else moveToFront(this.links, slot, this.entries + ((slot / this.ways) | 0));
  }

  /**
   * Insert (or refresh) (tag, key) with its values; evicts the set's LRU slot when full.
   * Returns the slot.
   *
   * @example
   * cache.insert(asid, vpn, frame, 0, flags);
   */
  insert(tag: number, key: number, value: number, value2: number, flags: number): number {
    const h = this.hash(tag, key);
    const slot = this.find(tag, key, h);
    if (slot < 0) return this.fill(tag, key, h, value, value2, flags);
    this.mutations++;
    this.values[slot] = value;
    this.values2[slot] = value2;
    this.flags[slot] = flags;
    this.toFront(slot, (key >>> 0) & this.setMask);
    return slot;
  }

  /**
   * Drop (tag, key) if cached. Returns whether something was dropped.
   *
   * @example
   * cache.invalidate(asid, vpn);
   */
  invalidate(tag: number, key: number): boolean {
    const slot = this.peek(tag, key);
    if (slot < 0) return false;
    this.drop(slot);
    return true;
  }

  /**
   * Drop every entry with this tag (e.g. one address space).
   *
   * @example
   * tlb.flushTag(asid);
   */
  flushTag(tag: number): void {
    const data = this.data;
    for (let slot = 0; slot < this.entries; slot++) if (data[2 * slot + 1] === tag) this.drop(slot);
  }

  /**
   * Drop every entry.
   *
   * @example
   * cache.flushAll();
   */
  flushAll(): void {
    this.mutations++;
    const data = this.data;
    for (let slot = 0; slot < this.entries; slot++) {
      if (data[2 * slot + 1] !== -1) {
        this.buckets[2 * this.links[4 * slot]] = 0;
        data[2 * slot + 1] = -1;
      }
    }
    this.resetLists();
  }

  /** Valid entries now. */
  occupancy(): number {
    let n = 0;
    for (let slot = 0; slot < this.entries; slot++) if (this.data[2 * slot + 1] !== -1) n++;
    return n;
  }

  /** Zero the hit and miss counters. */
  resetCounters(): void {
    this.hits = 0;
    this.misses = 0;
  }

  /** The bucket of (tag, key): mixes both 32-bit halves of the key and the tag, no division. */
  private hash(tag: number, key: number): number {
    return hashOf(tag, key, this.hashShift);
  }

  /** The slot holding (tag, key), whose bucket is `h`, or -1. */
  private find(tag: number, key: number, h: number): number {
    const buckets = this.buckets;
    const c = buckets[2 * h];
    if (c === 0) return -1;
    const data = this.data;
    const s = buckets[2 * h + 1];
    if (data[2 * s] === key && data[2 * s + 1] === tag) return s;
    // The hint names another valid entry of this bucket and it is the only one: a miss.
    if (c === 1 && data[2 * s + 1] !== -1 && this.links[4 * s] === h) return -1;
    return this.findInSet(tag, key);
  }

  /** Put (tag, key) (absent, bucket `h`) in its set's LRU or invalid slot. */
  private fill(tag: number, key: number, h: number, value: number, value2: number, flags: number): number {
    this.mutations++;
    const set = (key >>> 0) & this.setMask;
    const slot = this.victim(set);
    const data = this.data;
    const links = this.links;
    const buckets = this.buckets;
    if (data[2 * slot + 1] !== -1) buckets[2 * links[4 * slot]]--;
    data[2 * slot] = key;
    data[2 * slot + 1] = tag;
    links[4 * slot] = h;
    buckets[2 * h]++;
    buckets[2 * h + 1] = slot;
    this.values[slot] = value;
    this.values2[slot] = value2;
    this.flags[slot] = flags;
    this.toFront(slot, set);
    return slot;
  }

  /** The slot a fill of `set` takes: an invalid one if any, else the least recently used. */
  private victim(set: number): number {
    const stamps = this.stamps;
    if (stamps === null) return this.links[4 * (this.entries + set) + 1]; // the list's tail
    let slot = set * this.ways;
    for (let i = slot + 1; i < (set + 1) * this.ways; i++) if (stamps[i] < stamps[slot]) slot = i;
    return slot;
  }

  /** Mark a slot most recently used. */
  private toFront(slot: number, set: number): void {
    const stamps = this.stamps;
    if (stamps !== null) stamps[slot] = ++this.clock;
    else moveToFront(this.links, slot, this.entries + set);
  }

  /** Move a slot to the back of its set's list (it became invalid): unlink, relink before the sentinel. */
  private toBack(slot: number, set: number): void {
    if (this.stamps !== null) {
      this.stamps[slot] = 0;
      return;
    }
    const links = this.links;
    const i = 4 * slot;
    const p = links[i + 1];
    const n = links[i + 2];
    links[4 * p + 2] = n;
    links[4 * n + 1] = p;
    const sentinel = this.entries + set;
    const prev = links[4 * sentinel + 1];
    links[i + 1] = prev;
    links[i + 2] = sentinel;
    links[4 * prev + 2] = slot;
    links[4 * sentinel + 1] = slot;
  }

  private resetLists(): void {
    this.stamps?.fill(0);
    const ways = this.ways;
    const links = this.links;
    for (let set = 0; set < this.sets; set++) {
      const sentinel = this.entries + set;
      let prev = sentinel;
      for (let w = 0; w < ways; w++) {
        const slot = set * ways + w;
        links[4 * prev + 2] = slot;
        links[4 * slot + 1] = prev;
        prev = slot;
      }
      links[4 * prev + 2] = sentinel;
      links[4 * sentinel + 1] = prev;
    }
  }

  /** Invalidate a valid slot. */
  private drop(slot: number): void {
    this.mutations++;
    this.buckets[2 * this.links[4 * slot]]--;
    this.data[2 * slot + 1] = -1;
    this.toBack(slot, (slot / this.ways) | 0);
  }
}

/**
 * The bucket of (tag, key) in a table of 2^(32 − shift) buckets: mixes both 32-bit halves of
 * the key and the tag, no division. Batch kernels write this expression inline (same formula).
 *
 * @internal
 * @example
 * hashOf(1, 0x7f000, 23) // a bucket in [0, 512)
 */
export function hashOf(tag: number, key: number, shift: number): number {
  const lo = key >>> 0;
  const hi = (key * 2.3283064365386963e-10) | 0; // key / 2^32, exact (power of two)
  return Math.imul(lo ^ Math.imul(hi ^ tag, 0x85ebca6b), 0x9e3779b1) >>> shift;
}

/**
 * Unlink `slot` from its set's list and relink it right after the set's sentinel (most
 * recently used). `links` is a cache's link array; `sentinel` = entries + set.
 *
 * @internal
 * @example
 * moveToFront(cache.links, slot, cache.entries + cache.setOf(key));
 */
export function moveToFront(links: Int32Array, slot: number, sentinel: number): void {
  const i = 4 * slot;
  const p = links[i + 1];
  const n = links[i + 2];
  links[4 * p + 2] = n;
  links[4 * n + 1] = p;
  const next = links[4 * sentinel + 2];
  links[i + 1] = sentinel;
  links[i + 2] = next;
  links[4 * sentinel + 2] = slot;
  links[4 * next + 1] = slot;
}

/** log2 of the bucket count: at least 8× the entries (so a missing key's bucket is usually empty), 2^8 to 2^30. */
function bucketBits(entries: number): number {
  let bits = 8;
  while (bits < 30 && 2 ** bits < entries * 8) bits++;
  return bits;
}
