/**
 * Linux KSM-style page sharing (mm/ksm.c), as a host policy: a linear scan of every VM's pages,
 * `pagesToScan` pages every `sleepMillisecs`.
 *
 *   scan page p ──▶ stable tree (merged pages) has equal contents with room? ── merge into it
 *        │ no
 *   checksum changed since the last pass? ── remember it, skip (volatile)
 *        │ no
 *   useZeroPages and p is zero? ── map the zero page (counted 0/0)
 *        │ no
 *   unstable tree has an equal page? ── merge both into a new stable page (a new dup in the chain)
 *        │ no
 *   insert p into the unstable tree (unshared)
 *
 * The unstable tree is emptied after every full scan, and a page enters it only when its checksum
 * held over a whole pass, so merging takes at least two full scans. A stable page takes at most
 * `maxPageSharing` mappings; more equal pages start another stable page in its chain, as
 * Linux's stable_node chains do. Trees are Maps keyed by hash whose entries are always compared
 * in full (content ids, as KSM's memcmp), so a colliding hash never merges different pages.
 *
 * Counters follow /sys/kernel/mm/ksm: pagesShared (stable pages in use), pagesSharing (extra
 * mappings of them: the saving), pagesUnshared (pages in the unstable tree, until the scan
 * reaches them again), pagesVolatile (pages whose contents changed too fast), fullScans.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { HostControl, HostPolicy, VmView } from "../host/host-policy";
import { RESIDENT, SHARED, TRAPPED } from "../host/page-state";
import { ZERO_CONTENT } from "../host/page-contents";
import { contentHash, DEFAULT_COMPARE_NS, DEFAULT_HASH_NS } from "./esx-sharing";
import { ScanCost } from "./sharing-metrics";
import { sameAsSharedFrame } from "./frame-compare";

/** Parameters of the KSM scanner (all optional; JSON-able except `hash`). */
export interface KsmSharingParams {
  /** Pages scanned per wake-up (default 100, Linux's pages_to_scan). */
  pagesToScan?: number;
  /** Milliseconds between wake-ups (default 20, Linux's sleep_millisecs). */
  sleepMillisecs?: number;
  /** Map zero pages to the zero page, outside the counters (default false, as in Linux). */
  useZeroPages?: boolean;
  /** Most mappings of one stable page; more start a new one in its chain (default 256). */
  maxPageSharing?: number;
  /** Modelled CPU ns per page checksummed (default 1000) and per full comparison (default 500). */
  hashNs?: number;
  compareNs?: number;
  /** The checksum of a content id (default `contentHash`); tests pass a weak one. */
  hash?: (contentId: number) => number;
}

const KEYS = ["pagesToScan", "sleepMillisecs", "useZeroPages", "maxPageSharing", "hashNs", "compareNs", "hash"];

// Per-page KSM status (what the page counted as when the scan last reached it).
const UNTRACKED = 0;
const VOLATILE = 1;
const UNSTABLE = 2;
const STABLE = 3;

/** A page in the unstable tree, packed in one number (no per-page objects): vm × 2^32 + ppn. */
const VM_UNIT = 2 ** 32;

/**
 * The KSM page-sharing scanner.
 *
 * @example
 * const ksm = new KsmSharing({ pagesToScan: 100, sleepMillisecs: 20 });
 * const host = new Host({ memory: "1 GiB", policies: [ksm] });
 * // … host.run(…); ksm.pagesShared, ksm.pagesSharing, ksm.fullScans
 */
export class KsmSharing implements HostPolicy, ScanCost {
  readonly name = "ksm-sharing";
  readonly periodSeconds: number;
  readonly pagesToScan: number;
  readonly useZeroPages: boolean;
  readonly maxPageSharing: number;
  private readonly hashNs: number;
  private readonly compareNs: number;
  private readonly hash: (id: number) => number;
  /** hash → chain of stable frames (dups); dead frames are pruned when met. */
  private readonly stable = new Map<number, number[]>();
  /** hash → page(s) in the unstable tree (an array only when hashes collide); emptied after every full scan. */
  private unstable = new Map<number, number | number[]>();
  private readonly checksums: Float64Array[] = [];
  private readonly status: Uint8Array[] = [];
  private readonly statusCounts = new Float64Array(4);
  private zeroFrame = -1;
  private cursorVm = 0;
  private cursorPage = 0;
  fullScans = 0;
  pagesScanned = 0;
  pagesHashed = 0;
  pagesCompared = 0;
  /** Zero pages mapped to the zero page (useZeroPages), outside pagesShared / pagesSharing. */
  zeroPagesMerged = 0;
  private host: HostControl | undefined;

  constructor(params: KsmSharingParams = {}, where = "sharing") {
    if (typeof params !== "object" || params === null) throw new MemvirtError("must be an object of scanner parameters", { where, value: params });
    for (const k of Object.keys(params)) if (!KEYS.includes(k)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, k), value: (params as Record<string, unknown>)[k] });
    this.pagesToScan = wholeAtLeast(params.pagesToScan ?? 100, 1, pathJoin(where, "pagesToScan"));
    this.periodSeconds = wholeAtLeast(params.sleepMillisecs ?? 20, 1, pathJoin(where, "sleepMillisecs")) / 1000;
    this.maxPageSharing = wholeAtLeast(params.maxPageSharing ?? 256, 2, pathJoin(where, "maxPageSharing"));
    if (params.useZeroPages !== undefined && typeof params.useZeroPages !== "boolean") throw new MemvirtError("must be true or false", { where: pathJoin(where, "useZeroPages"), value: params.useZeroPages });
    this.useZeroPages = params.useZeroPages ?? false;
    this.hashNs = atLeastZero(params.hashNs ?? DEFAULT_HASH_NS, pathJoin(where, "hashNs"));
    this.compareNs = atLeastZero(params.compareNs ?? DEFAULT_COMPARE_NS, pathJoin(where, "compareNs"));
    if (params.hash !== undefined && typeof params.hash !== "function") throw new MemvirtError("must be a function from content id to checksum", { where: pathJoin(where, "hash"), value: String(params.hash) });
    this.hash = params.hash ?? contentHash;
  }

  describe(): string {
    return `${this.pagesToScan} pages every ${this.periodSeconds * 1000} ms; max_page_sharing ${this.maxPageSharing}; use_zero_pages ${this.useZeroPages ? "on" : "off"}.`;
  }

  /** Modelled CPU seconds spent checksumming and comparing. */
  get cpuSeconds(): number {
    return (this.pagesHashed * this.hashNs + this.pagesCompared * this.compareNs) / 1e9;
  }

  /** Stable pages in use (Linux pages_shared). */
  get pagesShared(): number {
    let n = 0;
    for (const [h, chain] of this.stable) for (const f of chain) if (this.live(f, h)) n++;
    return n;
  }

  /** Extra mappings of stable pages, i.e. the saving (Linux pages_sharing). */
  get pagesSharing(): number {
    let n = 0;
    for (const [h, chain] of this.stable) for (const f of chain) if (this.live(f, h)) n += this.host!.shared!.refCount(f) - 1;
    return n;
  }

  /** Pages in the unstable tree, as last counted by the scan (Linux pages_unshared). */
  get pagesUnshared(): number {
    return this.statusCounts[UNSTABLE];
  }

  /** Pages whose contents changed between passes (Linux pages_volatile). */
  get pagesVolatile(): number {
    return this.statusCounts[VOLATILE];
  }

  tick(host: HostControl): void {
    if (!host.sharePage || !host.shared) return;
    this.host = host;
    const vms = host.vms;
    const total = vms.reduce((a, v) => a + (v.contents ? v.memoryPages : 0), 0);
    if (total === 0) return;
    let scanned = 0;
    // Pages without a frame are passed over free (KSM walks mapped pages only), at most one pass.
    for (let visited = 0; scanned < this.pagesToScan && visited <= total; visited++) {
      const vm = vms[this.cursorVm];
      if (vm.contents && this.cursorPage < vm.memoryPages) {
        if (this.scanPage(host, vm, this.cursorPage)) scanned++;
        this.cursorPage++;
      }
      if (!vm.contents || this.cursorPage >= vm.memoryPages) {
        this.cursorPage = 0;
        this.cursorVm++;
        if (this.cursorVm >= vms.length) {
          this.cursorVm = 0;
          this.fullScans++;
          this.unstable = new Map(); // flushed after every full scan
        }
      }
    }
  }

  /**
   * Scan one page (see the module comment); false when it has no frame to scan.
   *
   * @example
   * ksm.scanPage(host, host.vms[0], 3);
   */
  scanPage(host: HostControl, vm: VmView, ppn: number): boolean {
    this.host = host;
    const s = vm.hstate[ppn];
    if (s === SHARED) {
      this.setStatus(vm.index, ppn, STABLE);
      return true;
    }
    if (s !== RESIDENT && s !== TRAPPED) return false;
    this.pagesScanned++;
    const contents = vm.contents!;
    const id = contents.read(ppn);
    const h = this.hash(id);
    // 1. The stable tree: a merged page of equal contents with room left.
    const chain = this.stable.get(h);
    if (chain) {
      // Newest dups first: older ones of a long chain (zero pages) are usually full.
      for (let i = chain.length - 1; i >= 0; i--) {
        const f = chain[i];
        if (!this.live(f, h)) {
          chain.splice(i, 1);
          continue;
        }
        this.pagesCompared++;
        if (!sameAsSharedFrame(host, vm, ppn, f)) continue;
        if (host.shared!.refCount(f) >= this.maxPageSharing) continue;
        host.sharePage!(vm.index, ppn, f);
        this.setStatus(vm.index, ppn, STABLE);
        return true;
      }
      if (chain.length === 0) this.stable.delete(h);
    }
    // 2. The checksum must hold over a whole pass before the page may enter the unstable tree.
    this.pagesHashed++;
    const sums = this.checksumsOf(vm);
    if (sums[ppn] !== h) {
      sums[ppn] = h;
      this.setStatus(vm.index, ppn, VOLATILE);
      return true;
    }
    // 3. Zero pages map the zero page, outside the counters.
    if (this.useZeroPages && id === ZERO_CONTENT) {
      if (this.zeroFrame >= 0 && host.shared!.content(this.zeroFrame) === ZERO_CONTENT) host.sharePage!(vm.index, ppn, this.zeroFrame);
      else {
        this.zeroFrame = vm.p2m![ppn];
        host.sharePage!(vm.index, ppn, -1);
      }
      this.zeroPagesMerged++;
      this.setStatus(vm.index, ppn, UNTRACKED);
      return true;
    }
    // 4. The unstable tree: an equal page there makes a new stable page with this one.
    const self = vm.index * VM_UNIT + ppn;
    const found = this.unstable.get(h);
    if (found !== undefined) {
      const list = typeof found === "number" ? [found] : found;
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        if (t === self) return true; // already in this pass's tree
        const tvm = Math.floor(t / VM_UNIT);
        const tppn = t - tvm * VM_UNIT;
        const other = host.vms[tvm];
        const os = other.hstate[tppn];
        if (os !== RESIDENT && os !== TRAPPED) continue;
        this.pagesCompared++;
        if (!contents.sameAs(ppn, other.contents!, tppn)) continue;
        const frame = other.p2m![tppn];
        host.sharePage!(tvm, tppn, -1);
        host.sharePage!(vm.index, ppn, frame);
        list.splice(i, 1);
        if (list.length === 0) this.unstable.delete(h);
        else this.unstable.set(h, list.length === 1 ? list[0] : list);
        const dups = this.stable.get(h);
        if (dups) { if (!dups.includes(frame)) dups.push(frame); }
        else this.stable.set(h, [frame]);
        this.setStatus(tvm, tppn, STABLE);
        this.setStatus(vm.index, ppn, STABLE);
        return true;
      }
      list.push(self);
      this.unstable.set(h, list);
    } else this.unstable.set(h, self);
    this.setStatus(vm.index, ppn, UNSTABLE);
    return true;
  }

  /** Whether a frame of the chain under hash `h` is still that stable page (a freed frame may be reused). */
  private live(frame: number, h: number): boolean {
    const shared = this.host!.shared!;
    return shared.refCount(frame) > 0 && frame !== this.zeroFrame && this.hash(shared.content(frame)) === h;
  }

  private checksumsOf(vm: VmView): Float64Array {
    return (this.checksums[vm.index] ??= new Float64Array(vm.memoryPages).fill(NaN));
  }

  private setStatus(vm: number, ppn: number, to: number): void {
    const st = (this.status[vm] ??= new Uint8Array(this.host!.vms[vm].memoryPages));
    this.statusCounts[st[ppn]]--;
    this.statusCounts[to]++;
    st[ppn] = to;
  }
}

function wholeAtLeast(v: unknown, min: number, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new MemvirtError(`must be a whole number, at least ${min}`, { where, value: v });
  return v;
}

function atLeastZero(v: unknown, where: string): number {
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) throw new MemvirtError("must be a number, at least 0", { where, value: v });
  return v;
}
