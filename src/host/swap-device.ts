/**
 * A swap device: a capacity in pages, an occupancy and traffic counters. Contents are not
 * modelled, only which pages have a slot, because the simulator never needs a page's bytes.
 *
 * Invariant: 0 ≤ usedPages ≤ capacityPages; `reads` and `writes` only ever grow.
 */

/**
 * A swap device (the hypervisor's, or one guest's).
 *
 * @internal
 * @example
 * const swap = new SwapDevice(1000);
 * swap.allocate(); swap.writes++; // one page out into a new slot
 * swap.reads++; swap.free();      // read back, slot released
 */
export class SwapDevice {
  capacityPages: number;
  usedPages = 0;
  /** Pages written out so far. */
  writes = 0;
  /** Pages read back so far. */
  reads = 0;

  constructor(capacityPages: number) {
    this.capacityPages = capacityPages;
  }

  /** Slots left. */
  get freePages(): number {
    return this.capacityPages - this.usedPages;
  }

  /**
   * Take a slot; false if the device is full.
   *
   * @example
   * if (!swap.allocate()) throw new Error("swap full");
   */
  allocate(): boolean {
    if (this.usedPages >= this.capacityPages) return false;
    this.usedPages++;
    return true;
  }

  /**
   * Release a slot (after a read that keeps no copy, or when the contents are no longer needed).
   *
   * @example
   * swap.free();
   */
  free(): void {
    if (this.usedPages <= 0) throw new Error("internal: swap slot freed on an empty device");
    this.usedPages--;
  }
}
