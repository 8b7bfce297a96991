/**
 * Storage for page-table pages: the 512 entries of every table page of one address space
 * (guest-physical, host-physical or machine), in flat typed arrays.
 *
 *   table id t  ──▶ entries [t*512, t*512+512)
 *   frames[e]   the frame an entry points to (a child table's frame, or the mapped frame)
 *   flags[e]    PTE bits (see pte.ts)
 *   child[e]    the child table's id, or -1: a simulator shortcut from an entry to the table
 *               page at `frames[e]`, so a walk never searches for a table by address
 *   tableFrame[t]  the physical frame the table page lives at (real addresses, so every walk
 *                  reference has a table address, an index and an entry value)
 *
 * Invariants: `child[e] >= 0` exactly when the entry is present and not a leaf, and then
 * `tableFrame[child[e]] === frames[e]`. Freed ids are reused; arrays grow by doubling (never on
 * the walk path, only when a table is allocated).
 */

/**
 * Frames are 32-bit 4 KiB frame numbers: up to 16 TiB of physical memory.
 * @internal
 */
export class PageTablePool {
  /** Entries per table page. */
  static readonly ENTRIES = 512;
  frames: Uint32Array;
  flags: Uint8Array;
  child: Int32Array;
  tableFrame: Uint32Array;
  tableLevel: Uint8Array;
  /** Present entries per table (to know when a table page is empty). */
  tablePresent: Uint16Array;
  private capacity: number;
  private nextId = 0;
  private readonly freeIds: number[] = [];
  /** Table pages in use now. */
  liveTables = 0;
  /** The most table pages ever in use at once. */
  peakTables = 0;

  /**
   * @example
   * const pool = new PageTablePool();
   * const root = pool.allocate(0x100, 4);
   */
  constructor(initialTables = 16) {
    this.capacity = Math.max(1, initialTables);
    this.frames = new Uint32Array(this.capacity * 512);
    this.flags = new Uint8Array(this.capacity * 512);
    this.child = new Int32Array(this.capacity * 512).fill(-1);
    this.tableFrame = new Uint32Array(this.capacity);
    this.tableLevel = new Uint8Array(this.capacity);
    this.tablePresent = new Uint16Array(this.capacity);
  }

  /**
   * A new, empty table page at physical frame `frame`, holding entries of `level`.
   *
   * @example
   * pool.allocate(0x2000, 1) // a fresh table id
   */
  allocate(frame: number, level: number): number {
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop() as number;
    else {
      if (this.nextId === this.capacity) this.grow();
      id = this.nextId++;
    }
    const base = id * 512;
    this.frames.fill(0, base, base + 512);
    this.flags.fill(0, base, base + 512);
    this.child.fill(-1, base, base + 512);
    this.tableFrame[id] = frame;
    this.tableLevel[id] = level;
    this.tablePresent[id] = 0;
    this.liveTables++;
    if (this.liveTables > this.peakTables) this.peakTables = this.liveTables;
    return id;
  }

  /**
   * Return a table page id for reuse (its entries are cleared on the next allocate).
   *
   * @example
   * pool.release(id);
   */
  release(id: number): void {
    this.freeIds.push(id);
    this.liveTables--;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const frames = new Uint32Array(cap * 512); frames.set(this.frames); this.frames = frames;
    const flags = new Uint8Array(cap * 512); flags.set(this.flags); this.flags = flags;
    const child = new Int32Array(cap * 512).fill(-1); child.set(this.child); this.child = child;
    const tf = new Uint32Array(cap); tf.set(this.tableFrame); this.tableFrame = tf;
    const tl = new Uint8Array(cap); tl.set(this.tableLevel); this.tableLevel = tl;
    const tp = new Uint16Array(cap); tp.set(this.tablePresent); this.tablePresent = tp;
    this.capacity = cap;
  }
}
