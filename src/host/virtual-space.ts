/**
 * A guest's V→P table: where each virtual page is.
 *
 *   vpn < DIRECT_LIMIT_PAGES ──▶ direct[vpn]            (Int32Array, grows by doubling)
 *   vpn ≥ DIRECT_LIMIT_PAGES ──▶ hash(vpn) → k → hashed[k]   (open addressing on Float64 keys)
 *
 * A value ≥ 0 is a guest-physical page; V_UNTOUCHED, V_GUEST_SWAPPED and V_ON_FILE say where a
 * page that is not in guest memory lives. A *slot* names one entry: a direct slot is the vpn
 * itself (≥ 0) and hashed entry k is slot ~k (< 0), so one Int32 P→V entry finds either.
 *
 * Invariants:
 * - Workloads over [0, n) pages (every synthetic generator) use only the direct table: one typed
 *   array read per access, 4 bytes per virtual page.
 * - Sparse 57-bit spaces (Lackey traces: code low, stack near 2^35) go through the hash.
 * - No allocation per access; growth doubles, so it is amortised O(1).
 */
import { V_UNTOUCHED } from "./page-state";

/**
 * Virtual pages below this are indexed directly (2^24 pages = 64 GiB of virtual space).
 * @internal
 */
export const DIRECT_LIMIT_PAGES = 2 ** 24;

const EMPTY_KEY = -1;

/**
 * The V→P table of one guest.
 *
 * @internal
 * @example
 * const vs = new VirtualSpace();
 * const slot = vs.slotOf(5);
 * vs.set(slot, 42);
 * vs.direct[5] // 42
 */
export class VirtualSpace {
  /** Direct table, indexed by vpn; read it on the hot path, but re-read after `slotOf` (it grows). */
  direct: Int32Array;
  private hashKeys: Float64Array;
  private hashSlots: Int32Array;
  private hashed: Int32Array;
  private hashedCount = 0;

  constructor(initialDirectPages = 1024) {
    this.direct = new Int32Array(Math.max(16, initialDirectPages)).fill(V_UNTOUCHED);
    this.hashKeys = new Float64Array(16).fill(EMPTY_KEY);
    this.hashSlots = new Int32Array(16);
    this.hashed = new Int32Array(8).fill(V_UNTOUCHED);
  }

  /**
   * The slot of a virtual page, creating its entry (as V_UNTOUCHED) on first use.
   *
   * @example
   * vs.slotOf(2 ** 35) // < 0: a hashed entry
   */
  slotOf(vpn: number): number {
    if (vpn < DIRECT_LIMIT_PAGES) {
      if (vpn >= this.direct.length) this.growDirect(vpn);
      return vpn;
    }
    return ~this.hashedIndex(vpn);
  }

  /**
   * The value in a slot.
   *
   * @example
   * vs.get(vs.slotOf(7)) // V_UNTOUCHED
   */
  get(slot: number): number {
    return slot >= 0 ? this.direct[slot] : this.hashed[~slot];
  }

  /**
   * Store a value in a slot.
   *
   * @example
   * vs.set(vs.slotOf(7), 3);
   */
  set(slot: number, value: number): void {
    if (slot >= 0) this.direct[slot] = value;
    else this.hashed[~slot] = value;
  }

  /**
   * The virtual page a slot belongs to (inverse of `slotOf`; O(hash size) for hashed slots,
   * used only for explain text and tests).
   *
   * @example
   * vs.vpnOf(vs.slotOf(9)) // 9
   */
  vpnOf(slot: number): number {
    if (slot >= 0) return slot;
    const k = ~slot;
    for (let i = 0; i < this.hashSlots.length; i++) if (this.hashKeys[i] !== EMPTY_KEY && this.hashSlots[i] === k) return this.hashKeys[i];
    return -1;
  }

  /** Bytes of typed-array state held. */
  get stateBytes(): number {
    return this.direct.byteLength + this.hashKeys.byteLength + this.hashSlots.byteLength + this.hashed.byteLength;
  }

  /**
   * Visit every entry (slot, value) that has been touched, for counting in tests and samples.
   *
   * @example
   * vs.forEach((slot, value) => { if (value >= 0) resident++; });
   */
  forEach(fn: (slot: number, value: number) => void): void {
    const d = this.direct;
    for (let i = 0; i < d.length; i++) if (d[i] !== V_UNTOUCHED) fn(i, d[i]);
    for (let k = 0; k < this.hashedCount; k++) if (this.hashed[k] !== V_UNTOUCHED) fn(~k, this.hashed[k]);
  }

  private growDirect(vpn: number): void {
    let size = this.direct.length;
    while (size <= vpn) size *= 2;
    if (size > DIRECT_LIMIT_PAGES) size = DIRECT_LIMIT_PAGES;
    const next = new Int32Array(size).fill(V_UNTOUCHED);
    next.set(this.direct);
    this.direct = next;
  }

  private hashedIndex(vpn: number): number {
    const mask = this.hashKeys.length - 1;
    let i = hashVpn(vpn) & mask;
    for (;;) {
      const key = this.hashKeys[i];
      if (key === vpn) return this.hashSlots[i];
      if (key === EMPTY_KEY) break;
      i = (i + 1) & mask;
    }
    // Insert a new entry.
    const k = this.hashedCount++;
    if (k >= this.hashed.length) {
      const next = new Int32Array(this.hashed.length * 2).fill(V_UNTOUCHED);
      next.set(this.hashed);
      this.hashed = next;
    }
    this.hashKeys[i] = vpn;
    this.hashSlots[i] = k;
    if (this.hashedCount * 2 > this.hashKeys.length) this.rehash();
    return k;
  }

  private rehash(): void {
    const oldKeys = this.hashKeys;
    const oldSlots = this.hashSlots;
    this.hashKeys = new Float64Array(oldKeys.length * 2).fill(EMPTY_KEY);
    this.hashSlots = new Int32Array(oldKeys.length * 2);
    const mask = this.hashKeys.length - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      const key = oldKeys[j];
      if (key === EMPTY_KEY) continue;
      let i = hashVpn(key) & mask;
      while (this.hashKeys[i] !== EMPTY_KEY) i = (i + 1) & mask;
      this.hashKeys[i] = key;
      this.hashSlots[i] = oldSlots[j];
    }
  }
}

function hashVpn(vpn: number): number {
  const lo = vpn >>> 0;
  const hi = (vpn / 4294967296) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
