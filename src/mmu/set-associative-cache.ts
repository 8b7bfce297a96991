/**
 * A set-associative cache with true LRU replacement, the building block of the TLB, the nested
 * TLB and the page-walk caches.
 *
 *   key ──(low bits)──▶ set s ──▶ its `ways` slots, each with an LRU stamp
 *   (tag, key) ──hash──▶ index table ──▶ slot    (highly associative shapes, which keep
 *                                                 LRU order in a list per set instead)
 *
 * The set is chosen by the low bits of the key (`(key >>> 0) & (sets - 1)`), as hardware indexes
 * a TLB by low VPN bits; a hit needs both the tag (ASID/VPID) and the full key to match. A miss
 * that inserts takes an invalid slot of the set if there is one, else the least recently used
 * (smallest stamp). Up to 16 ways a lookup scans the set (cheaper than hashing at that size);
 * beyond that it goes through a hash index, so a large fully associative cache stays O(1).
 *
 * Invariants: `sets` is a power of two; a (tag, key) pair occupies at most one slot; stamps
 * grow with every use, so the smallest stamp in a set is its least recently used slot; when
 * indexed, the index holds exactly the valid slots; lookups and inserts allocate nothing.
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
  /** LRU stamps: larger = more recent (int32; renumbered before the clock overflows). */
  private readonly stamps: Int32Array;
  /** Open-addressing hash index (slot + 1, 0 = empty); only used when `indexed`. */
  private readonly index: Int32Array;
  private readonly indexMask: number;
  private readonly setMask: number;
  /** Lookups use the hash index (more than 16 ways) instead of scanning the set. */
  private readonly indexed: boolean;
  /** Indexed shapes keep LRU order in a list per set (head = most recent; invalid slots at the tail). */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private clock = 0;
  /** Slot chosen by the last missing `lookupForFill`, or -1, and the mutation count then. */
  private pending = -1;
  private pendingAt = -1;
  /** Bumped by every insert and invalidation, so `fillMissed` knows whether its pick is stale. */
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
    this.stamps = new Int32Array(entries);
    this.indexed = ways > 16;
    let size = 8;
    while (this.indexed && size < entries * 4) size *= 2;
    this.index = new Int32Array(size);
    this.indexMask = size - 1;
    const listed = this.indexed ? entries : 0;
    this.prev = new Int32Array(listed);
    this.next = new Int32Array(listed);
    this.head = new Int32Array(this.indexed ? sets : 0);
    this.tail = new Int32Array(this.indexed ? sets : 0);
    if (this.indexed) this.resetLists();
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
    const slot = this.indexed ? this.findIndexed(tag, key) : this.findScan(tag, key);
    if (slot < 0) {
      this.misses++;
      return -1;
    }
    this.hits++;
    this.use(slot);
    return slot;
  }

  /**
   * `lookup`, which on a miss also picks the slot a following `fillMissed` will use (the set's
   * first invalid slot, else its LRU one). If the cache changed in between, `fillMissed` falls
   * back to `insert`, so the pair always behaves exactly like lookup + insert.
   *
   * @example
   * if (ntlb.lookupForFill(vpid, page) < 0) ntlb.fillMissed(vpid, page, frame, 0, 0);
   */
  lookupForFill(tag: number, key: number): number {
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    if (this.indexed) {
      const slot = this.findIndexed(tag, key);
      if (slot >= 0) {
        this.hits++;
        this.pending = -1;
        this.use(slot);
        return slot;
      }
      this.misses++;
      this.pending = this.victim(base, ways);
      this.pendingAt = this.mutations;
      return -1;
    }
    const keys = this.keys;
    const tags = this.tags;
    const stamps = this.stamps;
    for (let i = base; i < base + ways; i++) {
      if (keys[i] === key && tags[i] === tag) {
        this.hits++;
        this.pending = -1;
        this.use(i);
        return i;
      }
    }
    this.misses++;
    this.pending = this.victim(base, ways);
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
    const slot = this.pending;
    if (slot < 0 || this.pendingAt !== this.mutations) return this.insert(tag, key, value, value2, flags);
    this.pending = -1;
    this.mutations++;
    if (this.indexed && this.tags[slot] !== -1) this.unindex(slot);
    this.tags[slot] = tag;
    this.keys[slot] = key;
    if (this.indexed) this.addIndex(slot, tag, key);
    this.values[slot] = value;
    this.values2[slot] = value2;
    this.flags[slot] = flags;
    this.use(slot);
    return slot;
  }

  /**
   * Find (tag, key) without touching LRU order or counters.
   *
   * @example
   * cache.peek(asid, vpn) >= 0
   */
  peek(tag: number, key: number): number {
    return this.indexed ? this.findIndexed(tag, key) : this.findScan(tag, key);
  }

  /**
   * Insert (or refresh) (tag, key) with its values; evicts the set's LRU slot when full.
   * Returns the slot.
   *
   * @example
   * cache.insert(asid, vpn, frame, 0, flags);
   */
  insert(tag: number, key: number, value: number, value2: number, flags: number): number {
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    const tags = this.tags;
    const keys = this.keys;
    const stamps = this.stamps;
    this.mutations++;
    let slot = this.indexed ? this.findIndexed(tag, key) : -1;
    if (slot < 0 && !this.indexed) {
      for (let i = base; i < base + ways; i++) {
        if (keys[i] === key && tags[i] === tag) {
          slot = i;
          break;
        }
      }
    }
    if (slot < 0) {
      slot = this.victim(base, ways);
      if (this.indexed && tags[slot] !== -1) this.unindex(slot);
      tags[slot] = tag;
      keys[slot] = key;
      if (this.indexed) this.addIndex(slot, tag, key);
    }
    this.values[slot] = value;
    this.values2[slot] = value2;
    this.flags[slot] = flags;
    this.use(slot);
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
    this.tags.fill(-1);
    if (this.indexed) {
      this.index.fill(0);
      this.resetLists();
    }
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

  /** Mark a slot most recently used. */
  private use(slot: number): void {
    if (this.indexed) this.toFront(slot, (slot / this.ways) | 0);
    else this.stamps[slot] = this.tick();
  }

  /** The slot to fill in a set: an invalid one if any, else the least recently used. */
  private victim(base: number, ways: number): number {
    if (this.indexed) return this.tail[(base / ways) | 0];
    const tags = this.tags;
    const stamps = this.stamps;
    let lru = base;
    let oldest = 0x7fffffff;
    for (let i = base; i < base + ways; i++) {
      if (tags[i] === -1) return i;
      const s = stamps[i];
      // Select without a branch on the (unpredictable) comparison.
      const older = s < oldest;
      oldest = older ? s : oldest;
      lru = older ? i : lru;
    }
    return lru;
  }

  private unlink(slot: number, set: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p >= 0) this.next[p] = n; else this.head[set] = n;
    if (n >= 0) this.prev[n] = p; else this.tail[set] = p;
  }

  private toFront(slot: number, set: number): void {
    if (this.head[set] === slot) return;
    this.unlink(slot, set);
    const h = this.head[set];
    this.prev[slot] = -1;
    this.next[slot] = h;
    this.prev[h] = slot;
    this.head[set] = slot;
  }

  private toBack(slot: number, set: number): void {
    if (this.tail[set] === slot) return;
    this.unlink(slot, set);
    const t = this.tail[set];
    this.next[slot] = -1;
    this.prev[slot] = t;
    this.next[t] = slot;
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

  /** The next LRU stamp; renumbers every stamp (keeping their order) before int32 overflow. */
  private tick(): number {
    if (this.clock >= 0x3fffffff) {
      const order = Array.from(this.stamps.keys()).sort((a, b) => this.stamps[a] - this.stamps[b]);
      order.forEach((slot, rank) => { this.stamps[slot] = rank; });
      this.clock = order.length;
    }
    return ++this.clock;
  }

  private findScan(tag: number, key: number): number {
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    const keys = this.keys;
    const tags = this.tags;
    for (let i = base; i < base + ways; i++) if (keys[i] === key && tags[i] === tag) return i;
    return -1;
  }

  private hash(tag: number, key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) | 0;
    let h = lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(tag + 1, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h ^= h >>> 15;
    return h & this.indexMask;
  }

  private findIndexed(tag: number, key: number): number {
    const index = this.index;
    const mask = this.indexMask;
    let i = this.hash(tag, key);
    for (;;) {
      const v = index[i];
      if (v === 0) return -1;
      const slot = v - 1;
      if (this.keys[slot] === key && this.tags[slot] === tag) return slot;
      i = (i + 1) & mask;
    }
  }

  private addIndex(slot: number, tag: number, key: number): void {
    const index = this.index;
    const mask = this.indexMask;
    let i = this.hash(tag, key);
    while (index[i] !== 0) i = (i + 1) & mask;
    index[i] = slot + 1;
  }

  /** Remove a valid slot from the hash index (linear probing with backward-shift deletion). */
  private unindex(slot: number): void {
    const index = this.index;
    const mask = this.indexMask;
    let i = this.hash(this.tags[slot], this.keys[slot]);
    while (index[i] !== slot + 1) i = (i + 1) & mask;
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const v = index[j];
      if (v === 0) break;
      const home = this.hash(this.tags[v - 1], this.keys[v - 1]);
      // Move the entry at j back into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        index[hole] = v;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[hole] = 0;
  }

  /** Invalidate a valid slot. */
  private drop(slot: number): void {
    this.mutations++;
    if (this.indexed) {
      this.unindex(slot);
      this.toBack(slot, (slot / this.ways) | 0);
    }
    this.tags[slot] = -1;
  }
}
