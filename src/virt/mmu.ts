/**
 * `Mmu`: one VM's (or one bare machine's) address translation, stateful, in one of four modes.
 *
 *   access(gVA) ─▶ TLB ─hit─▶ machine address
 *                   │miss
 *                   ▼
 *              mode.walk ── page-walk cache, nested TLB ──▶ TLB fill
 *                   │fault
 *                   ▼
 *              guest OS / VMM (demand paging, hidden fault, COW) ──▶ walk again
 *
 * The Mmu owns the TLB, the page-walk cache, the nested TLB, the guest OS model (which starts
 * with one process, ASID 1, running) and the VM's memory; the mode decides what each event
 * costs. `access()` is for people: it returns what happened, with the walk when there was one.
 * `run()` / `accessPage()` are for simulations: no allocation per access. In nested mode with
 * an STC, `run()` hands batches to the mode's batch kernel (nested-mode.ts `runStc`), which does
 * the common TLB miss in one loop and stops at anything else for `miss()` to finish; a batch
 * gives the same results, counters and cache states as the same accesses one by one.
 *
 * Invariant: the mode changes costs, not results: for the same guest activity every mode
 * returns the same machine address (the property tests check this).
 */
import { inspect } from "node:util";
import { MemvirtError, pathJoin } from "../util/errors";
import { parsePages, formatBytes, GiB } from "../util/units";
import { countOf } from "../util/plural";
import { Rng, type Seed } from "../util/rng";
import { READ, WRITE, FETCH } from "../workloads/workload";
import { resolveTranslationCosts, type CostModel } from "../mmu/cost-model";
import { createWalkCache, type WalkCacheOption } from "../mmu/create-walk-cache";
import { NestedTlb, type NestedTlbOptions } from "../mmu/nested-tlb";
import { addressBitsOf, framesPerPage, LEVEL_SPAN_PAGES, parseLevels, parsePageSize, type Levels, type PageSize } from "../mmu/page-size";
import { Tlb, TLB_WRITABLE, type TlbOptions } from "../mmu/tlb";
import type { WalkCache } from "../mmu/walk-cache";
import { WalkRecorder } from "../mmu/walk-recorder";
import { Walk, type WalkSettings } from "../mmu/walk-result";
import { GuestMemory } from "./guest-memory";
import { GuestKernel } from "./guest-kernel";
import { parseMode, type ModeName } from "./mode-name";
import { NativeMode } from "./native-mode";
import { NestedMode } from "./nested-mode";
import { ProtectedMode } from "./protected-mode";
import { ShadowMode } from "./shadow-mode";
import { TranslationStats, diffCounts, type TranslationCounts, type TrapCounts } from "./translation-stats";
import { WALK_OK, WALK_PROTECTION, type HostBacking, type ModeContext, type PvPolicy, type ShadowPolicy, type TranslationMode } from "./translation-mode";
import { VmMemory } from "./vm-memory";
import { checkStateFits } from "../mmu/memory-budget";

// Module-local copies: imported bindings compile to property (or getter) loads, which are
// measurably slower on the per-access path than local constants.
const L_LEVEL_SPAN_PAGES = LEVEL_SPAN_PAGES;
const L_WALK_OK = WALK_OK;
const L_WALK_PROTECTION = WALK_PROTECTION;
const L_TLB_WRITABLE = TLB_WRITABLE;
const L_WRITE = WRITE;
const L_READ = READ;
const L_FETCH = FETCH;

/** Options of an Mmu; all optional. */
export interface MmuOptions {
  /** "native", "protected", "shadow" or "nested" (default "nested"). */
  mode?: ModeName;
  /** Guest (or native) page-table depth, 4 or 5 (default 4). */
  guestLevels?: Levels;
  /** Host (nested) page-table depth, 4 or 5 (default 4). */
  hostLevels?: Levels;
  /** Guest page size: "4K", "2M" or "1G" (default "4K"). */
  guestPageSize?: PageSize | string;
  /** Host page size (default "4K"). */
  hostPageSize?: PageSize | string;
  /** Guest-physical memory, a size or a page count (default "1 GiB"; raise it for 1G pages). */
  guestMemory?: number | string;
  /** 4 KiB frames reserved for guest page tables (default 1/64 of guest memory, at least 256). */
  guestPageTableFrames?: number;
  /** TLB shape, or false for no TLB (every access walks). Default: Skylake STLB, 1536 × 12-way. */
  tlb?: TlbOptions | false;
  /** Page-walk cache: "none" (default), "uptc", "stc", or an object with sizes. */
  pwc?: WalkCacheOption;
  /** Nested TLB for 2-D walks: true / an object with sizes, or false (default). */
  nestedTlb?: NestedTlbOptions | boolean;
  /** Cycle costs to override (see cost-model.ts for the defaults and their sources). */
  costs?: Partial<CostModel>;
  /**
   * Protected paging, `pvPolicy: "slides"`: guest page-table reads trap (default true). Xen PV
   * guests read the M→P table instead, so under "xen" reads never trap and `true` is refused.
   */
  trapReads?: boolean;
  /** Shadow paging: address spaces whose shadows survive a switch (default 8). */
  shadowCacheSize?: number;
  /**
   * Shadow paging: "kvm" (default), a real shadow MMU: only shadowed guest tables are
   * write-protected, leaf tables go out of sync, write floods unshadow a table, dirty bits are
   * emulated; or "slides": every guest page-table write traps (see shadow-mode.ts).
   */
  shadowPolicy?: ShadowPolicy;
  /**
   * Protected paging: "xen" (default), Xen PV: reads through the M→P table, updates batched into
   * multicalls in lazy-MMU sections, tables written directly until pinned; or "slides": every
   * page-table write (and read, with `trapReads`) traps (see protected-mode.ts).
   */
  pvPolicy?: PvPolicy;
  /**
   * Nested paging: "lazy" (default), the first touch of an unbacked gPA takes an EPT violation;
   * or "eager", the host backs every page before the guest touches it (see vm-memory.ts).
   */
  hostBacking?: HostBacking;
  /** P→M layout: "scattered" (default) or "identity" (native always uses identity). */
  p2m?: "scattered" | "identity";
  /** Seed of the P→M scatter (default 1). */
  seed?: Seed;
}

/** The settings an Mmu runs with, after defaults. */
export interface MmuSettings {
  mode: ModeName;
  guestLevels: Levels;
  hostLevels: Levels;
  guestPageSize: PageSize;
  hostPageSize: PageSize;
  guestMemoryBytes: number;
  tlb: { entries: number; ways: number; tagged: boolean } | null;
  pwc: string;
  nestedTlb: string;
  trapReads: boolean;
  shadowCacheSize: number;
  shadowPolicy: ShadowPolicy;
  pvPolicy: PvPolicy;
  hostBacking: HostBacking;
  p2m: "scattered" | "identity";
  costs: CostModel;
}

/** What one access did. */
export interface AccessResult {
  /** The virtual address and access kind. */
  address: number;
  kind: "read" | "write" | "fetch";
  tlbHit: boolean;
  /** Memory references made by walks for this access (0 on a TLB hit). */
  memoryReferences: number;
  walkCacheHits: number;
  nestedTlbHits: number;
  guestPageFaults: number;
  hiddenFaults: number;
  traps: TrapCounts;
  cycles: number;
  /** Guest-physical and machine addresses. */
  physicalAddress: number;
  machineAddress: number;
  /** The walk(s), reference by reference, when the TLB missed; null on a hit. */
  walk: Walk | null;
  /** All counters of this access. */
  counts: TranslationCounts;
}

const KNOWN_OPTIONS = ["mode", "guestLevels", "hostLevels", "guestPageSize", "hostPageSize", "guestMemory", "guestPageTableFrames", "tlb", "pwc", "nestedTlb", "costs", "trapReads", "shadowCacheSize", "shadowPolicy", "pvPolicy", "hostBacking", "p2m", "seed"];

/**
 * @example
 * const mmu = new Mmu({ mode: "nested", pwc: "uptc", nestedTlb: true });
 * mmu.access(0x7f1234567abc, "read").memoryReferences;  // first touch: a fault and two walks
 * mmu.flushTlb();
 * mmu.access(0x7f1234568abc, "read").walk?.explain();   // a nearby miss: the caches help
 */
export class Mmu {
  readonly settings: MmuSettings;
  /** @internal */
  readonly stats: TranslationStats;
  /** @internal */
  readonly guest: GuestKernel;
  /** @internal */
  readonly vm: VmMemory;
  readonly tlb: Tlb;
  /** @internal */
  readonly pwc: WalkCache;
  /** @internal */
  readonly nestedTlb: NestedTlb | null;
  /** @internal */
  readonly mode: TranslationMode;
  private readonly tlbEnabled: boolean;
  /** 4 KiB pages per TLB entry. */
  private readonly tlbSpan: number;
  /** The nested-STC batch kernel `run` uses, or null (other modes and caches, or no TLB). */
  private readonly kernel: NestedMode | null;
  private readonly maxPage: number;

  constructor(options: MmuOptions = {}, where = "") {
    if (typeof options !== "object" || options === null) throw new MemvirtError("expected an options object", { where: where || "options", value: options });
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.includes(key)) throw new MemvirtError(`unknown option (known: ${KNOWN_OPTIONS.join(", ")})`, { where: pathJoin(where, key), value: key });
    }
    const at = (name: string) => pathJoin(where, name);
    const mode = parseMode(options.mode ?? "nested", at("mode"));
    const guestLevels = parseLevels(options.guestLevels ?? 4, at("guestLevels"));
    const hostLevels = parseLevels(options.hostLevels ?? 4, at("hostLevels"));
    const guestPageSize = parsePageSize(options.guestPageSize ?? "4K", at("guestPageSize"));
    const hostPageSize = parsePageSize(options.hostPageSize ?? "4K", at("hostPageSize"));
    const guestFrames = parsePages(options.guestMemory ?? "1 GiB", at("guestMemory"));
    if (guestFrames < 16) throw new MemvirtError("guest memory must be at least 16 pages", { where: at("guestMemory"), value: options.guestMemory });
    if (guestFrames * 4096 > 1024 * GiB) throw new MemvirtError("guest memory above 1 TiB is not supported", { where: at("guestMemory"), value: options.guestMemory });
    const ptFrames = options.guestPageTableFrames ?? Math.max(256, Math.floor(guestFrames / 64));
    if (!Number.isInteger(ptFrames) || ptFrames < 8 || ptFrames >= guestFrames) {
      throw new MemvirtError("must be a whole number of frames, at least 8 and below guestMemory", { where: at("guestPageTableFrames"), value: options.guestPageTableFrames });
    }
    const shadowPolicy = checkChoice(options.shadowPolicy ?? "kvm", SHADOW_POLICIES, at("shadowPolicy"));
    const pvPolicy = checkChoice(options.pvPolicy ?? "xen", PV_POLICIES, at("pvPolicy"));
    const hostBacking = checkChoice(options.hostBacking ?? "lazy", HOST_BACKINGS, at("hostBacking"));
    const trapReads = checkBoolean(options.trapReads ?? pvPolicy === "slides", at("trapReads"));
    if (trapReads && pvPolicy === "xen" && mode === "protected") {
      throw new MemvirtError(`Xen PV guests read their page tables through the M→P table, so reads never trap; pvPolicy "slides" traps them`, { where: at("trapReads"), value: trapReads });
    }
    const shadowCacheSize = options.shadowCacheSize ?? 8;
    if (!Number.isInteger(shadowCacheSize) || shadowCacheSize < 1) throw new MemvirtError("must be a positive whole number", { where: at("shadowCacheSize"), value: shadowCacheSize });
    const p2m = options.p2m ?? "scattered";
    if (p2m !== "scattered" && p2m !== "identity") throw new MemvirtError("expected scattered or identity", { where: at("p2m"), value: p2m });
    const costs = resolveTranslationCosts(options.costs, at("costs"));
    this.stats = new TranslationStats(costs);
    // The P→M scatter's generator; `reseeded` keeps the scatters 32-bit seeds always gave.
    const p2mRng = new Rng(options.seed ?? 1, at("seed")).reseeded().split("p2m");

    this.tlbEnabled = options.tlb !== false;
    this.tlb = new Tlb(options.tlb === false ? { entries: 1, ways: 1 } : options.tlb ?? {}, at("tlb"));
    this.pwc = createWalkCache(options.pwc, at("pwc"));
    const ntlbOption = options.nestedTlb ?? false;
    this.nestedTlb = ntlbOption === false ? null : new NestedTlb(ntlbOption === true ? {} : ntlbOption, at("nestedTlb"));

    // The guest side, before it is built: GuestMemory's free list (4 bytes per page), GuestKernel's
    // chunk arrays (22), VmMemory's backed map (1 per host page), and two 64-table pools.
    const chunks = Math.floor((guestFrames - ptFrames) / framesPerPage(guestPageSize));
    const guestBytes = 26 * chunks + Math.ceil(guestFrames / framesPerPage(hostPageSize)) + 2 * 64 * 512 * 9;
    const cacheBytes = this.tlb.cache.stateBytes + (this.nestedTlb?.cache.stateBytes ?? 0) + this.pwc.stateBytes;
    checkStateFits(guestBytes + cacheBytes, `an Mmu with ${formatBytes(guestFrames * 4096)} of guest memory and its caches`, at("guestMemory"), options.guestMemory ?? "1 GiB");
    this.vm = new VmMemory({ guestFrames, hostLevels, hostPageSize, identity: mode === "native" || p2m === "identity", hostTable: mode !== "native", rng: p2mRng, lazy: mode === "nested" && hostBacking === "lazy" });
    const memory = new GuestMemory(guestFrames, framesPerPage(guestPageSize), ptFrames);
    this.guest = new GuestKernel({ levels: guestLevels, pageSize: guestPageSize, memory, vm: this.vm });
    const ctx: ModeContext = {
      guest: this.guest, vm: this.vm, tlb: this.tlb, pwc: this.pwc, nestedTlb: mode === "nested" ? this.nestedTlb : null,
      costs, stats: this.stats, guestLevels, hostLevels, guestPageSize, hostPageSize, trapReads, shadowCacheSize, shadowPolicy, pvPolicy,
    };
    this.mode = mode === "native" ? new NativeMode(ctx)
      : mode === "protected" ? new ProtectedMode(ctx)
        : mode === "shadow" ? new ShadowMode(ctx)
          : new NestedMode(ctx);
    this.guest.hooks = this.mode;
    this.tlbSpan = L_LEVEL_SPAN_PAGES[this.mode.tlbLeafLevel - 1];
    this.kernel = this.mode instanceof NestedMode && this.mode.hasBatchKernel && this.tlbEnabled ? this.mode : null;
    this.maxPage = 2 ** (addressBitsOf(guestLevels) - 12);
    this.settings = {
      mode, guestLevels, hostLevels, guestPageSize, hostPageSize, guestMemoryBytes: guestFrames * 4096,
      tlb: this.tlbEnabled ? { entries: this.tlb.entries, ways: this.tlb.ways, tagged: this.tlb.tagged } : null,
      pwc: this.pwc.describe(),
      nestedTlb: this.nestedTlb === null ? "no nested TLB" : `nested TLB, ${this.nestedTlb.entries} entries, ${this.nestedTlb.ways === this.nestedTlb.entries ? "fully associative" : `${this.nestedTlb.ways}-way`}`,
      trapReads, shadowCacheSize, shadowPolicy, pvPolicy, hostBacking, p2m: this.vm.identity ? "identity" : "scattered", costs,
    };
    // Boot: one process, running. Setup work is not part of any measurement.
    const first = this.guest.createProcess();
    this.guest.switchTo(first);
    this.resetStats();
  }

  /**
   * Translate one virtual address, as the hardware would, and report what happened.
   *
   * @example
   * const r = mmu.access(0x7f0000001000, "write");
   * r.tlbHit; r.memoryReferences; r.traps.total; r.cycles; r.walk?.explain();
   */
  access(address: number, kind: "read" | "write" | "fetch" | 0 | 1 | 2 = "read"): AccessResult {
    const page = this.checkAddress(address, "address");
    const k = kind === "read" || kind === L_READ ? L_READ : kind === "write" || kind === L_WRITE ? L_WRITE : kind === "fetch" || kind === L_FETCH ? L_FETCH : -1;
    if (k < 0) throw new MemvirtError("expected read, write or fetch", { where: "kind", value: kind });
    const before = this.stats.snapshot();
    const rec = new WalkRecorder(address, this.settings.mode === "native" ? "VA" : "gVA");
    const frame = this.translate(page, k, rec);
    const counts = diffCounts(this.stats.snapshot(), before);
    const offset = address % 4096;
    const guestFrame = this.guest.tableOf(this.guest.current).lookup(page);
    const physicalAddress = guestFrame * 4096 + offset;
    const machineAddress = frame * 4096 + offset;
    const tlbHit = counts.tlbHits === 1;
    const cold = this.mode.coldWalk();
    return {
      address,
      kind: k === L_READ ? "read" : k === L_WRITE ? "write" : "fetch",
      tlbHit,
      memoryReferences: counts.memoryReferences,
      walkCacheHits: counts.walkCacheHits,
      nestedTlbHits: counts.nestedTlbHits,
      guestPageFaults: counts.guestPageFaults,
      hiddenFaults: counts.hiddenFaults,
      traps: counts.traps,
      cycles: counts.cycles,
      physicalAddress,
      machineAddress,
      walk: tlbHit ? null : new Walk(this.walkSettings(), rec, { physicalAddress, machineAddress, coldReferences: cold.references, formula: cold.formula }),
      counts,
    };
  }

  /**
   * The simulation entry point: translate one 4 KiB page number (`kind` READ/WRITE/FETCH);
   * returns the machine frame. No allocation.
   *
   * @internal
   * @example
   * mmu.accessPage(0x7f123, WRITE)
   */
  accessPage(page: number, kind: number): number {
    if (kind !== L_READ && kind !== L_WRITE && kind !== L_FETCH) this.checkKind(kind, "kind");
    if (!(page >= 0 && page < this.maxPage && Math.floor(page) === page)) this.checkPage(page);
    return this.translate(page, kind, null);
  }

  /**
   * Translate a batch: `pages[i]`, `kinds[i]` for i in [start, end). The hot loop: exactly what
   * `accessPage` does for each access in turn, faster. The whole batch is checked first (whole
   * page numbers in the address space, known kinds), so a bad value is refused before any
   * access of the batch is made, and the translation loops need no checks of their own.
   *
   * @internal
   * @example
   * mmu.run(pages, kinds, 0, n);
   */
  run(pages: Float64Array, kinds: Uint8Array, start: number, end: number): void {
    this.checkBatch(pages, kinds, start, end);
    const kernel = this.kernel;
    if (kernel === null) {
      this.runEach(pages, kinds, start, end);
      return;
    }
    // The kernel does the common accesses; each access it stops at is finished here, one by one.
    for (let i = start; i < end; i++) {
      i = kernel.runStc(pages, kinds, i, end, this.maxPage);
      if (i === end) return;
      if (kernel.stoppedAtMiss) {
        const page = pages[i];
        const span = this.tlbSpan;
        this.miss(page, span === 1 ? page : Math.floor(page / span), kinds[i] === L_WRITE, null);
      } else {
        this.runEach(pages, kinds, i, i + 1);
      }
    }
  }

  /** `run` access by access, through `miss` (every mode). */
  private runEach(pages: Float64Array, kinds: Uint8Array, start: number, end: number): void {
    const stats = this.stats;
    const tlb = this.tlb.cache;
    const span = this.tlbSpan;
    const enabled = this.tlbEnabled;
    const guest = this.guest;
    const flags = tlb.flags;
    for (let i = start; i < end; i++) {
      const page = pages[i]; // checked with its batch (checkBatch)
      const kind = kinds[i];
      stats.accesses++;
      const key = span === 1 ? page : Math.floor(page / span);
      if (enabled) {
        const slot = tlb.lookupForFill(guest.current, key);
        if (slot >= 0 && (kind !== L_WRITE || (flags[slot] & L_TLB_WRITABLE) !== 0)) {
          stats.tlbHits++;
          continue;
        }
      }
      stats.tlbMisses++;
      this.miss(page, key, kind === L_WRITE, null);
    }
  }

  /**
   * Drop every cached translation: TLB, page-walk cache, nested TLB (tables stay).
   *
   * @example
   * mmu.flushTlb(); // the next access walks with cold caches
   */
  flushTlb(): void {
    this.tlb.flush();
    this.pwc.flushAll();
    this.nestedTlb?.flushAll();
  }

  /**
   * Zero the counters, the guest kernel's included (tables and caches keep their state).
   *
   * @example
   * mmu.resetStats();
   */
  resetStats(): void {
    for (const key of Object.keys(this.stats) as Array<keyof TranslationStats>) {
      if (typeof this.stats[key] === "number") (this.stats as unknown as Record<string, number>)[key] = 0;
    }
    const counts = this.guest.counts as unknown as Record<string, number>;
    for (const key of Object.keys(counts)) counts[key] = 0;
  }

  /** Counters so far. */
  counts(): TranslationCounts {
    return this.stats.snapshot();
  }

  /**
   * Memory the translation structures take now (bytes): guest page tables, host page tables
   * (nested mode walks them; other modes keep P→M in the VMM), and shadow tables (now, peak).
   *
   * @example
   * mmu.memory().shadowBytes
   */
  memory(): { guestPageTableBytes: number; hostPageTableBytes: number; shadowBytes: number; peakShadowBytes: number } {
    return {
      guestPageTableBytes: this.guest.pageTablePages * 4096,
      hostPageTableBytes: this.settings.mode === "nested" ? this.vm.hostTablePages * 4096 : 0,
      shadowBytes: this.mode.shadowPages() * 4096,
      peakShadowBytes: this.mode.peakShadowPages() * 4096,
    };
  }

  /** One line per setting, for explain text. */
  describe(): string {
    const s = this.settings;
    const host = s.mode === "native" ? "" : `, host ${s.hostLevels}-level/${s.hostPageSize}`;
    const tlb = s.tlb ? `TLB ${s.tlb.entries} entries ${s.tlb.ways}-way${s.tlb.tagged ? " (ASID-tagged)" : " (untagged)"}` : "no TLB";
    const policy = s.mode === "shadow" ? ` (${s.shadowPolicy} policy)` : s.mode === "protected" ? ` (${s.pvPolicy} policy)` : s.mode === "nested" ? ` (${s.hostBacking} host backing)` : "";
    return `${s.mode} paging${policy}: guest ${s.guestLevels}-level/${s.guestPageSize}${host}; guest memory ${formatBytes(s.guestMemoryBytes)}; ${tlb}; ${s.pwc}${s.mode === "nested" ? `; ${s.nestedTlb}` : ""}`;
  }

  /**
   * What a bare `mmu` at the end of a notebook cell prints (Node's inspector): its settings and
   * counters so far, instead of every table and cache.
   *
   * @internal
   * @example
   * console.log(new Mmu({ mode: "shadow" })); // Mmu: shadow paging: ...
   */
  [inspect.custom](): string {
    const c = this.counts();
    const n = countOf;
    return [
      `Mmu: ${this.describe()}`,
      `  so far: ${n(c.accesses, "access", "accesses")}, ${n(c.tlbMisses, "TLB miss", "TLB misses")}, ${n(c.memoryReferences, "walk reference")}, ` +
        `${n(c.guestPageFaults, "guest page fault")}, ${n(c.traps.total, "trap")}, ${n(c.cycles, "cycle")}`,
      `  .access(address, "read") runs one access and returns its walk; .counts() has every counter`,
    ].join("\n");
  }

  /**
   * The settings a recorded walk reports.
   * @internal
   */
  walkSettings(): WalkSettings {
    const s = this.settings;
    return { mode: s.mode, guestLevels: s.guestLevels, hostLevels: s.hostLevels, guestPageSize: s.guestPageSize, hostPageSize: s.hostPageSize, walkCache: s.pwc === "no page-walk cache" ? "no page-walk cache" : s.pwc, nestedTlb: s.nestedTlb };
  }

  /**
   * Check a virtual address for this table depth; returns its page number. An address must be
   * canonical, as hardware requires (anything else raises #GP): bits 63 down to bits−1 all equal,
   * so the lower half [0, 2^(bits−1)) or the upper half [2^64 − 2^(bits−1), 2^64). An upper-half
   * address walks as its low `bits` bits (page numbers from 2^(bits−13) up), as hardware indexes
   * the tables; in a double it is exact only when page-aligned.
   *
   * @internal
   * @example
   * mmu.checkAddress(0x7f0000000000, "--address") // 0x7f0000000
   * mmu.checkAddress(0x800000000000, "--address") // throws: non-canonical with 4-level tables
   */
  checkAddress(address: number, where: string): number {
    const levels = this.settings.guestLevels;
    const bits = addressBitsOf(levels);
    const half = 2 ** (bits - 1);
    if (typeof address !== "number" || !Number.isInteger(address) || address < 0 || address >= 2 ** 64) {
      throw new MemvirtError(`expected a virtual address, a whole number from 0 to 2^64 − 1`, { where, value: address });
    }
    if (address < half) return Math.floor(address / 4096);
    const upper = 2 ** 64 - half;
    if (address >= upper) return Math.floor((address - (2 ** 64 - 2 ** bits)) / 4096);
    throw new MemvirtError(
      `0x${address.toString(16)} is not canonical with ${levels}-level tables (${bits}-bit addresses): bits 63 to ${bits - 1} must all be equal, ` +
      `so below 0x${half.toString(16)} or from 0x${upper.toString(16)}; hardware raises a general-protection fault`,
      { where, value: address },
    );
  }

  private checkPage(page: unknown, where = "page"): never {
    const bits = addressBitsOf(this.settings.guestLevels);
    const problem = typeof page !== "number" || Number.isNaN(page) ? "expected a page number"
      : page < 0 ? "page number must not be negative"
        : !Number.isInteger(page) ? "page number must be a whole number (a page is address >> 12)"
          : `page number is beyond the ${bits}-bit virtual address space (at most 2^${bits - 12} − 1)`;
    throw new MemvirtError(problem, { where, value: page });
  }

  private checkKind(kind: unknown, where: string): never {
    throw new MemvirtError(`expected an access kind: ${L_READ} (read), ${L_WRITE} (write) or ${L_FETCH} (fetch)`, { where, value: kind });
  }

  /**
   * Refuse a batch with a bad range, page or kind before any of it runs. The common arrays get
   * one branch-free pass that only ORs flags (a valid kind k has (k + 1) & ~3 = 0); unsigned
   * integer pages cannot be negative, fractional or beyond 2^32 ≤ either address space (2^36 or
   * 2^45 pages), so only their kinds are scanned. Anything flagged, and arrays of other types,
   * go through the plain loop, which names the first bad value.
   */
  private checkBatch(pages: ArrayLike<number>, kinds: ArrayLike<number>, start: number, end: number): void {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > pages.length || end > kinds.length) {
      throw new MemvirtError(`expected 0 ≤ start ≤ end ≤ the batch length (${pages.length} pages, ${kinds.length} kinds)`, { where: "run", value: { start, end } });
    }
    const maxPage = this.maxPage;
    const wholePages = pages instanceof Uint32Array || pages instanceof Uint16Array || pages instanceof Uint8Array;
    if (kinds instanceof Uint8Array && (wholePages || pages instanceof Float64Array)) {
      let bad = 0;
      if (wholePages) {
        for (let i = start; i < end; i++) bad |= (kinds[i] + 1) & ~3;
      } else {
        for (let i = start; i < end; i++) {
          const page = pages[i];
          bad |= ((kinds[i] + 1) & ~3) | (page < 0 ? 1 : 0) | (page >= maxPage ? 1 : 0) | (Math.floor(page) !== page ? 1 : 0);
        }
      }
      if (bad === 0) return;
    }
    for (let i = start; i < end; i++) {
      const kind = kinds[i];
      if (kind !== L_READ && kind !== L_WRITE && kind !== L_FETCH) this.checkKind(kind, `kinds[${i}]`);
      if (!wholePages) {
        const page = pages[i];
        if (!(page >= 0 && page < maxPage && Math.floor(page) === page)) this.checkPage(page, `pages[${i}]`);
      }
    }
  }

  /** One access to a page its caller has checked (accessPage, access via checkAddress, run via checkBatch). */
  private translate(page: number, kind: number, rec: WalkRecorder | null): number {
    const stats = this.stats;
    stats.accesses++;
    const span = this.tlbSpan;
    const key = span === 1 ? page : Math.floor(page / span);
    const write = kind === L_WRITE;
    if (this.tlbEnabled) {
      const tlb = this.tlb.cache;
      const slot = tlb.lookupForFill(this.guest.current, key);
      if (slot >= 0 && (!write || (tlb.flags[slot] & L_TLB_WRITABLE) !== 0)) {
        stats.tlbHits++;
        return tlb.values[slot] + (page - key * span);
      }
    }
    stats.tlbMisses++;
    return this.miss(page, key, write, rec);
  }

  /** TLB miss: walk, handle faults, walk again, fill the TLB. */
  private miss(page: number, key: number, write: boolean, rec: WalkRecorder | null): number {
    const mode = this.mode;
    const out = mode.out;
    // A first touch in a lazily backed VM may take a guest fault and an EPT violation for each
    // table level and the data page before its walk succeeds.
    for (let attempt = 0; attempt < 16; attempt++) {
      this.stats.walks++;
      let status = mode.walk(page, write, rec);
      if (status === L_WALK_OK && write && !out.writable) status = L_WALK_PROTECTION;
      if (status === L_WALK_OK) {
        const frame = out.frame;
        if (this.tlbEnabled) this.tlb.cache.fillMissed(this.guest.current, key, frame - (page - key * this.tlbSpan), 0, out.writable ? L_TLB_WRITABLE : 0);
        return frame;
      }
      mode.handleFault(status, page, write, rec);
    }
    throw new Error(`internal: translating page ${page} did not converge`);
  }
}

const SHADOW_POLICIES: readonly ShadowPolicy[] = ["slides", "kvm"];
const PV_POLICIES: readonly PvPolicy[] = ["slides", "xen"];
const HOST_BACKINGS: readonly HostBacking[] = ["lazy", "eager"];

function checkChoice<T extends string>(value: unknown, choices: readonly T[], where: string): T {
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  throw new MemvirtError(`expected ${choices.join(" or ")}`, { where, value });
}

function checkBoolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw new MemvirtError("expected true or false", { where, value });
  return value;
}
