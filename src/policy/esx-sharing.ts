/**
 * ESX-style content-based page sharing (Waldspurger, OSDI 2002, §4), as a host policy.
 *
 *   each period: pick random pages (≤ pagesPerSecondPerVm per VM, ≤ pagesPerSecondTotal in all)
 *        │
 *     hash ──▶ table[hash] ─┬─ shared frame  ─ full compare ─ equal → merge (frees a frame)
 *                           ├─ hint (vm, page) ─ rehash the hinted page: changed → drop the hint;
 *                           │                    same and full compare equal → share both
 *                           └─ nothing        ─ leave a hint (the page stays writable)
 *   the zero page: a zero page merges into the one shared zero frame, no hint needed.
 *
 * A hash match never merges by itself: contents are compared in full first, so even a
 * deliberately weak hash (`hash` option) never merges different pages. Sharing is copy-on-write
 * in the host (`Vm.writePage`). The policy keeps one table entry per hash (a Map), no per-page state.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { mix32, Rng } from "../util/rng";
import { HostControl, HostPolicy, VmView } from "../host/host-policy";
import { RESIDENT, TRAPPED } from "../host/page-state";
import { ZERO_CONTENT } from "../host/page-contents";
import { ScanCost } from "./sharing-metrics";
import { sameAsSharedFrame } from "./frame-compare";

/** Modelled CPU nanoseconds to hash one 4 KiB page (≈ 4 GB/s) and to compare one in full. */
export const DEFAULT_HASH_NS = 1000;
export const DEFAULT_COMPARE_NS = 500;

/**
 * The scanners' default page hash: a 64-bit mix of a content id, kept to 53 bits so it is an
 * exact JS number (a Map key without BigInt).
 *
 * @example
 * contentHash(12345) !== contentHash(12346) // true
 */
export function contentHash(id: number): number {
  const lo = id >>> 0;
  const hi = Math.floor(id / 2 ** 32) >>> 0;
  const a = mix32(lo ^ mix32(hi + 0x9e3779b9));
  const b = mix32(hi ^ mix32(lo + 0x7f4a7c15));
  return (b & 0x1fffff) * 2 ** 32 + a;
}

/** Parameters of the ESX scanner (all optional; JSON-able except `hash`). */
export interface EsxSharingParams {
  /** Seconds between scan batches (default 0.1). */
  periodSeconds?: number;
  /** Pages scanned per second per VM (default 50, ESX's default rate). */
  pagesPerSecondPerVm?: number;
  /** Pages scanned per second over all VMs (default 200). */
  pagesPerSecondTotal?: number;
  /** Modelled CPU ns per page hashed (default 1000) and per full comparison (default 500). */
  hashNs?: number;
  compareNs?: number;
  /** The page hash of a content id (default `contentHash`); tests pass a weak one. */
  hash?: (contentId: number) => number;
}

const KEYS = ["periodSeconds", "pagesPerSecondPerVm", "pagesPerSecondTotal", "hashNs", "compareNs", "hash"];

/**
 * Table values are numbers, no per-page objects: a shared frame f as f ≥ 0, a hint (an unshared
 * page whose hash was the key when it was scanned) as −(vm × 2^32 + ppn) − 1.
 */
const VM_UNIT = 2 ** 32;
function hint(vm: number, ppn: number): number {
  return -(vm * VM_UNIT + ppn) - 1;
}

/**
 * The ESX page-sharing scanner.
 *
 * @example
 * const host = new Host({ memory: "1 GiB", policies: [new EsxSharing({ pagesPerSecondPerVm: 50 })] });
 */
export class EsxSharing implements HostPolicy, ScanCost {
  readonly name = "esx-sharing";
  readonly periodSeconds: number;
  readonly pagesPerSecondPerVm: number;
  readonly pagesPerSecondTotal: number;
  private readonly hashNs: number;
  private readonly compareNs: number;
  private readonly hash: (id: number) => number;
  /** hash → a shared frame or a hint (see `hint`). */
  private readonly table = new Map<number, number>();
  private zeroFrame = -1;
  private rng: Rng | undefined;
  private credit = 0;
  pagesScanned = 0;
  pagesHashed = 0;
  pagesCompared = 0;
  /** Hints dropped because the hinted page had changed when it was rehashed. */
  staleHints = 0;
  /** Hash matches whose full comparison failed (collisions or stale entries): never merged. */
  falseMatches = 0;

  constructor(params: EsxSharingParams = {}, where = "sharing") {
    if (typeof params !== "object" || params === null) throw new MemvirtError("must be an object of scanner parameters", { where, value: params });
    for (const k of Object.keys(params)) if (!KEYS.includes(k)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, k), value: (params as Record<string, unknown>)[k] });
    this.periodSeconds = positive(params.periodSeconds ?? 0.1, pathJoin(where, "periodSeconds"));
    this.pagesPerSecondPerVm = positive(params.pagesPerSecondPerVm ?? 50, pathJoin(where, "pagesPerSecondPerVm"));
    this.pagesPerSecondTotal = positive(params.pagesPerSecondTotal ?? 200, pathJoin(where, "pagesPerSecondTotal"));
    this.hashNs = nonNegative(params.hashNs ?? DEFAULT_HASH_NS, pathJoin(where, "hashNs"));
    this.compareNs = nonNegative(params.compareNs ?? DEFAULT_COMPARE_NS, pathJoin(where, "compareNs"));
    if (params.hash !== undefined && typeof params.hash !== "function") throw new MemvirtError("must be a function from content id to hash", { where: pathJoin(where, "hash"), value: String(params.hash) });
    this.hash = params.hash ?? contentHash;
  }

  /** Modelled CPU seconds spent hashing and comparing. */
  get cpuSeconds(): number {
    return (this.pagesHashed * this.hashNs + this.pagesCompared * this.compareNs) / 1e9;
  }

  describe(): string {
    return `random scan of ${this.pagesPerSecondPerVm} pages/s per VM, ${this.pagesPerSecondTotal} pages/s in all; 64-bit hash, full compare before a merge, hints for unmatched pages.`;
  }

  tick(host: HostControl): void {
    if (!host.sharePage || !host.shared) return;
    this.rng ??= host.randomStream ? host.randomStream(this.name) : new Rng(1);
    const vms = host.vms.filter((v) => v.contents && v.p2m);
    if (vms.length === 0) return;
    // Rate limits: per VM, and in total (split evenly); fractions carry to the next period.
    this.credit += Math.min(this.pagesPerSecondTotal, this.pagesPerSecondPerVm * vms.length) * this.periodSeconds;
    let budget = Math.floor(this.credit);
    this.credit -= budget;
    const perVm = Math.ceil(budget / vms.length);
    for (const vm of vms) {
      for (let i = 0; i < perVm && budget > 0; i++, budget--) this.scanPage(host, vm, this.rng.int(vm.memoryPages));
    }
  }

  /**
   * Scan one page: try to share it (see the module comment). Exposed for tests and benchmarks.
   *
   * @example
   * scanner.scanPage(host, host.vms[0], 17);
   */
  scanPage(host: HostControl, vm: VmView, ppn: number): void {
    this.pagesScanned++;
    const s = vm.hstate[ppn];
    if (s !== RESIDENT && s !== TRAPPED) return; // unbacked, swapped, ballooned or already shared
    const contents = vm.contents!;
    const id = contents.read(ppn);
    this.pagesHashed++;
    const shared = host.shared!;
    if (id === ZERO_CONTENT) {
      // The zero page: one shared zero frame, found without a table lookup.
      if (this.zeroFrame >= 0 && shared.content(this.zeroFrame) === ZERO_CONTENT) host.sharePage!(vm.index, ppn, this.zeroFrame);
      else {
        this.zeroFrame = vm.p2m![ppn];
        host.sharePage!(vm.index, ppn, -1);
      }
      return;
    }
    const h = this.hash(id);
    const entry = this.table.get(h);
    if (entry === undefined) {
      this.table.set(h, hint(vm.index, ppn));
      return;
    }
    if (entry >= 0) {
      // A shared frame: merge after a full comparison (the frame may also have been freed).
      this.pagesCompared++;
      if (shared.refCount(entry) > 0 && sameAsSharedFrame(host, vm, ppn, entry)) {
        host.sharePage!(vm.index, ppn, entry);
      } else {
        this.falseMatches++;
        if (shared.refCount(entry) === 0) this.table.set(h, hint(vm.index, ppn));
      }
      return;
    }
    // A hint: the hinted page was not write-protected, so rehash it first.
    const packed = -entry - 1;
    const hvm = Math.floor(packed / VM_UNIT);
    const hppn = packed - hvm * VM_UNIT;
    if (hvm === vm.index && hppn === ppn) return;
    const other = host.vms[hvm];
    const os = other.hstate[hppn];
    if (os !== RESIDENT && os !== TRAPPED) {
      this.table.set(h, hint(vm.index, ppn));
      return;
    }
    this.pagesHashed++;
    if (this.hash(other.contents!.read(hppn)) !== h) {
      this.staleHints++;
      this.table.set(h, hint(vm.index, ppn));
      return;
    }
    this.pagesCompared++;
    if (!contents.sameAs(ppn, other.contents!, hppn)) {
      this.falseMatches++; // a hash collision: keep the hint, leave this page unshared
      return;
    }
    const frame = other.p2m![hppn];
    host.sharePage!(hvm, hppn, -1);
    host.sharePage!(vm.index, ppn, frame);
    this.table.set(h, frame);
  }
}

function positive(v: unknown, where: string): number {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) throw new MemvirtError("must be a positive number", { where, value: v });
  return v;
}

function nonNegative(v: unknown, where: string): number {
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) throw new MemvirtError("must be a number, at least 0", { where, value: v });
  return v;
}
