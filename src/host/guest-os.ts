/**
 * The guest operating system inside one VM: its own frame allocator, V→P table, page cache and
 * anonymous memory, CLOCK replacement over guest-physical pages, and a guest swap device.
 *
 *   workload ──vpn──▶ V→P (VirtualSpace) ──ppn──▶ host state byte ──RESIDENT──▶ hit (hitNs)
 *                         │ not in guest memory         │ anything else
 *                         ▼                             ▼
 *                 guest page fault                host fault: port.touch(ppn)
 *          (allocate a guest page, CLOCK evicts     (host allocates a frame, swaps in,
 *           if none is free; zero-fill or read)      or runs a trap hook)
 *
 * Invariants:
 * - A guest-physical page is on the free stack, or IN_USE holding one virtual page, or WIRED
 *   (kernel), or PINNED by the balloon. Never two of these.
 * - The guest never touches a PINNED page: pinned pages are not on the free stack and not in the
 *   V→P table, and CLOCK skips them.
 * - Anonymous pages go to guest swap when evicted; file pages (page cache) are written back to
 *   their file if dirty and dropped if clean. An anonymous page keeps its swap slot once it has
 *   one, so a clean page read back from swap is dropped again without a write.
 * - Writing a page out reads its contents: if the host had swapped that page, the host must swap
 *   it in first. That is double paging, and it arises here without any special case.
 * - Per-page state is typed arrays only: flags (1 B) + P→V (4 B) + free stack (4 B) per
 *   guest-physical page, and 4 B per virtual page in the direct V→P table.
 */
import { MemvirtError } from "../util/errors";
import { formatCount } from "../util/units";
import { FETCH, WRITE, Workload } from "../workloads/workload";
import { AccessCosts } from "./costs";
import { SwapDevice } from "./swap-device";
import { VirtualSpace } from "./virtual-space";
import { fileBackedThreshold, isFileBackedPage } from "./guest-capacity";
import {
  G_DIRTY, G_FILE, G_IN_USE, G_PINNED, G_REF, G_SWAP_COPY, G_TOUCHED, G_WIRED, RESIDENT,
  V_GUEST_SWAPPED, V_ON_FILE, V_UNTOUCHED,
} from "./page-state";

/**
 * How the guest reaches the hardware and the hypervisor below it (implemented by the host's VM).
 * @internal
 */
export interface GuestPort {
  /** The host state byte of each guest-physical page; only RESIDENT is an ordinary hit. */
  readonly hstate: Uint8Array;
  /**
   * The guest is about to use page `ppn` (CPU access or I/O into it): make it accessible. Returns
   * ns. `write` (a store, or a fill) matters for a page shared copy-on-write: it must be copied.
   */
  touch(ppn: number, write?: boolean): number;
  /** The guest reads page `ppn` to write it to disk. Returns ns; a host-swapped page is double paging. */
  readForPageOut(ppn: number): number;
  /**
   * The guest evicted the virtual page in `slot`, whose contents now match storage (a clean drop,
   * or just written back): the put hypercall of an exclusive cache. Returns ns (0 without a cache).
   */
  evicted(slot: number): number;
  /**
   * The guest reads the virtual page in `slot` from disk (its file or its guest swap slot).
   * Returns ns: the disk read, or a hit in the hypervisor's exclusive cache.
   */
  readFromDisk(slot: number): number;
  /** The balloon driver hands pinned page `ppn` to the host. */
  balloonPage(ppn: number): void;
  /** The host gives ballooned page `ppn` back; it is unbacked until the guest touches it. */
  unballoonPage(ppn: number): void;
}

/**
 * Guest OS settings, already validated (sizes in pages).
 * @internal
 */
export interface GuestSettings {
  /** Guest-physical pages the VM is configured with. */
  memoryPages: number;
  /** Capacity of the guest swap device in pages. */
  swapPages: number;
  /** Fraction of virtual pages that are file-backed (page cache); FETCH accesses always are. */
  fileBackedFraction: number;
  /** Pages the kernel wires at boot (sized by the configured memory, like Linux's `struct page` array). */
  kernelPages: number;
  /** Where this guest's settings came from, for error messages (e.g. "vms[1]"). */
  where: string;
}

/**
 * Guest counters: cumulative since boot.
 * @internal
 */
export interface GuestCounters {
  accesses: number;
  /** First touches of anonymous pages (zero-fill). */
  minorFaults: number;
  /** Major faults: reads from guest swap or from a file. */
  guestDiskReads: number;
  /** Evicted pages written to guest swap or back to their file. */
  guestPageOuts: number;
  /** Evicted clean pages dropped without a write. */
  guestDrops: number;
}

const BATCH = 4096;

/**
 * One guest OS. The host's VM owns it and drives it with `run(untilNs)`.
 *
 * @internal
 * @example
 * const guest = new GuestOs(settings, port, costs);
 * guest.setWorkload(workload);
 * guest.run(1e9); // one simulated second
 */
export class GuestOs implements GuestCounters {
  readonly memoryPages: number;
  /** Flag bits per guest-physical page (G_REF, G_DIRTY, ...). */
  readonly flags: Uint8Array;
  /** The virtual-page slot held by each in-use guest-physical page. */
  readonly p2v: Int32Array;
  readonly vspace = new VirtualSpace();
  readonly swap: SwapDevice;
  readonly settings: GuestSettings;

  accesses = 0;
  minorFaults = 0;
  guestDiskReads = 0;
  guestPageOuts = 0;
  guestDrops = 0;
  /** Anonymous virtual pages currently on the guest swap device (not in guest memory). */
  guestSwappedPages = 0;
  /** Guest pages holding virtual pages (not free, not wired, not pinned). */
  inUsePages = 0;
  /** The guest's clock: simulated nanoseconds of work done so far. */
  timeNs = 0;
  /** True once the workload returned 0. */
  finished = false;

  private readonly freeStack: Int32Array;
  /**
   * Pages that carried G_TOUCHED when a page-out cleared their flags since the last
   * `takeTouchedPages` (the balloon may pin the page next): 1 byte per page, so a touched page
   * counts once. (The only other clearing, `releasePage`, takes back pinned pages, never touched.)
   */
  private readonly touchedLeft: Uint8Array;
  private freeTop = 0;
  private clockHand = 0;
  private readonly fileThreshold: number;
  private readonly costs: AccessCosts;
  private readonly port: GuestPort;
  private workload: Workload | undefined;
  private readonly pageBuf = new Float64Array(BATCH);
  private readonly kindBuf = new Uint8Array(BATCH);
  private bufPos = 0;
  private bufLen = 0;
  /** Time spent inside `allocatePage` (evictions) not yet charged to an access. */
  private pendingNs = 0;

  constructor(settings: GuestSettings, port: GuestPort, costs: AccessCosts) {
    const P = settings.memoryPages;
    this.settings = settings;
    this.memoryPages = P;
    this.port = port;
    this.costs = costs;
    this.flags = new Uint8Array(P);
    this.p2v = new Int32Array(P);
    this.freeStack = new Int32Array(P);
    this.touchedLeft = new Uint8Array(P);
    for (let i = 0; i < P; i++) this.freeStack[i] = P - 1 - i;
    this.freeTop = P;
    this.swap = new SwapDevice(settings.swapPages);
    this.fileThreshold = fileBackedThreshold(settings.fileBackedFraction);
  }

  /**
   * Boot: wire the kernel's pages (they are touched, so the host backs them).
   *
   * @example
   * guest.boot();
   */
  boot(): void {
    for (let i = 0; i < this.settings.kernelPages; i++) {
      const p = this.freeStack[--this.freeTop];
      this.flags[p] = G_IN_USE | G_WIRED;
      this.port.touch(p);
    }
  }

  /**
   * Give the guest a workload (replacing any previous one).
   *
   * @example
   * guest.setWorkload(workload);
   */
  setWorkload(workload: Workload | undefined): void {
    this.workload = workload;
    this.bufPos = 0;
    this.bufLen = 0;
    this.finished = workload === undefined;
  }

  /** The workload, if any. */
  get currentWorkload(): Workload | undefined {
    return this.workload;
  }

  /** Guest pages on the free list. */
  get freePages(): number {
    return this.freeTop;
  }

  /**
   * Run the workload until the guest clock reaches `untilNs`. The fast path (a resident page)
   * is one V→P read, one host-state read and one flag update per access.
   *
   * @example
   * guest.run(guest.timeNs + 10e6); // 10 ms more
   */
  run(untilNs: number): void {
    let t = this.timeNs;
    if (this.finished || this.workload === undefined) {
      if (t < untilNs) this.timeNs = untilNs;
      return;
    }
    const workload = this.workload;
    const pages = this.pageBuf;
    const kinds = this.kindBuf;
    const hstate = this.port.hstate;
    const flags = this.flags;
    const hit = this.costs.hitNs;
    // Imported constants become getter calls under some module loaders: copy them to locals.
    // G_TOUCHED rides along with REF: the ground truth costs the hot path nothing.
    const resident = RESIDENT;
    const write = WRITE;
    const refBit = G_REF | G_TOUCHED;
    const refDirtyBits = G_REF | G_DIRTY | G_TOUCHED;
    let direct = this.vspace.direct;
    let directLength = direct.length;
    let pos = this.bufPos;
    let len = this.bufLen;
    let ops = 0;
    while (t < untilNs) {
      if (pos >= len) {
        len = workload.fill(pages, kinds);
        pos = 0;
        if (!(len > 0)) {
          len = 0;
          this.finished = true;
          t = untilNs;
          break;
        }
      }
      const vpn = pages[pos];
      const kind = kinds[pos];
      pos++;
      ops++;
      if (vpn < directLength) {
        // vpn < 2^24 here, so `| 0` is exact and keeps the typed-array index a small integer.
        const p = direct[vpn | 0];
        if (p >= 0 && hstate[p] === resident) {
          flags[p] |= kind === write ? refDirtyBits : refBit;
          t += hit;
          continue;
        }
      }
      t += this.slowAccess(vpn, kind);
      direct = this.vspace.direct;
      directLength = direct.length;
    }
    this.bufPos = pos;
    this.bufLen = len;
    this.accesses += ops;
    this.timeNs = t;
  }

  /**
   * One access that is not a plain hit: a guest page fault, or a host fault.
   * Returns the simulated time it took, the hit included.
   *
   * @example
   * guest.access(12, READ) // e.g. 1100 ns for a first touch
   */
  access(vpn: number, kind: number): number {
    this.accesses++;
    const direct = this.vspace.direct;
    if (vpn < direct.length) {
      const p = direct[vpn];
      if (p >= 0 && this.port.hstate[p] === RESIDENT) {
        this.flags[p] |= kind === WRITE ? G_REF | G_DIRTY | G_TOUCHED : G_REF | G_TOUCHED;
        return this.costs.hitNs;
      }
    }
    return this.slowAccess(vpn, kind);
  }

  private slowAccess(vpn: number, kind: number): number {
    if (!(vpn >= 0) || !Number.isInteger(vpn)) {
      throw new MemvirtError(`workload "${this.workload?.name ?? "?"}" produced an invalid virtual page number`, { where: `${this.settings.where}.workload`, value: vpn });
    }
    const slot = this.vspace.slotOf(vpn);
    const v = this.vspace.get(slot);
    const write = kind === WRITE;
    if (v >= 0) {
      // In guest memory, but the host does not have it mapped: a host fault only.
      const ns = this.port.touch(v, write);
      this.flags[v] |= write ? G_REF | G_DIRTY | G_TOUCHED : G_REF | G_TOUCHED;
      return ns + this.costs.hitNs;
    }
    // A guest page fault: find a guest page, have the host back it, fill it. A read from disk
    // is looked up in the exclusive cache (if any) before the eviction that makes room puts a
    // page there, so cache and VM memory together behave as one LRU of v + c pages.
    let readNs = 0;
    const fileRead = v === V_UNTOUCHED && (kind === FETCH || this.isFileBacked(vpn));
    if (v !== V_UNTOUCHED || fileRead) readNs = this.port.readFromDisk(slot);
    const p = this.allocatePage();
    let ns = this.pendingNs + readNs;
    this.pendingNs = 0;
    ns += this.port.touch(p, true); // the guest fills the page it allocated
    let f = G_IN_USE | G_REF | G_TOUCHED;
    if (v === V_UNTOUCHED) {
      if (fileRead) {
        this.guestDiskReads++;
        f |= G_FILE | (write ? G_DIRTY : 0);
      } else {
        ns += this.costs.minorFaultNs;
        this.minorFaults++;
        f |= G_DIRTY;
      }
    } else if (v === V_GUEST_SWAPPED) {
      this.guestDiskReads++;
      this.guestSwappedPages--;
      f |= G_SWAP_COPY | (write ? G_DIRTY : 0);
    } else {
      // V_ON_FILE: a page-cache miss on a page read before.
      this.guestDiskReads++;
      f |= G_FILE | (write ? G_DIRTY : 0);
    }
    this.flags[p] = f;
    this.p2v[p] = slot;
    this.vspace.set(slot, p);
    this.inUsePages++;
    return ns + this.costs.hitNs;
  }

  /**
   * Whether a virtual page belongs to the page cache (a stable hash, so the same every run).
   *
   * @example
   * guest.isFileBacked(42) // false unless fileBackedFraction > 0
   */
  isFileBacked(vpn: number): boolean {
    return isFileBackedPage(vpn, this.fileThreshold);
  }

  /**
   * Take a guest page for the caller: a free page if there is one, otherwise CLOCK evicts one.
   * The page comes back with flags 0; time spent evicting accrues to the next access.
   *
   * @example
   * const p = guest.allocatePage();
   */
  allocatePage(): number {
    if (this.freeTop > 0) return this.freeStack[--this.freeTop];
    return this.evictOne();
  }

  /**
   * Put a guest page back on the free list (it stays host-backed: the host cannot tell).
   *
   * @example
   * guest.releasePage(p);
   */
  releasePage(ppn: number): void {
    this.flags[ppn] = 0;
    this.freeStack[this.freeTop++] = ppn;
  }

  /**
   * The ground truth of working-set estimation: how many distinct guest-physical pages the
   * workload touched since the last call, exactly; then start counting afresh. O(pages), four
   * pages per step (the timeline calls it once per sample, never per access).
   *
   * @example
   * guest.takeTouchedPages() // e.g. 4096 after a second of a 4096-page toucher
   */
  takeTouchedPages(): number {
    const flags = this.flags;
    const left = this.touchedLeft;
    const P = flags.length;
    const words = P >> 2;
    // Both arrays own their buffers from offset 0, so whole words line up with pages 4i..4i+3.
    const flags32 = new Uint32Array(flags.buffer, 0, words);
    const left32 = new Uint32Array(left.buffer, 0, words);
    let count = 0;
    for (let i = 0; i < words; i++) {
      const w = flags32[i];
      let bits = ((w >>> 7) & 0x01010101) | left32[i];
      if (bits === 0) continue;
      flags32[i] = w & 0x7f7f7f7f;
      left32[i] = 0;
      bits = (bits + (bits >>> 8)) & 0x00ff00ff;
      count += (bits + (bits >>> 16)) & 0xff;
    }
    for (let p = words << 2; p < P; p++) {
      if ((flags[p] & G_TOUCHED) || left[p]) count++;
      flags[p] &= ~G_TOUCHED;
      left[p] = 0;
    }
    return count;
  }

  /**
   * Take simulated time spent outside an access (balloon inflation evicting pages).
   *
   * @example
   * driverClockNs += guest.takePendingNs();
   */
  takePendingNs(): number {
    const ns = this.pendingNs;
    this.pendingNs = 0;
    return ns;
  }

  /**
   * CLOCK: sweep guest-physical pages; clear referenced bits, evict the first unreferenced,
   * unpinned, unwired page. Two sweeps always suffice unless nothing is evictable.
   */
  private evictOne(): number {
    const P = this.memoryPages;
    const flags = this.flags;
    const swapFull = this.swap.usedPages >= this.swap.capacityPages;
    const inUse = G_IN_USE;
    const skipMask = G_IN_USE | G_PINNED | G_WIRED;
    const ref = G_REF;
    const hasCopy = G_FILE | G_SWAP_COPY;
    let hand = this.clockHand;
    for (let scanned = 0; scanned <= 2 * P; scanned++) {
      const p = hand;
      if (++hand === P) hand = 0;
      const f = flags[p];
      if ((f & skipMask) !== inUse) continue;
      if (f & ref) {
        flags[p] = f & ~ref;
        continue;
      }
      // An anonymous page with no swap slot cannot leave when swap is full.
      if (swapFull && (f & hasCopy) === 0) continue;
      this.clockHand = hand;
      this.pageOut(p);
      return p;
    }
    this.clockHand = hand;
    throw new MemvirtError(
      `guest ran out of memory at t ≈ ${+(this.timeNs / 1e9).toFixed(2)} s: every page of ${formatCount(P)} is pinned by the balloon, wired, or anonymous with guest swap full (${formatCount(this.swap.capacityPages)} pages); give the guest more swap or memory`,
      { where: `${this.settings.where}.guest.swap`, value: this.swap.capacityPages },
    );
  }

  /** Evict guest page p: write it out if needed (reading it, which may double-page), unmap it. */
  private pageOut(p: number): void {
    const f = this.flags[p];
    const slot = this.p2v[p];
    const file = (f & G_FILE) !== 0;
    const needsWrite = (f & G_DIRTY) !== 0 || (!file && (f & G_SWAP_COPY) === 0);
    if (needsWrite) {
      this.pendingNs += this.port.readForPageOut(p) + this.costs.guestDiskWriteNs;
      this.guestPageOuts++;
      if (!file) {
        if ((f & G_SWAP_COPY) === 0 && !this.swap.allocate()) throw new Error("internal: guest swap full after check");
        this.swap.writes++;
      }
    } else {
      this.guestDrops++;
    }
    if (file) {
      this.vspace.set(slot, V_ON_FILE);
    } else {
      this.vspace.set(slot, V_GUEST_SWAPPED);
      this.guestSwappedPages++;
    }
    if (f & G_TOUCHED) this.touchedLeft[p] = 1;
    this.flags[p] = 0;
    this.inUsePages--;
    // Its contents now match storage: an exclusive cache below may keep a copy.
    this.pendingNs += this.port.evicted(slot);
  }

  /**
   * Check the guest's invariants (tests and debugging; O(pages)). Throws on the first violation.
   *
   * @example
   * guest.checkInvariants();
   */
  checkInvariants(): void {
    const P = this.memoryPages;
    const onFree = new Uint8Array(P);
    for (let i = 0; i < this.freeTop; i++) {
      const p = this.freeStack[i];
      if (onFree[p]) throw new Error(`guest page ${p} is on the free list twice`);
      onFree[p] = 1;
      if (this.flags[p] !== 0) throw new Error(`free guest page ${p} has flags ${this.flags[p]}`);
    }
    let inUse = 0;
    for (let p = 0; p < P; p++) {
      const f = this.flags[p];
      if (!onFree[p] && (f & G_IN_USE) === 0 && (f & G_PINNED) === 0) throw new Error(`guest page ${p} is neither free, in use nor pinned`);
      if ((f & G_PINNED) && (f & ~G_PINNED)) throw new Error(`pinned guest page ${p} also has flags ${f}`);
      if ((f & G_IN_USE) && !(f & G_WIRED)) {
        inUse++;
        if (this.vspace.get(this.p2v[p]) !== p) throw new Error(`guest page ${p}: V→P of its slot does not point back`);
      }
    }
    if (inUse !== this.inUsePages) throw new Error(`guest in-use count ${this.inUsePages} but ${inUse} pages in use`);
    let swapped = 0;
    this.vspace.forEach((_slot, value) => {
      if (value === V_GUEST_SWAPPED) swapped++;
      else if (value >= 0 && (this.flags[value] & (G_IN_USE | G_PINNED | G_WIRED)) !== G_IN_USE) throw new Error(`a virtual page maps guest page ${value}, which is not an ordinary in-use page`);
    });
    if (swapped !== this.guestSwappedPages) throw new Error(`guest swapped count ${this.guestSwappedPages} but ${swapped} virtual pages on swap`);
  }

  /** Bytes of typed-array state this guest holds. */
  get stateBytes(): number {
    return this.flags.byteLength + this.touchedLeft.byteLength + this.p2v.byteLength + this.freeStack.byteLength + this.vspace.stateBytes;
  }
}
