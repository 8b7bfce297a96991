/**
 * A hash map from page numbers to one number each (the LRU stack keeps each page's last access
 * time in it), with the page and its value side by side in one Float64Array: a lookup touches
 * one cache line, allocates nothing, and the value is read and written in the slot it was found
 * in. A JS `Map<number, number>` is 2.5–3.5× slower on this path, and a map to ids plus an array
 * indexed by id costs a second cache miss per access (see test/bench/analysis.bench.ts).
 *
 * Invariants:
 * - Keys are page numbers: whole numbers from 0 to 2^53 − 1 held in doubles (callers check).
 * - Open addressing with linear probing; load factor at most 1/2 (the table doubles first).
 * - Deletion shifts later entries of the probe run back (no tombstones), so lookups never slow
 *   down after many deletions, and memory follows the pages held, not the pages ever seen.
 * - Slot numbers are valid until the next `insertAt` or `delete` (either may move entries).
 */

const MIN_SLOTS = 16;
/** A slot whose value is this is empty; values are never negative. */
const EMPTY = -1;

/**
 * Page number → value (a number ≥ 0).
 *
 * @example
 * const m = new PageValueMap();
 * m.set(0x7ff000, 5);
 * m.get(0x7ff000) // 5
 * m.get(0x400)    // -1: absent
 * m.delete(0x7ff000) // 5
 */
export class PageValueMap {
  /** slots[2s] = page, slots[2s + 1] = value (EMPTY when the slot is free). */
  private slots: Float64Array;
  private shift: number;
  private mask: number;
  private count = 0;

  /** `expectedPages` sizes the table up front (it grows anyway). */
  constructor(expectedPages = 0) {
    let n = MIN_SLOTS;
    while (n < expectedPages * 2) n *= 2;
    this.slots = emptySlots(n);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
  }

  /** Pages held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of its table. */
  get stateBytes(): number {
    return this.slots.byteLength;
  }

  /**
   * The slot holding `page` (≥ 0), or, when it is absent, −1 − the slot where it would go.
   *
   * @example
   * const m = new PageValueMap(); m.set(3, 9);
   * m.valueAt(m.find(3)) // 9
   * m.find(4) < 0        // true
   */
  find(page: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let s = homeSlot(page, this.shift);
    for (;;) {
      const value = slots[2 * s + 1];
      if (value === EMPTY) return -1 - s;
      if (slots[2 * s] === page) return s;
      s = (s + 1) & mask;
    }
  }

  /**
   * The value in a slot `find` returned (≥ 0).
   *
   * @example
   * m.valueAt(m.find(3))
   */
  valueAt(slot: number): number {
    return this.slots[2 * slot + 1];
  }

  /**
   * Replace the value in a slot `find` returned.
   *
   * @example
   * m.setValueAt(m.find(3), 10);
   */
  setValueAt(slot: number, value: number): void {
    this.slots[2 * slot + 1] = value;
  }

  /**
   * Add an absent page where `find` said it would go (`missing` is find's negative result).
   *
   * @example
   * const s = m.find(4);
   * if (s < 0) m.insertAt(s, 4, 1);
   */
  insertAt(missing: number, page: number, value: number): void {
    let s = -1 - missing;
    if ((this.count + 1) * 2 > this.mask + 1) {
      this.grow();
      s = -1 - this.find(page);
    }
    this.slots[2 * s] = page;
    this.slots[2 * s + 1] = value;
    this.count++;
  }

  /**
   * The value of `page`, or −1 when absent.
   *
   * @example
   * new PageValueMap().get(5) // -1
   */
  get(page: number): number {
    const s = this.find(page);
    return s < 0 ? EMPTY : this.slots[2 * s + 1];
  }

  /**
   * Set the value of `page`, adding it when absent.
   *
   * @example
   * new PageValueMap().set(5, 0);
   */
  set(page: number, value: number): void {
    const s = this.find(page);
    if (s >= 0) this.slots[2 * s + 1] = value;
    else this.insertAt(s, page, value);
  }

  /**
   * Remove `page`; returns its value, or −1 when it was absent.
   *
   * @example
   * const m = new PageValueMap(); m.set(7, 2);
   * m.delete(7) // 2
   * m.delete(7) // -1
   */
  delete(page: number): number {
    let hole = this.find(page);
    if (hole < 0) return EMPTY;
    const slots = this.slots;
    const mask = this.mask;
    const shift = this.shift;
    const removed = slots[2 * hole + 1];
    // Backward shift: move into the hole each later entry of the run whose home is not in (hole, j].
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      if (slots[2 * j + 1] === EMPTY) break;
      const home = homeSlot(slots[2 * j], shift);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        slots[2 * hole] = slots[2 * j];
        slots[2 * hole + 1] = slots[2 * j + 1];
        hole = j;
      }
    }
    slots[2 * hole + 1] = EMPTY;
    this.count--;
    return removed;
  }

  /**
   * Replace every value v by `fn(v)` (in no particular page order).
   *
   * @example
   * m.mapValues((t) => t - 100);
   */
  mapValues(fn: (value: number) => number): void {
    const slots = this.slots;
    for (let v = 1; v < slots.length; v += 2) if (slots[v] !== EMPTY) slots[v] = fn(slots[v]);
  }

  /**
   * Call `fn` with every value.
   *
   * @example
   * let sum = 0; m.forEachValue((v) => { sum += v; });
   */
  forEachValue(fn: (value: number) => void): void {
    const slots = this.slots;
    for (let v = 1; v < slots.length; v += 2) if (slots[v] !== EMPTY) fn(slots[v]);
  }

  private grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) * 2;
    this.slots = emptySlots(n);
    this.mask = n - 1;
    this.shift = 32 - Math.log2(n);
    const slots = this.slots;
    for (let v = 1; v < old.length; v += 2) {
      if (old[v] === EMPTY) continue;
      let s = homeSlot(old[v - 1], this.shift);
      while (slots[2 * s + 1] !== EMPTY) s = (s + 1) & this.mask;
      slots[2 * s] = old[v - 1];
      slots[2 * s + 1] = old[v];
    }
  }
}

function emptySlots(n: number): Float64Array {
  const slots = new Float64Array(2 * n);
  for (let v = 1; v < slots.length; v += 2) slots[v] = EMPTY;
  return slots;
}

/**
 * Fibonacci hashing of the page's low and high 32 bits: the top bits of a multiply, so
 * consecutive pages (the common case) spread over the whole table.
 */
function homeSlot(page: number, shift: number): number {
  const lo = page >>> 0; // ToUint32: page mod 2^32, exact for whole numbers
  const hi = page > 4294967295 ? (page / 4294967296) >>> 0 : 0;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> shift;
}
