/**
 * A VM's memory as the VMM sees it: the P→M map, the host (nested) page table that encodes it,
 * and the machine frames the VMM uses for its own tables (host tables, shadow tables).
 *
 *   machine frames
 *   0        vmmBase                       VM_BASE_FRAME
 *   |  ...   | VMM tables (host, shadow) → |  the VM's memory, host pages scattered  |
 *
 * P→M is a fixed, seeded bijection at host-page granularity: guest host-page h lives at machine
 * host-page VM_BASE + perm(h), perm(h) = (h·A + B) mod 2^k (A odd). Fixed means every mode sees
 * the same P→M and differs only in cost: the machine page a gPA gets is decided in advance, and
 * only *when* the host table maps it differs.
 *
 * - eager (every mode but nested's default): the host table gets an entry for a host page when
 *   the guest OS first allocates a frame in it (`back`), free of charge, as for a VM whose memory
 *   the host allocated before it ran (QEMU's -mem-prealloc, or memory pinned for device
 *   passthrough);
 * - lazy (nested paging's default, as KVM backs guest memory on demand): `back` does nothing; the
 *   first hardware walk that needs a gPA in an unbacked host page finds its host entry not
 *   present, which is an EPT/NPT violation: the VMM backs the page (`backOnViolation`) and the
 *   guest retries (nested-mode.ts). The guest kernel's own stores (zeroing a page, writing a
 *   page-table page) are not translated by the model, so the walk is the first touch.
 *
 * With `identity` (native mode, or tests) P→M is the identity and VMM frames sit above the
 * guest's memory; natively no host table is built.
 *
 * Invariants: `p2m` is a pure function; a large host page maps a machine-contiguous, aligned
 * range; the host table, when present, agrees with `p2m` for every backed frame.
 */
import { MemvirtError } from "../util/errors";
import { framesPerPage, leafLevelOf, type Levels, type PageSize } from "../mmu/page-size";
import { PageTablePool } from "../mmu/page-table-pool";
import { PTE_PRESENT, PTE_USER, PTE_WRITABLE } from "../mmu/pte";
import { RadixPageTable, type FrameSource } from "../mmu/radix-page-table";
import { Rng } from "../util/rng";

/**
 * Machine frame where VM memory starts when P→M is scattered (4 GiB).
 * @internal
 */
export const VM_BASE_FRAME = 1 << 20;

/**
 * How to build a VM's memory.
 * @internal
 */
export interface VmMemoryOptions {
  /** Guest-physical memory in 4 KiB frames. */
  guestFrames: number;
  hostLevels: Levels;
  hostPageSize: PageSize;
  /** P→M is the identity (bare metal, or tests that compare against native). */
  identity: boolean;
  /** Build the host (nested) page table (default true; native mode has none). */
  hostTable?: boolean;
  /** The generator the scatter is drawn from. */
  rng: Rng;
  /** Back host pages at the first hardware touch (EPT violation) instead of at guest allocation (default false). */
  lazy?: boolean;
}

/**
 * @internal
 * @example
 * const vm = new VmMemory({ guestFrames: 262144, hostLevels: 4, hostPageSize: "4K", identity: false, hostTable: true, rng: new Rng(1) });
 * vm.back(5);
 * vm.hostTable!.lookup(5) === vm.p2m(5) // true
 */
export class VmMemory implements FrameSource {
  readonly guestFrames: number;
  readonly hostLevels: Levels;
  readonly hostPageSize: PageSize;
  readonly hostLeafLevel: number;
  /** 4 KiB frames per host page (1, 512 or 262144). */
  readonly hostPageFrames: number;
  readonly identity: boolean;
  readonly hostPool: PageTablePool;
  /** The P→M table the nested walker uses; null when not built (native). */
  readonly hostTable: RadixPageTable | null;
  private readonly hostShift: number;
  private readonly permMask: number;
  private readonly permA: number;
  private readonly permB: number;
  /** Host pages the host table maps, 1 per host page (the nested batch kernel reads it: an unbacked page stops it). */
  readonly backed: Uint8Array;
  /** Host pages are backed at the first touch (see the top of this file). */
  readonly lazy: boolean;
  private readonly vmmBase: number;
  private vmmNext: number;
  private readonly vmmFree: number[] = [];
  /** Machine frames the VMM holds for its tables now. */
  vmmFrames = 0;

  constructor(options: VmMemoryOptions) {
    this.guestFrames = options.guestFrames;
    this.hostLevels = options.hostLevels;
    this.hostPageSize = options.hostPageSize;
    this.hostLeafLevel = leafLevelOf(options.hostPageSize);
    this.hostPageFrames = framesPerPage(options.hostPageSize);
    this.hostShift = Math.log2(this.hostPageFrames);
    this.identity = options.identity;
    this.lazy = options.lazy === true && options.hostTable !== false;
    const hostPages = Math.ceil(options.guestFrames / this.hostPageFrames);
    const k = Math.max(1, Math.ceil(Math.log2(Math.max(2, hostPages))));
    if (k > 30) throw new MemvirtError("guest memory is too large for the simulator", { where: "guestMemory", value: options.guestFrames });
    this.permMask = (1 << k) - 1;
    const rng = options.rng;
    this.permA = (rng.nextUint32() | 1) >>> 0;
    this.permB = rng.nextUint32() & this.permMask;
    this.backed = new Uint8Array(hostPages);
    this.vmmBase = options.identity ? Math.ceil(options.guestFrames / 512) * 512 + 512 : 256;
    this.vmmNext = this.vmmBase;
    this.hostPool = new PageTablePool(64);
    this.hostTable = options.hostTable === false ? null : new RadixPageTable(this.hostPool, options.hostLevels, this);
  }

  /**
   * The machine frame of a guest-physical frame.
   *
   * @example
   * vm.p2m(0) // e.g. 1049234
   */
  p2m(guestFrame: number): number {
    if (this.identity) return guestFrame;
    const h = guestFrame >>> this.hostShift;
    const perm = ((Math.imul(h, this.permA) + this.permB) & this.permMask) >>> 0;
    return VM_BASE_FRAME + perm * this.hostPageFrames + (guestFrame - h * this.hostPageFrames);
  }

  /**
   * Make sure the host table maps the host page holding `guestFrame` (and the next
   * `frames - 1` frames).
   *
   * @example
   * vm.back(0, 512);
   */
  back(guestFrame: number, frames = 1): void {
    if (this.hostTable === null || this.lazy) return;
    if (guestFrame < 0 || guestFrame + frames > this.guestFrames) throw new Error(`internal: guest frame ${guestFrame} outside the VM`);
    const first = guestFrame >>> this.hostShift;
    const last = (guestFrame + frames - 1) >>> this.hostShift;
    for (let h = first; h <= last; h++) this.backHostPage(h);
  }

  /**
   * Lazy backing: map the host page holding `guestFrame`, after the EPT violation its first
   * touch took. Returns the 4 KiB frames newly backed (0 if it was backed already).
   *
   * @example
   * vm.backOnViolation(0x3ffff) // 1 with 4 KiB host pages, 512 with 2 MiB ones
   */
  backOnViolation(guestFrame: number): number {
    if (this.hostTable === null || guestFrame < 0 || guestFrame >= this.guestFrames) throw new Error(`internal: guest frame ${guestFrame} outside the VM`);
    return this.backHostPage(guestFrame >>> this.hostShift) ? this.hostPageFrames : 0;
  }

  /**
   * Whether the host table maps the host page holding `guestFrame`.
   *
   * @example
   * vm.isBacked(5) // false in a lazy VM before its first touch
   */
  isBacked(guestFrame: number): boolean {
    return this.backed[guestFrame >>> this.hostShift] === 1;
  }

  private backHostPage(h: number): boolean {
    if (this.backed[h]) return false;
    this.backed[h] = 1;
    const g = h * this.hostPageFrames;
    (this.hostTable as RadixPageTable).map(g, this.hostLeafLevel, this.p2m(g), PTE_PRESENT | PTE_WRITABLE | PTE_USER);
    return true;
  }

  /** A machine frame for a VMM table page (host or shadow table). */
  allocateFrame(): number {
    this.vmmFrames++;
    if (this.vmmFree.length > 0) return this.vmmFree.pop() as number;
    const f = this.vmmNext++;
    if (!this.identity && f >= VM_BASE_FRAME) throw new MemvirtError("the VMM ran out of machine frames for its tables", { where: "vmm" });
    return f;
  }

  /** Give a VMM table frame back. */
  releaseFrame(frame: number): void {
    this.vmmFrames--;
    this.vmmFree.push(frame);
  }

  /** Host page-table pages in use. */
  get hostTablePages(): number {
    return this.hostTable?.tablePages ?? 0;
  }
}
