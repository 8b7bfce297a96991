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
 * Invariants: `sets` is a power of two; a (tag, key) pair occupies at most one slot; tags are
 * ≥ 0 (-1 marks an invalid slot); count[b] = number of valid slots whose (tag, key) hashes to b
 * (slotHash remembers each slot's bucket); each set's list holds its slots, most recent first,
 * invalid slots behind valid ones; lookups and inserts allocate nothing.
 */
import { MemvirtError } from "../util/errors";

/** Size and shape of a set-associative structure. */
export interface CacheShape {
  /** Total entries. */
  entries: number;
  /** Ways per set (entries for fully associative). */
  ways: number;
}

/**
 * @example
 * const c = new SetAssociativeCache({ entries: 64, ways: 4 }, "tlb");
 * c.insert(1, 0x7f000, 0x4242, 0, 0);
 * c.lookup(1, 0x7f000) >= 0 // true
 */
export class SetAssociativeCache {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  /** Address-space tag per slot; -1 marks an invalid slot. */
  readonly tags: Int32Array;
  readonly keys: Float64Array;
  readonly values: Float64Array;
  readonly values2: Float64Array;
  readonly flags: Uint8Array;
  private readonly setMask: number;
  /** Bucket table: valid slots per bucket, and the slot last filled in each bucket (may be stale). */
  private readonly count: Int32Array;
  private readonly hint: Int32Array;
  /** The bucket of each valid slot's (tag, key). */
  private readonly slotHash: Int32Array;
  /** 32 − log2(buckets): multiplicative hashing keeps the top bits. */
  private readonly hashShift: number;
  /** LRU order per set: head = most recent; invalid slots at the tail. */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  /** Bucket of the last missing `lookupForFill` (or -1), and the mutation count then. */
  private pending = -1;
  private pendingAt = -1;
  /** Bumped by every insert and invalidation, so `fillMissed` knows whether its lookup is stale. */
  private mutations = 0;
  /** Lookups that hit / missed since creation (or `resetCounters`). */
  hits = 0;
  misses = 0;

  constructor(shape: CacheShape, where = "cache") {
    const { entries, ways } = shape;
    if (!Number.isInteger(entries) || entries < 1) throw new MemvirtError("entries must be a positive whole number", { where: `${where}.entries`, value: entries });
    if (!Number.isInteger(ways) || ways < 1 || ways > entries) throw new MemvirtError("ways must be a whole number between 1 and entries", { where: `${where}.ways`, value: ways });
    const sets = entries / ways;
    if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0) {
      throw new MemvirtError(`entries / ways must be a power of two (got ${entries} / ${ways})`, { where, value: shape });
    }
    this.entries = entries;
    this.ways = ways;
    this.sets = sets;
    this.setMask = sets - 1;
    this.tags = new Int32Array(entries).fill(-1);
    this.keys = new Float64Array(entries);
    this.values = new Float64Array(entries);
    this.values2 = new Float64Array(entries);
    this.flags = new Uint8Array(entries);
    let bits = 8;
    while (bits < 30 && 2 ** bits < entries * 8) bits++;
    this.hashShift = 32 - bits;
    this.count = new Int32Array(2 ** bits);
    this.hint = new Int32Array(2 ** bits);
    this.slotHash = new Int32Array(entries);
    this.prev = new Int32Array(entries);
    this.next = new Int32Array(entries);
    this.head = new Int32Array(sets);
    this.tail = new Int32Array(sets);
    this.resetLists();
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
   * Find (tag, key) without touching LRU order or counters.
   *
   * @example
   * cache.peek(asid, vpn) >= 0
   */
  peek(tag: number, key: number): number {
    return this.find(tag, key, this.hash(tag, key));
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
    const tags = this.tags;
    for (let i = 0; i < tags.length; i++) if (tags[i] === tag) this.drop(i);
  }

  /**
   * Drop every entry.
   *
   * @example
   * cache.flushAll();
   */
  flushAll(): void {
    this.mutations++;
    const tags = this.tags;
    const count = this.count;
    const slotHash = this.slotHash;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] !== -1) {
        count[slotHash[i]] = 0;
        tags[i] = -1;
      }
    }
    this.resetLists();
  }

  /** Valid entries now. */
  occupancy(): number {
    let n = 0;
    for (let i = 0; i < this.tags.length; i++) if (this.tags[i] !== -1) n++;
    return n;
  }

  /** Zero the hit and miss counters. */
  resetCounters(): void {
    this.hits = 0;
    this.misses = 0;
  }

  /** The bucket of (tag, key): mixes both 32-bit halves of the key and the tag, no division. */
  private hash(tag: number, key: number): number {
    const lo = key >>> 0;
    const hi = (key * 2.3283064365386963e-10) | 0; // key / 2^32, exact (power of two)
    return Math.imul(lo ^ Math.imul(hi ^ tag, 0x85ebca6b), 0x9e3779b1) >>> this.hashShift;
  }

  /** The slot holding (tag, key), whose bucket is `h`, or -1. */
  private find(tag: number, key: number, h: number): number {
    const c = this.count[h];
    if (c === 0) return -1;
    const keys = this.keys;
    const tags = this.tags;
    const s = this.hint[h];
    if (keys[s] === key && tags[s] === tag) return s;
    // The hint names another valid entry of this bucket and it is the only one: a miss.
    if (c === 1 && tags[s] !== -1 && this.slotHash[s] === h) return -1;
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    for (let i = base; i < base + ways; i++) if (keys[i] === key && tags[i] === tag) return i;
    return -1;
  }

  /** Put (tag, key) (absent, bucket `h`) in its set's LRU or invalid slot. */
  private fill(tag: number, key: number, h: number, value: number, value2: number, flags: number): number {
    this.mutations++;
    const set = (key >>> 0) & this.setMask;
    const slot = this.tail[set];
    const tags = this.tags;
    if (tags[slot] !== -1) this.count[this.slotHash[slot]]--;
    tags[slot] = tag;
    this.keys[slot] = key;
    this.slotHash[slot] = h;
    this.count[h]++;
    this.hint[h] = slot;
    this.values[slot] = value;
    this.values2[slot] = value2;
    this.flags[slot] = flags;
    this.toFront(slot, set);
    return slot;
  }

  /** Mark a slot most recently used. */
  private toFront(slot: number, set: number): void {
    const h = this.head[set];
    if (h === slot) return;
    const prev = this.prev;
    const next = this.next;
    const p = prev[slot];
    const n = next[slot];
    next[p] = n; // p >= 0: slot is not the head
    if (n >= 0) prev[n] = p; else this.tail[set] = p;
    prev[slot] = -1;
    next[slot] = h;
    prev[h] = slot;
    this.head[set] = slot;
  }

  /** Move a slot to the back of its set's list (it became invalid). */
  private toBack(slot: number, set: number): void {
    const t = this.tail[set];
    if (t === slot) return;
    const prev = this.prev;
    const next = this.next;
    const p = prev[slot];
    const n = next[slot]; // n >= 0: slot is not the tail
    if (p >= 0) next[p] = n; else this.head[set] = n;
    prev[n] = p;
    next[slot] = -1;
    prev[slot] = t;
    next[t] = slot;
    this.tail[set] = slot;
  }

  private resetLists(): void {
    const ways = this.ways;
    for (let set = 0; set < this.sets; set++) {
      const base = set * ways;
      for (let w = 0; w < ways; w++) {
        this.prev[base + w] = w === 0 ? -1 : base + w - 1;
        this.next[base + w] = w === ways - 1 ? -1 : base + w + 1;
      }
      this.head[set] = base;
      this.tail[set] = base + ways - 1;
    }
  }

  /** Invalidate a valid slot. */
  private drop(slot: number): void {
    this.mutations++;
    this.count[this.slotHash[slot]]--;
    this.tags[slot] = -1;
    this.toBack(slot, (slot / this.ways) | 0);
  }
}
