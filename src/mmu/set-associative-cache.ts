/**
 * A set-associative cache with true LRU replacement, the building block of the TLB, the nested
 * TLB and the page-walk caches.
 *
 *   key ──(low bits)──▶ set s ──▶ ways [s*ways, s*ways+ways)
 *   each way: tag (address-space id, -1 = invalid), key, value, value2, flags, LRU stamp
 *
 * The set is chosen by the low bits of the key (`(key >>> 0) & (sets - 1)`), as hardware indexes
 * a TLB by low VPN bits; a hit needs both the tag (ASID/VPID) and the full key to match. On a
 * miss, `insert` fills an invalid way first, else evicts the least recently used one.
 *
 * Invariants: `sets` is a power of two; a (tag, key) pair occupies at most one way; lookups and
 * inserts allocate nothing.
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
  /** Address-space tag per way; -1 marks an invalid way. */
  readonly tags: Int32Array;
  readonly keys: Float64Array;
  readonly values: Float64Array;
  readonly values2: Float64Array;
  readonly flags: Uint8Array;
  private readonly stamps: Float64Array;
  private readonly setMask: number;
  private clock = 0;
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
    this.stamps = new Float64Array(entries);
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
   * Find (tag, key). Returns the way's slot index (for `values[slot]` etc.) and marks it most
   * recently used, or -1 on a miss.
   *
   * @example
   * const slot = cache.lookup(asid, vpn);
   */
  lookup(tag: number, key: number): number {
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    const tags = this.tags;
    const keys = this.keys;
    for (let i = base; i < base + ways; i++) {
      if (keys[i] === key && tags[i] === tag) {
        this.stamps[i] = ++this.clock;
        this.hits++;
        return i;
      }
    }
    this.misses++;
    return -1;
  }

  /**
   * Find (tag, key) without touching LRU order or counters.
   *
   * @example
   * cache.peek(asid, vpn) >= 0
   */
  peek(tag: number, key: number): number {
    const ways = this.ways;
    const base = ((key >>> 0) & this.setMask) * ways;
    for (let i = base; i < base + ways; i++) if (this.keys[i] === key && this.tags[i] === tag) return i;
    return -1;
  }

  /**
   * Insert (or refresh) (tag, key) with its values; evicts the set's LRU way when full. Returns
   * the slot.
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
    let match = -1;
    let invalid = -1;
    let lru = base;
    let oldest = Infinity;
    for (let i = base; i < base + ways; i++) {
      const t = tags[i];
      if (t === -1) {
        if (invalid < 0) invalid = i;
      } else if (keys[i] === key && t === tag) {
        match = i;
        break;
      } else if (stamps[i] < oldest) {
        oldest = stamps[i];
        lru = i;
      }
    }
    const victim = match >= 0 ? match : invalid >= 0 ? invalid : lru;
    tags[victim] = tag;
    keys[victim] = key;
    this.values[victim] = value;
    this.values2[victim] = value2;
    this.flags[victim] = flags;
    stamps[victim] = ++this.clock;
    return victim;
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
    this.tags[slot] = -1;
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
    for (let i = 0; i < tags.length; i++) if (tags[i] === tag) tags[i] = -1;
  }

  /**
   * Drop every entry.
   *
   * @example
   * cache.flushAll();
   */
  flushAll(): void {
    this.tags.fill(-1);
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
}
