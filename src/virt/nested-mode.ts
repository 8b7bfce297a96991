/**
 * Nested paging (AMD NPT, Intel EPT): the hardware 2-D walk.
 *
 * The guest's table maps gVA → gPA and lives at guest-physical addresses; the host's table maps
 * gPA → hPA. To read a guest entry the walker first needs the machine address of the guest
 * table, so each guest level costs a host walk plus the guest reference, and the final data gPA
 * costs one more host walk:
 *
 *   gCR3 ─host walk (m)─▶ guest L4 entry ─host walk (m)─▶ guest L3 entry ─ ... ─▶ guest L1 entry
 *        ─host walk (m)─▶ hPA of the data
 *
 *   references = n·m + n + m = (n+1)(m+1) − 1      24 for 4/4, 35 for 5/5
 *
 * A 2M (1G) page ends its dimension one (two) levels early: 4/3 gives 5·4 − 1 = 19.
 *
 * Caches: the page-walk cache is probed for every reference of both dimensions (UPTC: by the
 * entry's machine address; STC: by gVA prefix in the guest dimension, holding the next guest
 * table's hPA, and by gPA prefix in the host dimension); the nested TLB caches whole host walks.
 * Guest page-table updates and CR3 switches cost what they cost natively: no VM exits.
 *
 * Host memory is backed lazily by default (vm-memory.ts): a walk whose host dimension meets a
 * not-present entry ends in an EPT/NPT violation, a VM exit (`eptViolation` trap) after which the
 * VMM backs the host page and the guest retries; the second touch of that host page walks
 * through. With `hostBacking: "eager"` every gPA the guest allocates is backed in advance.
 */
import { leafLevelOf, LEVEL_SPAN_PAGES, levelIndex, smallerPageSize } from "../mmu/page-size";
import { PTE_ACCESSED, PTE_DIRTY, PTE_LARGE, PTE_PRESENT, PTE_WRITABLE, hex } from "../mmu/pte";
import { moveToFront, SetAssociativeCache } from "../mmu/set-associative-cache";
import { Stc } from "../mmu/stc";
import { TLB_WRITABLE } from "../mmu/tlb";
import type { WalkRecorder } from "../mmu/walk-recorder";
import { WRITE } from "../workloads/workload";
import { ModeBase, WALK_EPT_VIOLATION, WALK_NOT_PRESENT, WALK_OK, type ModeContext } from "./translation-mode";

// Module-local copies: imported bindings compile to property (or getter) loads, which are
// measurably slower on the per-access path than local constants.
const L_PTE_PRESENT = PTE_PRESENT;
const L_PTE_WRITABLE = PTE_WRITABLE;
const L_PTE_ACCESSED = PTE_ACCESSED;
const L_PTE_DIRTY = PTE_DIRTY;
const L_PTE_LARGE = PTE_LARGE;
const L_LEVEL_SPAN_PAGES = LEVEL_SPAN_PAGES;
const L_levelIndex = levelIndex;
const L_WALK_OK = WALK_OK;
const L_WALK_NOT_PRESENT = WALK_NOT_PRESENT;
const L_WALK_EPT_VIOLATION = WALK_EPT_VIOLATION;
const L_TLB_WRITABLE = TLB_WRITABLE;
const L_WRITE = WRITE;
const L_moveToFront = moveToFront;
/** Why `runStc` stopped: it did not, at an access it had not started, or after a TLB lookup. */
const STOP_NONE = 0;
const STOP_AT_HIT = 1;
const STOP_AT_MISS = 2;

/** The VPID the simulated VM's host-dimension caches are tagged with. */
const VPID = 0;

/**
 * @internal
 * @example
 * const mmu = new Mmu({ mode: "nested", pwc: "uptc", nestedTlb: {} });
 */
export class NestedMode extends ModeBase {
  readonly name = "nested" as const;
  /** The nested TLB's cache, or null. */
  private readonly ntlb: SetAssociativeCache | null;
  private readonly hostLeafLevel: number;
  private readonly hostPageFrames: number;
  private readonly hostShift: number;
  private readonly hostLevels: number;
  private readonly guestLevels: number;
  /** The host table's root id (fixed for the VM's life). */
  private readonly hostRoot: number;
  /** STC: the cache of leaf-level tables per dimension (what `runStc` probes), or null, and 1 / its prefix span. */
  private readonly stcGuestFirst: SetAssociativeCache | null = null;
  private readonly stcHostFirst: SetAssociativeCache | null = null;
  private readonly stcGuestInvSpan: number = 0;
  private readonly stcHostInvSpan: number = 0;
  /** Host references per host walk (m'). */
  private readonly hostSteps: number;
  /** `runStc` applies: an STC whose leaf-level cache exists (the TLB is the caller's to check). */
  readonly hasBatchKernel: boolean;
  /** What `runStc` reads when the nested TLB or the host-level STC cache is absent: never filled, so never hits. */
  private readonly emptyCache = new SetAssociativeCache({ entries: 1, ways: 1 }, "emptyCache");
  /** Set by `runStc`: the access it stopped at already missed the TLB. */
  stoppedAtMiss = false;
  /** The gPA frame of the last EPT violation (lazy host backing). */
  private violationFrame = -1;

  constructor(ctx: ModeContext) {
    super(ctx, leafLevelOf(smallerPageSize(ctx.guestPageSize, ctx.hostPageSize)));
    this.ntlb = ctx.nestedTlb === null ? null : ctx.nestedTlb.cache;
    this.hostLeafLevel = ctx.vm.hostLeafLevel;
    this.hostPageFrames = ctx.vm.hostPageFrames;
    this.hostShift = Math.log2(this.hostPageFrames);
    this.hostLevels = ctx.hostLevels;
    this.hostSteps = this.hostLevels - this.hostLeafLevel + 1;
    this.guestLevels = ctx.guestLevels;
    this.hostRoot = (ctx.vm.hostTable as NonNullable<typeof ctx.vm.hostTable>).root;
    if (ctx.pwc instanceof Stc) {
      // The level caches Stc.skipTo would probe first (none when the leaf level has no cache).
      this.stcGuestFirst = ctx.pwc.firstProbe(0, this.guestLevels, this.guestLeafLevel);
      this.stcHostFirst = ctx.pwc.firstProbe(1, this.hostLevels, this.hostLeafLevel);
      this.stcGuestInvSpan = 1 / L_LEVEL_SPAN_PAGES[this.guestLeafLevel];
      this.stcHostInvSpan = 1 / L_LEVEL_SPAN_PAGES[this.hostLeafLevel];
    }
    // The kernel relinks the TLB and nested TLB inline, so it needs their list LRU.
    this.hasBatchKernel = this.stcGuestFirst !== null && this.tlb.cache.stamps === null && (this.ntlb === null || this.ntlb.stamps === null);
  }

  walk(page: number, write: boolean, rec: WalkRecorder | null): number {
    const stats = this.stats;
    const pwc = this.pwc;
    const pool = this.guest.pool;
    const n = this.guestLevels;
    const guestLeaf = this.guestLeafLevel;
    const asid = this.asid;
    const probe = this.pwcProbes;
    let level = n;
    let table = this.guestRoot;
    let hostFrame = -1; // machine frame of the current guest table, once translated
    if (this.pwcIsStc) {
      const start = pwc.skipTo(0, asid, page, n, guestLeaf);
      if (start < n) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("stc", 0, start, (n - start) * (this.hostSteps + 1), 0, 0, `the guest L${start} table for this gVA prefix is cached with its hPA; skip guest L${n}..L${start + 1} and their host walks`);
        level = start;
        table = pwc.outTable;
        hostFrame = pwc.outFrame;
      }
    }
    let guestFrame: number;
    let leafFlags: number;
    let leafSlot: number;
    for (;;) {
      const row = n - level;
      const tableGuestFrame = pool.tableFrame[table];
      if (hostFrame < 0) {
        hostFrame = this.hostTranslate(tableGuestFrame, rec, row, level);
        if (hostFrame < 0) return L_WALK_EPT_VIOLATION;
        if (level < n && this.pwcIsStc) pwc.fillTable(0, asid, page, level, table, hostFrame);
      }
      const idx = L_levelIndex(page, level);
      const e = table * 512 + idx;
      const flags = pool.flags[e];
      // A present entry is a leaf exactly at level 1 or with PS set (radix-page-table.ts), so a
      // leaf needs no load of `child` (one cache line less per step).
      const leaf = level === 1 || (flags & L_PTE_LARGE) !== 0;
      const key = hostFrame * 512 + idx;
      if (probe && (flags & L_PTE_PRESENT) !== 0 && pwc.probeEntry(key, leaf)) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("pwc", 0, level, 1, row, this.hostSteps, `guest L${level} entry at hPA ${hex(key * 8)} is cached`);
      } else {
        stats.memoryReferences++;
        if (rec !== null) {
          const entry = (flags & L_PTE_PRESENT) === 0 ? 0 : pool.frames[e] * 4096 + flags;
          rec.reference(0, level, tableGuestFrame * 4096, idx, entry, key * 8, -1, -1, row, this.hostSteps);
        }
      }
      if ((flags & L_PTE_PRESENT) === 0) return L_WALK_NOT_PRESENT;
      if (leaf) {
        guestFrame = pool.frames[e] + (level === 1 ? 0 : page % L_LEVEL_SPAN_PAGES[level - 1]);
        leafFlags = flags;
        leafSlot = e;
        break;
      }
      level--;
      table = pool.child[e];
      hostFrame = -1;
    }
    const frame = this.hostTranslate(guestFrame, rec, n - guestLeaf + 1, 0);
    if (frame < 0) return L_WALK_EPT_VIOLATION;
    const out = this.out;
    out.guestFrame = guestFrame;
    out.frame = frame;
    out.writable = (leafFlags & L_PTE_WRITABLE) !== 0;
    pool.flags[leafSlot] = leafFlags | L_PTE_ACCESSED | (write && out.writable ? L_PTE_DIRTY : 0);
    return L_WALK_OK;
  }

  /**
   * The batch kernel of `Mmu.run` for the STC: TLB lookups and, on a TLB miss, the common 2-D
   * walk, in one loop with the counters in locals. The common walk is the one a warm STC makes:
   *
   *   TLB miss ─▶ guest leaf-table STC hit (its hPA too) ─▶ guest leaf entry (1 reference)
   *            ─▶ nested TLB ─(miss)▶ host leaf-table STC hit ─▶ host leaf entry (1 reference)
   *            ─▶ fill the nested TLB and the TLB
   *
   * Anything else stops the kernel at that access: after its TLB lookup (the guest leaf table
   * is not in the STC, the guest entry faults, a store meets a read-only entry or TLB entry, or
   * the data page is not backed by the host yet: an EPT violation), or before it (a page beyond
   * the address space). The caller finishes that access on the general path (`Mmu.miss`, or the
   * whole access). The guest probe is `peek` then `touch`, and backing is checked before the
   * touch, so a stop leaves nothing for the general path to undo. A host leaf table missing from
   * the STC is walked in place (`hostWalk`). A batch thus does exactly what `accessPage` does
   * access by access; the tests compare counters, PTE bits and every cache array.
   *
   * The TLB and nested-TLB operations are written inline on the cache arrays (layout and
   * helpers in set-associative-cache.ts): V8 inlines only about 900 bytes of bytecode into one
   * function, fewer than the eight cache method calls a miss makes, and the inline form measured
   * 1.24× faster than the same kernel calling methods. With the STC's stamp LRU, the kernel
   * runs these misses 2.5× as fast as the per-access path did (in-process A/B, same phase).
   *
   * Returns the index of the first access not done; `stoppedAtMiss` says whether its TLB lookup
   * was already made and missed (then only `Mmu.miss` remains), else it was not started.
   * Valid only when `hasBatchKernel`.
   *
   * @example
   * const stop = mode.runStc(pages, kinds, 0, n, maxPage); // n when every access was common
   */
  runStc(pages: Float64Array, kinds: Uint8Array, start: number, end: number, maxPage: number): number {
    const stats = this.stats;
    const span = L_LEVEL_SPAN_PAGES[this.tlbLeafLevel - 1];
    const tag = this.guest.current;
    const asid = this.asid;
    // The TLB and the nested TLB, looked up and filled inline (see set-associative-cache.ts).
    const tlb = this.tlb.cache;
    const tData = tlb.data;
    const tLinks = tlb.links;
    const tBuckets = tlb.buckets;
    const tShift = tlb.hashShift;
    const tMask = tlb.setMask;
    const tEntries = tlb.entries;
    const tFlags = tlb.flags;
    const tValues = tlb.values;
    const tValues2 = tlb.values2;
    const ntlb = this.ntlb ?? this.emptyCache;
    const hasNtlb = this.ntlb !== null;
    const nData = ntlb.data;
    const nLinks = ntlb.links;
    const nBuckets = ntlb.buckets;
    const nShift = ntlb.hashShift;
    const nMask = ntlb.setMask;
    const nEntries = ntlb.entries;
    const nValues = ntlb.values;
    const nValues2 = ntlb.values2;
    const nCacheFlags = ntlb.flags;
    // The STC's leaf-level caches: the guest one through methods (V8 inlines those), the host one
    // looked up inline too (measured 1.10×).
    const gFirst = this.stcGuestFirst as SetAssociativeCache;
    const gInv = this.stcGuestInvSpan;
    const hFirst = this.stcHostFirst;
    const hInv = this.stcHostInvSpan;
    const hCache = hFirst ?? this.emptyCache; // empty when there is no host-level cache: never hits
    const hData = hCache.data;
    const hLinks = hCache.links;
    const hBuckets = hCache.buckets;
    const hShift = hCache.hashShift;
    const leaf = this.guestLeafLevel;
    const leafSpan = L_LEVEL_SPAN_PAGES[leaf - 1];
    const hostLeaf = this.hostLeafLevel;
    const hostShift = this.hostShift;
    const hostPageFrames = this.hostPageFrames;
    // The kernel never faults, so no table is allocated and no pool array is replaced meanwhile.
    const gFlags = this.guest.pool.flags;
    const gFrames = this.guest.pool.frames;
    const hFlags = this.vm.hostPool.flags;
    const hFrames = this.vm.hostPool.frames;
    const backed = this.vm.backed;
    // Few counters in the loop (the rest follow from them at the end): every completed miss is
    // one walk, and each of its STC hits is one memory reference.
    let tlbHits = 0;
    let cacheHits = 0;
    let ntlbHits = 0;
    let stop = STOP_NONE;
    let tlbPending = -1; // the TLB bucket a stopped access looked up and missed
    let i = start;
    for (; i < end; i++) {
      const page = pages[i];
      if (!(page < maxPage)) break;
      const write = kinds[i] === L_WRITE;
      const key = span === 1 ? page : Math.floor(page / span);
      const keyLo = key >>> 0;
      // TLB lookup (SetAssociativeCache.lookupForFill, inline).
      const tSentinel = tEntries + (keyLo & tMask);
      const th = Math.imul(keyLo ^ Math.imul(((key * 2.3283064365386963e-10) | 0) ^ tag, 0x85ebca6b), 0x9e3779b1) >>> tShift;
      let slot = -1;
      const tc = tBuckets[2 * th];
      if (tc !== 0) {
        const s = tBuckets[2 * th + 1];
        if (tData[2 * s] === key && tData[2 * s + 1] === tag) slot = s;
        else if (tc !== 1 || tData[2 * s + 1] === -1 || tLinks[4 * s] !== th) slot = tlb.findInSet(tag, key);
      }
      if (slot >= 0) {
        L_moveToFront(tLinks, slot, tSentinel);
        if (!write || (tFlags[slot] & L_TLB_WRITABLE) !== 0) {
          tlbHits++;
          continue;
        }
        stop = STOP_AT_HIT; // a store through a read-only translation: the general path faults
        break;
      }
      // The guest leaf table from the STC; its entry must be a present leaf allowing the access.
      const gs = gFirst.peek(asid, Math.floor(page * gInv));
      const e = gs < 0 ? -1 : gFirst.values[gs] * 512 + L_levelIndex(page, leaf);
      const flags = e < 0 ? 0 : gFlags[e];
      const writable = (flags & L_PTE_WRITABLE) !== 0;
      if ((flags & L_PTE_PRESENT) === 0 || (leaf !== 1 && (flags & L_PTE_LARGE) === 0) || (write && !writable)) {
        tlbPending = th;
        stop = STOP_AT_MISS;
        break;
      }
      const guestFrame = gFrames[e] + (leaf === 1 ? 0 : page % leafSpan);
      const hostPage = guestFrame >>> hostShift;
      // Lazy backing: a data page the host has not backed is an EPT violation, for the general
      // path; checked before anything changes (one byte load: measured at parity with no check).
      if (backed[hostPage] === 0) {
        tlbPending = th;
        stop = STOP_AT_MISS;
        break;
      }
      gFirst.touch(gs);
      cacheHits++;
      gFlags[e] = flags | L_PTE_ACCESSED | (write ? L_PTE_DIRTY : 0);
      const offset = guestFrame - hostPage * hostPageFrames;
      const nSentinel = nEntries + (hostPage & nMask);
      const nh = Math.imul(hostPage ^ Math.imul(VPID, 0x85ebca6b), 0x9e3779b1) >>> nShift; // hashOf: hostPage < 2^32
      let ns = -1;
      if (hasNtlb) {
        const nc = nBuckets[2 * nh];
        if (nc !== 0) {
          const s = nBuckets[2 * nh + 1];
          if (nData[2 * s] === hostPage && nData[2 * s + 1] === VPID) ns = s;
          else if (nc !== 1 || nData[2 * s + 1] === -1 || nLinks[4 * s] !== nh) ns = ntlb.findInSet(VPID, hostPage);
        }
      }
      let frame: number;
      if (ns >= 0) {
        ntlbHits++;
        L_moveToFront(nLinks, ns, nSentinel);
        frame = nValues[ns] + offset;
      } else {
        // hFirst.peek, inline (as the TLB lookup above).
        const hKey = Math.floor(guestFrame * hInv);
        const hh = Math.imul((hKey >>> 0) ^ Math.imul(((hKey * 2.3283064365386963e-10) | 0) ^ VPID, 0x85ebca6b), 0x9e3779b1) >>> hShift;
        let hs = -1;
        const hc = hBuckets[2 * hh];
        if (hc !== 0) {
          const s = hBuckets[2 * hh + 1];
          if (hData[2 * s] === hKey && hData[2 * s + 1] === VPID) hs = s;
          else if (hc !== 1 || hData[2 * s + 1] === -1 || hLinks[4 * s] !== hh) hs = hCache.findInSet(VPID, hKey);
        }
        const he = hs < 0 ? -1 : (hFirst as SetAssociativeCache).values[hs] * 512 + L_levelIndex(guestFrame, hostLeaf);
        if (he >= 0 && (hFlags[he] & L_PTE_PRESENT) !== 0 && (hostLeaf === 1 || (hFlags[he] & L_PTE_LARGE) !== 0)) {
          (hFirst as SetAssociativeCache).touch(hs);
          cacheHits++;
          const hostBase = hFrames[he];
          if (hasNtlb) {
            // SetAssociativeCache.fill (list LRU), inline.
            const v = nLinks[4 * nSentinel + 1];
            if (nData[2 * v + 1] !== -1) nBuckets[2 * nLinks[4 * v]]--;
            nData[2 * v] = hostPage;
            nData[2 * v + 1] = VPID;
            nLinks[4 * v] = nh;
            nBuckets[2 * nh]++;
            nBuckets[2 * nh + 1] = v;
            nValues[v] = hostBase;
            nValues2[v] = 0;
            nCacheFlags[v] = 0;
            L_moveToFront(nLinks, v, nSentinel);
          }
          frame = hostBase + offset;
        } else {
          if (hasNtlb) ntlb.expectFill(nh);
          frame = this.hostWalk(guestFrame, hostPage, offset, null, 0, 0);
        }
      }
      // SetAssociativeCache.fill (list LRU), inline.
      const v = tLinks[4 * tSentinel + 1];
      if (tData[2 * v + 1] !== -1) tBuckets[2 * tLinks[4 * v]]--;
      tData[2 * v] = key;
      tData[2 * v + 1] = tag;
      tLinks[4 * v] = th;
      tBuckets[2 * th]++;
      tBuckets[2 * th + 1] = v;
      tValues[v] = frame - (page - key * span);
      tValues2[v] = 0;
      tFlags[v] = writable ? L_TLB_WRITABLE : 0;
      L_moveToFront(tLinks, v, tSentinel);
    }
    // Accesses done, plus the stopped one if its TLB lookup was made.
    const looked = i - start + (stop === STOP_NONE ? 0 : 1);
    const walks = i - start - tlbHits;
    tlb.hits += tlbHits + (stop === STOP_AT_HIT ? 1 : 0);
    tlb.misses += looked - tlbHits - (stop === STOP_AT_HIT ? 1 : 0);
    tlb.expectFill(tlbPending);
    ntlb.hits += ntlbHits;
    if (hasNtlb) ntlb.misses += walks - ntlbHits;
    stats.accesses += looked;
    stats.tlbHits += tlbHits;
    stats.tlbMisses += looked - tlbHits;
    stats.walks += walks;
    stats.memoryReferences += cacheHits;
    stats.walkCacheHits += cacheHits;
    stats.nestedTlbHits += ntlbHits;
    // Every walk-cache hit of the kernel is an STC first-probe hit (Stc.hits counts those).
    (this.pwc as Stc).hits += cacheHits;
    this.stoppedAtMiss = stop !== STOP_NONE;
    return i;
  }

  /**
   * gPA frame → hPA frame through the host table (nested TLB first), or -1 when the host has not
   * backed it (an EPT violation; `violationFrame` says which). `row` and `target` say what is
   * being translated, for the recorder (target = guest table level, 0 = data).
   */
  private hostTranslate(guestFrame: number, rec: WalkRecorder | null, row: number, target: number): number {
    const stats = this.stats;
    const hostPage = guestFrame >>> this.hostShift;
    const offset = guestFrame - hostPage * this.hostPageFrames;
    const ntlb = this.ntlb;
    if (ntlb !== null) {
      const slot = ntlb.lookupForFill(VPID, hostPage);
      if (slot >= 0) {
        stats.nestedTlbHits++;
        if (rec !== null) rec.cacheHit("nested-tlb", 1, this.hostLevels, this.hostSteps, row, 0, `gPA ${hex(guestFrame * 4096)} (${target === 0 ? "data page" : `guest L${target} table`}) → hPA from the nested TLB`);
        return ntlb.values[slot] + offset;
      }
    }
    return this.hostWalk(guestFrame, hostPage, offset, rec, row, target);
  }

  /** The host walk of `hostTranslate` after a nested-TLB miss (fills the nested TLB); -1 at an unbacked gPA (`violationFrame`). */
  private hostWalk(guestFrame: number, hostPage: number, offset: number, rec: WalkRecorder | null, row: number, target: number): number {
    const stats = this.stats;
    const ntlb = this.ntlb;
    const pool = this.vm.hostPool;
    const pwc = this.pwc;
    const m = this.hostLevels;
    const leaf = this.hostLeafLevel;
    const probe = this.pwcProbes;
    let level = m;
    let table = this.hostRoot;
    let machine = pool.tableFrame[table];
    if (this.pwcIsStc) {
      const start = pwc.skipTo(1, VPID, guestFrame, m, leaf);
      if (start < m) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("stc", 1, start, m - start, row, 0, `the host L${start} table for this gPA prefix is cached; skip host L${m}..L${start + 1}`);
        level = start;
        table = pwc.outTable;
        machine = pwc.outFrame;
      }
    }
    for (;;) {
      const idx = L_levelIndex(guestFrame, level);
      const e = table * 512 + idx;
      const flags = pool.flags[e];
      const leaf = level === 1 || (flags & L_PTE_LARGE) !== 0; // as in walk(): no `child` load at a leaf
      const key = machine * 512 + idx;
      const present = (flags & L_PTE_PRESENT) !== 0;
      if (probe && present && pwc.probeEntry(key, leaf)) {
        stats.walkCacheHits++;
        if (rec !== null) rec.cacheHit("pwc", 1, level, 1, row, m - level, `host L${level} entry at hPA ${hex(key * 8)} is cached`);
      } else {
        stats.memoryReferences++;
        if (rec !== null) rec.reference(1, level, machine * 4096, idx, present ? pool.frames[e] * 4096 + flags : 0, key * 8, guestFrame * 4096 + (target === 0 ? rec.address % 4096 : 0), target, row, m - level);
      }
      if (!present) {
        // Lazy backing: the host has not backed this gPA yet. The walk ends in an EPT violation.
        this.violationFrame = guestFrame;
        return -1;
      }
      if (leaf) {
        const hostBase = pool.frames[e];
        if (ntlb !== null) ntlb.fillMissed(VPID, hostPage, hostBase, 0, 0);
        return hostBase + offset;
      }
      level--;
      table = pool.child[e];
      machine = pool.frames[e];
      if (this.pwcIsStc) pwc.fillTable(1, VPID, guestFrame, level, table, machine);
    }
  }

  /**
   * A guest fault goes to the guest, as natively; an EPT violation to the VMM, which backs the
   * host page and lets the guest retry (the walk restarts).
   */
  override handleFault(status: number, page: number, write: boolean, rec: WalkRecorder | null): void {
    if (status !== L_WALK_EPT_VIOLATION) {
      this.guestFault(page, write, rec);
      return;
    }
    const frame = this.violationFrame;
    const backed = this.vm.backOnViolation(frame);
    const stats = this.stats;
    const costs = this.costs;
    stats.trapEptViolation++;
    stats.cyclesVmm += costs.trapCycles + costs.eptViolationCycles + costs.hostPageZeroCycles * backed;
    if (rec !== null) rec.note(`EPT violation: the host has not backed gPA ${hex(frame * 4096)} yet; the VMM allocates and zeroes a ${this.ctx.hostPageSize} host page, maps it in the host table and resumes the guest; the walk restarts`);
  }

  coldWalk(): { references: number; formula: string } {
    const n = this.ctx.guestLevels - this.guestLeafLevel + 1;
    const m = this.hostSteps;
    const refs = (n + 1) * (m + 1) - 1;
    return { references: refs, formula: `(n+1)(m+1)−1 = (${n}+1)(${m}+1)−1 = ${refs}` };
  }
}
