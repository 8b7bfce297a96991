/**
 * Shadow page tables.
 *
 *   guest V→P table (write-protected by the VMM)      VMM P→M map
 *              \                                      /
 *               └──────── VMM combines ──────────────┘
 *                              ▼
 *                  shadow V→M table  ◀── the MMU walks this (one reference per level)
 *
 * Common to both policies:
 * - Shadows fill lazily. When the MMU finds no shadow entry it traps; if the guest table maps
 *   the page it is a hidden fault (the guest never sees it) and the VMM fills the shadow entry,
 *   otherwise it is a real guest fault that the VMM reflects to the guest.
 * - MOV CR3 traps: the VMM switches to the cached shadow of the new address space, or starts an
 *   empty one (refilled by hidden faults). At most `shadowCacheSize` shadows are kept.
 * - INVLPG traps too.
 * - Shadow tables cost machine memory: `shadowPages()` now, `peakShadowPages()` at most.
 *
 * `shadowPolicy: "slides"`, the slides' model:
 * - Every guest page-table write traps (every guest table page is write-protected, shadowed or
 *   not); the VMM emulates it and fixes the shadow: a changed leaf is updated in place when its
 *   shadow table exists, a removed table entry drops the shadow subtree below it.
 * - Accessed/dirty bits are copied to the guest table at fill time without extra traps.
 *
 * `shadowPolicy: "kvm"` (the default), what a real shadow MMU does; KVM's (linux
 * arch/x86/kvm/mmu/mmu.c, paging_tmpl.h) is the public reference:
 * - Only shadowed guest tables are write-protected. A guest table is shadowed while a cached
 *   shadow holds a table at its place (KVM's shadow page for that gfn). Writes to any other
 *   guest table, such as a fork child's new tables, are plain stores (`directPtWrites`).
 * - Leaf tables go out of sync. The first write to a shadowed, in-sync leaf table traps
 *   (`unsync`); instead of emulating it the VMM makes the table writable, so that store and the
 *   following ones are plain stores that leave the shadow stale (each stale entry is marked).
 *   INVLPG resyncs the entry it names; a CR3 switch or flush of the address space resyncs all
 *   its out-of-sync tables (`resyncedEntries`, `resyncEntryCycles` each) and write-protects them
 *   again. A new guest mapping in an out-of-sync table costs a hidden fault at its first access.
 *   Only 4 KiB leaf tables go out of sync, as in KVM (large-page leaf tables are emulated).
 * - Writes to other shadowed tables (non-leaf tables, large-page leaf tables) trap and are
 *   emulated; a changed leaf's shadow entry is dropped rather than updated (the next access
 *   refills it with a hidden fault), as KVM's kvm_mmu_track_write zaps it.
 * - Write-flood detection. A shadowed non-leaf table (or large-page leaf table) whose guest
 *   table takes 3 emulated writes with no hidden fault walking through it in between is
 *   unshadowed: its shadow and everything below is dropped (`unshadowedTables`), so later
 *   writes to it are plain stores until a hidden fault shadows it again. So a fork or exit stops
 *   trapping on a table after 3 writes. The threshold is KVM's (detect_write_flooding). Root
 *   tables are never unshadowed (KVM would zap and reload the root; the model keeps it).
 * - Dirty-bit emulation. An entry filled on a read from a writable guest entry whose dirty bit
 *   is clear is shadowed read-only; the first store takes a hidden fault (`dirtyBit`) that sets
 *   the guest's dirty bit and makes the shadow entry writable (KVM's protect_clean_gpte).
 *
 * A shadow leaf is the smaller of the guest and host page size: a 2M guest page on 4K host
 * pages is shadowed by 512 4K entries.
 */
import { leafLevelOf, levelIndex, smallerPageSize } from "../mmu/page-size";
import { PageTablePool } from "../mmu/page-table-pool";
import { PTE_ACCESSED, PTE_DIRTY, PTE_PRESENT, PTE_USER, PTE_WRITABLE, hex } from "../mmu/pte";
import { alignDown, RadixPageTable } from "../mmu/radix-page-table";
import type { WalkRecorder } from "../mmu/walk-recorder";
import { ModeBase, WALK_NOT_PRESENT, type ModeContext } from "./translation-mode";

/**
 * A software bit of shadow entries (ignored by the walker, as KVM keeps state in ignored spte
 * bits): the guest entry changed since the shadow entry was last synced.
 */
const SPTE_STALE = 0x08;
/**
 * Emulated writes with no walk through a table, after which KVM unshadows it (detect_write_flooding).
 * @internal
 */
export const WRITE_FLOOD_THRESHOLD = 3;

/**
 * @internal
 * @example
 * const mmu = new Mmu({ mode: "shadow", shadowCacheSize: 4, shadowPolicy: "kvm" });
 */
export class ShadowMode extends ModeBase {
  readonly name = "shadow" as const;
  /** Shadow table pages of every address space (at machine frames the VMM owns). */
  readonly shadowPool = new PageTablePool(64);
  /** Address space → its shadow; Map order is least recently switched-to first. */
  private readonly shadows = new Map<number, RadixPageTable>();
  private shadowRoot = -1;
  private readonly shadowLeafLevel: number;
  private readonly kvm: boolean;
  /** KVM policy with 4 KiB guest pages: leaf shadow tables can go out of sync. */
  private readonly canUnsync: boolean;
  // KVM policy, per shadow table id (reset when a shadow table is created): out of sync, listed
  // in `unsyncList`, emulated writes since the last walk through it, owner, first page covered.
  private spUnsync = new Uint8Array(64);
  private spListed = new Uint8Array(64);
  private spFlood = new Uint8Array(64);
  private spOwner = new Int32Array(64);
  private spBase = new Float64Array(64);
  /** Shadow tables that went out of sync (some may have been dropped since: checked on use). */
  private readonly unsyncList: number[] = [];

  constructor(ctx: ModeContext) {
    const leaf = leafLevelOf(smallerPageSize(ctx.guestPageSize, ctx.hostPageSize));
    super(ctx, leaf);
    this.shadowLeafLevel = leaf;
    this.kvm = ctx.shadowPolicy === "kvm";
    this.canUnsync = this.kvm && this.guestLeafLevel === 1;
  }

  walk(page: number, write: boolean, rec: WalkRecorder | null): number {
    const status = this.walk1d(this.shadowPool, this.shadowRoot, this.ctx.guestLevels, this.shadowLeafLevel, page, write, false, rec);
    this.out.guestFrame = -1;
    return status;
  }

  override handleFault(status: number, page: number, write: boolean, rec: WalkRecorder | null): void {
    const table = this.guest.tableOf(this.asid);
    const guestFrame = table.lookup(page);
    const guestFlags = table.lastFlags;
    const allowed = guestFrame >= 0 && (!write || (guestFlags & PTE_WRITABLE) !== 0);
    // The slides' VMM only fills missing entries; KVM also fixes an entry the guest allows but the
    // shadow does not (a clean page shadowed read-only, or a stale entry).
    if (allowed && (status === WALK_NOT_PRESENT || this.kvm)) {
      const dirtyBit = status !== WALK_NOT_PRESENT && (guestFlags & PTE_DIRTY) === 0;
      this.stats.hiddenFaults++;
      if (dirtyBit) this.stats.trapDirtyBit++;
      else this.stats.trapHiddenFault++;
      this.stats.cyclesVmm += this.costs.trapCycles + this.costs.hiddenFaultCycles;
      if (rec !== null) {
        rec.note(dirtyBit
          ? `hidden fault (dirty bit): the shadow maps ${hex(page * 4096)} read-only until the first store; the VMM sets the dirty bit in the guest entry, makes the shadow entry writable and resumes the guest`
          : `hidden fault: the guest maps ${hex(page * 4096)} but the shadow does not yet; the VMM walks the guest table, fills the shadow entry and resumes the guest`);
      }
      this.fillShadow(page, guestFrame, guestFlags, write, table.lastTable * 512 + table.lastIndex, status !== WALK_NOT_PRESENT);
      return;
    }
    this.stats.trapPageFault++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    if (rec !== null) rec.note("the fault exits to the VMM, which finds no guest mapping (or a read-only one) and reflects it to the guest");
    this.guestFault(page, write, rec);
  }

  override pteWrite(asid: number, table: number, index: number, level: number, page: number, oldFlags: number): void {
    if (this.kvm) {
      this.pteWriteKvm(asid, table, index, level, page, oldFlags);
      return;
    }
    this.stats.ptWrites++;
    this.stats.trapPtWrite++;
    this.stats.cyclesVmm += this.costs.trapCycles + this.costs.shadowUpdateCycles;
    const shadow = this.shadows.get(asid);
    if (shadow === undefined) return;
    this.emulateWrite(shadow, asid, table, index, level, page, oldFlags);
  }

  override invalidatePage(asid: number, page: number): void {
    this.stats.trapTlbFlush++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    if (this.canUnsync) this.resyncEntry(asid, page);
    this.flushTlbRange(asid, page, this.guestLeafLevel);
  }

  override flushAddressSpace(asid: number): void {
    this.stats.trapTlbFlush++;
    this.stats.cyclesVmm += this.costs.trapCycles;
    // A full flush reloads CR3: KVM syncs the address space's out-of-sync tables then.
    if (this.canUnsync) this.resyncAll(asid);
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
  }

  override switchAddressSpace(asid: number): void {
    this.stats.cr3Switches++;
    this.stats.trapCr3Switch++;
    this.stats.cyclesVmm += this.costs.trapCycles + this.costs.shadowSwitchCycles;
    this.setCurrent(asid);
    let shadow = this.shadows.get(asid);
    if (shadow !== undefined) {
      this.shadows.delete(asid);
    } else {
      shadow = new RadixPageTable(this.shadowPool, this.ctx.guestLevels, this.vm);
      if (this.kvm) this.resetTable(shadow.root, asid, 0, this.ctx.guestLevels);
      while (this.shadows.size >= this.ctx.shadowCacheSize) {
        const [oldest, table] = this.shadows.entries().next().value as [number, RadixPageTable];
        this.dropShadow(oldest, table);
      }
    }
    this.shadows.set(asid, shadow);
    this.shadowRoot = shadow.root;
    if (this.canUnsync) this.resyncAll(asid);
  }

  override destroyAddressSpace(asid: number): void {
    super.destroyAddressSpace(asid);
    const shadow = this.shadows.get(asid);
    if (shadow !== undefined) this.dropShadow(asid, shadow);
  }

  override shadowPages(): number {
    return this.shadowPool.liveTables;
  }

  override peakShadowPages(): number {
    return this.shadowPool.peakTables;
  }

  coldWalk(): { references: number; formula: string } {
    const n = this.ctx.guestLevels - this.shadowLeafLevel + 1;
    return { references: n, formula: `${n} (one reference per shadow level; the shadow maps gVA → hPA directly)` };
  }

  /** KVM policy: a guest page-table write (see the top of this file). */
  private pteWriteKvm(asid: number, table: number, index: number, level: number, page: number, oldFlags: number): void {
    const stats = this.stats;
    const costs = this.costs;
    stats.ptWrites++;
    const shadow = this.shadows.get(asid);
    const slot = shadow === undefined ? -1 : shadow.entryAt(page, level);
    if (slot < 0) {
      // No shadow table for this guest table: it is not write-protected.
      stats.directPtWrites++;
      stats.cyclesGuest += costs.pteAccessCycles;
      return;
    }
    const sp = (shadow as RadixPageTable).lastTable;
    if (level === 1 && this.canUnsync) {
      if (this.spUnsync[sp] === 0) {
        stats.trapUnsync++;
        stats.cyclesVmm += costs.trapCycles + costs.unsyncCycles;
        this.spUnsync[sp] = 1;
        if (this.spListed[sp] === 0) {
          this.spListed[sp] = 1;
          this.unsyncList.push(sp);
        }
      }
      stats.directPtWrites++;
      stats.cyclesGuest += costs.pteAccessCycles;
      this.shadowPool.flags[slot] |= SPTE_STALE;
      return;
    }
    stats.trapPtWrite++;
    stats.cyclesVmm += costs.trapCycles + costs.shadowUpdateCycles;
    this.emulateWrite(shadow as RadixPageTable, asid, table, index, level, page, oldFlags);
    if (level > 1 && level < this.ctx.guestLevels && ++this.spFlood[sp] >= WRITE_FLOOD_THRESHOLD) {
      // Write flooding: the guest no longer uses this as a page table (fork, exit). Unshadow it.
      if ((shadow as RadixPageTable).removeAt(page, level + 1)) {
        stats.unshadowedTables++;
        stats.cyclesVmm += costs.unshadowCycles;
        this.pwc.flushAll();
        this.tlb.flushAsid(asid);
      }
    }
  }

  /** The VMM emulates a trapped guest page-table write: fix the shadow to match. */
  private emulateWrite(shadow: RadixPageTable, asid: number, table: number, index: number, level: number, page: number, oldFlags: number): void {
    const pool = this.guest.pool;
    const e = table * 512 + index;
    if (level === this.guestLeafLevel) {
      const flags = pool.flags[e];
      if (this.shadowLeafLevel === level) {
        // Same granule: keep the shadow entry in step with the guest entry, if its table exists.
        // KVM drops the entry instead (kvm_mmu_track_write zaps it): the next access takes a
        // hidden fault, whose walk tells write-flood detection the table is still in use.
        const slot = shadow.entryAt(page, level);
        if (slot >= 0) {
          const present = (this.shadowPool.flags[slot] & PTE_PRESENT) !== 0;
          if (flags & PTE_PRESENT && !this.kvm) shadow.map(page, level, this.vm.p2m(pool.frames[e]), this.shadowFlags(flags, false));
          else if (present) shadow.unmap(page);
          if (present) this.pwc.invalidateEntry(this.shadowPool.tableFrame[shadow.lastTable] * 512 + shadow.lastIndex);
        }
      } else {
        // Splintered: drop the shadow table of pieces; hidden faults refill it.
        shadow.removeAt(page, level);
        this.pwc.flushAll();
      }
      this.flushTlbRange(asid, page, level);
    } else if (oldFlags & PTE_PRESENT) {
      if (shadow.removeAt(page, level)) {
        this.pwc.flushAll();
        this.tlb.flushAsid(asid);
      }
    }
  }

  /** Shadow entry flags for a guest entry: KVM keeps a clean page read-only until its first store. */
  private shadowFlags(guestFlags: number, write: boolean): number {
    const flags = guestFlags & (PTE_WRITABLE | PTE_USER);
    return this.kvm && !write && (guestFlags & PTE_DIRTY) === 0 ? flags & ~PTE_WRITABLE : flags;
  }

  private fillShadow(page: number, guestFrame: number, guestFlags: number, write: boolean, guestSlot: number, wasPresent: boolean): void {
    const shadow = this.shadows.get(this.asid) as RadixPageTable;
    const leaf = this.shadowLeafLevel;
    const base = alignDown(page, leaf);
    const guestBase = guestFrame - (page - base);
    const live = this.shadowPool.liveTables;
    shadow.map(base, leaf, this.vm.p2m(guestBase), this.shadowFlags(guestFlags, write));
    if (this.kvm) {
      this.noteFaultWalk(shadow, base, this.shadowPool.liveTables - live);
      if (wasPresent) {
        // A read-only entry became writable: drop any cached copy.
        shadow.entryAt(base, leaf);
        this.pwc.invalidateEntry(this.shadowPool.tableFrame[shadow.lastTable] * 512 + shadow.lastIndex);
      }
    }
    this.guest.pool.flags[guestSlot] = guestFlags | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
  }

  /**
   * KVM policy: a hidden fault walked the shadow down to `page`'s leaf, creating the deepest
   * `created` tables: reset their state, and restart the write-flood count of every table on
   * the way (they are in use as page tables).
   */
  private noteFaultWalk(shadow: RadixPageTable, page: number, created: number): void {
    const pool = this.shadowPool;
    const leaf = this.shadowLeafLevel;
    let table = shadow.root;
    for (let level = this.ctx.guestLevels; level >= leaf; level--) {
      if (level < leaf + created) this.resetTable(table, this.asid, page, level);
      this.spFlood[table] = 0;
      if (level > leaf) table = pool.child[table * 512 + levelIndex(page, level)];
    }
  }

  /** KVM policy: a new shadow table `id` holding entries of `level` on `page`'s path, in `asid`'s shadow. */
  private resetTable(id: number, asid: number, page: number, level: number): void {
    if (id >= this.spUnsync.length) this.grow(id);
    this.spUnsync[id] = 0;
    this.spFlood[id] = 0;
    this.spOwner[id] = asid;
    this.spBase[id] = level >= this.ctx.guestLevels ? 0 : alignDown(page, level + 1);
  }

  private grow(id: number): void {
    const n = Math.max(2 * this.spUnsync.length, id + 1);
    const grown = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.spUnsync = grown(this.spUnsync, (k) => new Uint8Array(k));
    this.spListed = grown(this.spListed, (k) => new Uint8Array(k));
    this.spFlood = grown(this.spFlood, (k) => new Uint8Array(k));
    this.spOwner = grown(this.spOwner, (k) => new Int32Array(k));
    this.spBase = grown(this.spBase, (k) => new Float64Array(k));
  }

  /** KVM policy, INVLPG: resync the shadow entry of `page` if its table is out of sync and it is stale. */
  private resyncEntry(asid: number, page: number): void {
    const shadow = this.shadows.get(asid);
    if (shadow === undefined) return;
    const slot = shadow.entryAt(page, 1);
    if (slot < 0) return;
    const sp = shadow.lastTable;
    if (this.spUnsync[sp] === 0 || (this.shadowPool.flags[slot] & SPTE_STALE) === 0) return;
    this.syncEntry(shadow, asid, sp, slot - sp * 512, page);
  }

  /** KVM policy, CR3 switch or flush: resync every out-of-sync table of `asid`; they are write-protected again. */
  private resyncAll(asid: number): void {
    const list = this.unsyncList;
    const shadow = this.shadows.get(asid);
    let kept = 0;
    for (let r = 0; r < list.length; r++) {
      const sp = list[r];
      if (this.spUnsync[sp] === 1 && this.spOwner[sp] !== asid) {
        list[kept++] = sp;
        continue;
      }
      // Still this address space's table at its place (it may have been dropped since)?
      if (this.spUnsync[sp] === 1 && shadow !== undefined && shadow.entryAt(this.spBase[sp], 1) >= 0 && shadow.lastTable === sp) {
        const flags = this.shadowPool.flags;
        for (let i = 0; i < 512; i++) if (flags[sp * 512 + i] & SPTE_STALE) this.syncEntry(shadow, asid, sp, i, this.spBase[sp] + i);
      }
      this.spUnsync[sp] = 0;
      this.spListed[sp] = 0;
    }
    list.length = kept;
  }

  /** Forget the out-of-sync tables of an address space whose shadow is gone. */
  private forgetUnsync(asid: number): void {
    const list = this.unsyncList;
    let kept = 0;
    for (let r = 0; r < list.length; r++) {
      const sp = list[r];
      if (this.spUnsync[sp] === 1 && this.spOwner[sp] !== asid) list[kept++] = sp;
      else {
        this.spUnsync[sp] = 0;
        this.spListed[sp] = 0;
      }
    }
    list.length = kept;
  }

  /** Bring shadow entry `index` of out-of-sync table `sp` (mapping `page`) up to date with the guest entry. */
  private syncEntry(shadow: RadixPageTable, asid: number, sp: number, index: number, page: number): void {
    const guestPool = this.guest.pool;
    const slot = sp * 512 + index;
    const before = this.shadowPool.flags[slot];
    const g = this.guest.tableOf(asid).entryAt(page, 1);
    const guestFlags = g < 0 ? 0 : guestPool.flags[g];
    if (guestFlags & PTE_PRESENT) shadow.map(page, 1, this.vm.p2m(guestPool.frames[g]), this.shadowFlags(guestFlags, false));
    else if (before & PTE_PRESENT) shadow.unmap(page);
    else this.shadowPool.flags[slot] = 0;
    if (before & PTE_PRESENT) {
      this.pwc.invalidateEntry(this.shadowPool.tableFrame[sp] * 512 + index);
      this.flushTlbRange(asid, page, 1);
    }
    this.stats.resyncedEntries++;
    this.stats.cyclesVmm += this.costs.resyncEntryCycles;
  }

  private dropShadow(asid: number, shadow: RadixPageTable): void {
    shadow.destroy();
    this.shadows.delete(asid);
    if (this.canUnsync) this.forgetUnsync(asid);
    this.tlb.flushAsid(asid);
    this.pwc.flushTag(0, asid);
    this.pwc.flushAll();
  }
}
