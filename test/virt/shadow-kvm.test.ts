import { describe, expect, it } from "vitest";
import { Mmu } from "../../src/virt/mmu";
import type { ShadowPolicy } from "../../src/virt/translation-mode";
import { WRITE_FLOOD_THRESHOLD } from "../../src/virt/shadow-mode";
import { READ, WRITE } from "../../src/workloads/workload";
import { PTE_DIRTY } from "../../src/mmu/pte";

/**
 * Shadow paging under the slides' policy (every guest page-table write traps) and KVM's (only
 * shadowed tables trap; leaf tables go out of sync; write floods unshadow; dirty bits are
 * emulated), on small scripted scenarios whose trap counts are worked out by hand from the
 * guest's tables: each expectation says where its number comes from.
 */

/** First page of leaf table A (512-aligned: one guest L1 table), and of table B, its neighbour under the same L2 table. */
const A = 0x10000;
const B = A + 512;

/**
 * Process 1 maps `inA` pages of table A and `inB` of table B (stores), then a CR3 switch away and
 * back leaves every shadow table in sync and write-protected. Counters start at 0.
 */
function setup(policy: ShadowPolicy, inA = 20, inB = 5): Mmu {
  const mmu = new Mmu({ mode: "shadow", shadowPolicy: policy, guestMemory: "64 MiB", tlb: { entries: 64, ways: 4 } });
  for (let i = 0; i < inA; i++) mmu.accessPage(A + i, WRITE);
  for (let i = 0; i < inB; i++) mmu.accessPage(B + i, WRITE);
  const other = mmu.guest.createProcess();
  mmu.guest.switchTo(other);
  mmu.guest.switchTo(1);
  mmu.resetStats();
  return mmu;
}

describe("shadow paging, slides vs kvm: trap counts of scripted scenarios", () => {
  it("a fork: the slides trap every write; KVM traps once per parent leaf table and not at all in the child, which nothing shadows", () => {
    // The fork writes 25 parent leaves (write-protect) and, in the child, 25 leaves plus its
    // L4, L3 and two L2 entries (29): 54 writes. Then one address-space flush.
    const slides = setup("slides");
    slides.guest.fork(1);
    const s = slides.counts();
    expect(s.ptWrites).toBe(54);
    expect(s.traps).toMatchObject({ ptWrite: 54, tlbFlush: 1, unsync: 0, total: 55 });
    expect(s.directPtWrites).toBe(0);

    const kvm = setup("kvm");
    kvm.guest.fork(1);
    const k = kvm.counts();
    expect(k.ptWrites).toBe(54);
    // Tables A and B each unsync at their first write; the rest are plain stores; the flush
    // (a CR3 reload) resyncs the 25 write-protected entries.
    expect(k.traps).toMatchObject({ ptWrite: 0, unsync: 2, tlbFlush: 1, total: 3 });
    expect(k.directPtWrites).toBe(54);
    expect(k.resyncedEntries).toBe(25);
  });

  it("an exit of a child that never ran: the slides trap its whole teardown, KVM none of it", () => {
    for (const policy of ["slides", "kvm"] as const) {
      const mmu = setup(policy);
      const child = mmu.guest.fork(1);
      mmu.resetStats();
      mmu.guest.exit(child);
      const c = mmu.counts();
      // 25 leaves, two L2 entries, one L3 entry, one L4 entry; then a flush.
      expect(c.ptWrites, policy).toBe(29);
      expect(c.traps.total, policy).toBe(policy === "slides" ? 30 : 1);
      expect(c.traps.tlbFlush, policy).toBe(1);
    }
  });

  it(`an exit of a process that ran: write-flood detection unshadows its L2 table after ${WRITE_FLOOD_THRESHOLD} emulated writes`, () => {
    const run = (policy: ShadowPolicy) => {
      const mmu = setup(policy, 0, 0);
      const g = mmu.guest;
      const p = g.createProcess();
      g.switchTo(p);
      // 6 leaf tables under one L2 table, 4 pages each.
      for (let t = 0; t < 6; t++) for (let i = 0; i < 4; i++) mmu.accessPage(A + t * 512 + i, WRITE);
      g.switchTo(1);
      g.switchTo(p); // its shadow tables: in sync, write-protected
      g.switchTo(1);
      mmu.resetStats();
      g.exit(p);
      return mmu.counts();
    };
    const s = run("slides");
    // 24 leaves + 6 L2 entries + the L3 and L4 entries: 32 writes, all trapped, and the flush.
    expect(s.ptWrites).toBe(32);
    expect(s.traps).toMatchObject({ ptWrite: 32, tlbFlush: 1, total: 33 });
    const k = run("kvm");
    expect(k.ptWrites).toBe(32);
    // Leaf tables 0, 1, 2 each unsync at their first write; the L2 entries that free them are
    // emulated, and the third unshadows the L2 table (and leaf tables 3..5 under it), so tables
    // 3..5 and their L2 entries are plain stores; the L3 and L4 entries are emulated.
    expect(k.traps).toMatchObject({ unsync: 3, ptWrite: 5, tlbFlush: 1, total: 9 });
    expect(k.unshadowedTables).toBe(1);
    expect(k.directPtWrites).toBe(32 - 5);
  });

  it("an mprotect of N pages: the slides trap each write and each INVLPG; KVM one unsync per table, and resyncs each entry at its INVLPG", () => {
    for (const n of [1, 20]) {
      const slides = setup("slides");
      expect(slides.guest.protectRange(1, A, n, false)).toBe(n);
      expect(slides.counts().traps, `slides, ${n} pages`).toMatchObject({ ptWrite: n, tlbFlush: n, total: 2 * n });
      const kvm = setup("kvm");
      kvm.guest.protectRange(1, A, n, false);
      const k = kvm.counts();
      expect(k.traps, `kvm, ${n} pages`).toMatchObject({ ptWrite: 0, unsync: 1, tlbFlush: n, total: 1 + n });
      expect(k.resyncedEntries).toBe(n);
    }
    // Past 33 pages the guest flushes the whole address space once: 25 pages change in 600.
    const slides = setup("slides");
    slides.guest.protectRange(1, A, 600, false);
    expect(slides.counts().traps).toMatchObject({ ptWrite: 25, tlbFlush: 1, total: 26 });
    const kvm = setup("kvm");
    kvm.guest.protectRange(1, A, 600, false);
    expect(kvm.counts().traps).toMatchObject({ ptWrite: 0, unsync: 2, tlbFlush: 1, total: 3 });
    expect(kvm.counts().resyncedEntries).toBe(25);
    // The read-only pages are read-only through the shadow: a store faults to the guest.
    const before = kvm.counts().guestPageFaults;
    kvm.accessPage(A + 3, WRITE);
    expect(kvm.counts().guestPageFaults).toBe(before + 1);
  });

  it("an unmap: KVM unsyncs the table once, and each INVLPG resyncs its entry", () => {
    const mmu = setup("kvm");
    mmu.guest.unmapPage(1, A);
    expect(mmu.counts().traps).toMatchObject({ unsync: 1, tlbFlush: 1, total: 2 });
    mmu.guest.unmapPage(1, A + 1);
    expect(mmu.counts().traps).toMatchObject({ unsync: 1, tlbFlush: 2, total: 3 });
    expect(mmu.counts().resyncedEntries).toBe(2);
    // The unmapped page is gone from the shadow too: touching it demand-pages it afresh.
    mmu.accessPage(A, READ);
    expect(mmu.counts().guestPageFaults).toBe(1);
  });

  it("a demand fault in an out-of-sync table costs a hidden fault at the retried access (the guest's store did not reach the shadow)", () => {
    const slides = setup("slides");
    const kvm = setup("kvm");
    for (const mmu of [slides, kvm]) for (let i = 20; i < 30; i++) mmu.accessPage(A + i, READ);
    // The slides' VMM fills the entry while emulating the guest's store: no hidden fault.
    expect(slides.counts()).toMatchObject({ guestPageFaults: 10, hiddenFaults: 0 });
    expect(slides.counts().traps).toMatchObject({ ptWrite: 10, pageFault: 10 });
    expect(kvm.counts()).toMatchObject({ guestPageFaults: 10, hiddenFaults: 10 });
    expect(kvm.counts().traps).toMatchObject({ ptWrite: 0, unsync: 1, pageFault: 10, hiddenFault: 10 });
  });

  it("dirty-bit emulation: the first store after a read fill takes a hidden fault, the second none; the guest's dirty bit is set (not under the slides)", () => {
    for (const policy of ["slides", "kvm"] as const) {
      const mmu = new Mmu({ mode: "shadow", shadowPolicy: policy });
      mmu.accessPage(A, READ); // demand paging on a read: the guest entry is clean
      mmu.accessPage(A + 1, READ);
      const table = mmu.guest.tableOf(1);
      table.lookup(A);
      expect(table.lastFlags & PTE_DIRTY).toBe(0);
      mmu.resetStats();
      const first = mmu.access(A * 4096, "write");
      table.lookup(A);
      // The slides' shadow entry was writable from the read fill: the store never reaches the
      // VMM, and the guest's dirty bit stays clear (a page it would not know to write back).
      expect(table.lastFlags & PTE_DIRTY, policy).toBe(policy === "kvm" ? PTE_DIRTY : 0);
      if (policy === "kvm") {
        expect(first.traps).toMatchObject({ dirtyBit: 1, total: 1 });
        expect(first.hiddenFaults).toBe(1);
        expect(first.guestPageFaults).toBe(0);
        expect(first.walk?.explain()).toMatch(/hidden fault \(dirty bit\)/);
      } else {
        // The slides copy the writable bit at fill time: the store hits the TLB.
        expect(first.tlbHit).toBe(true);
      }
      mmu.flushTlb();
      const second = mmu.access(A * 4096 + 8, "write");
      expect(second.traps.total, policy).toBe(0);
      expect(second.machineAddress).toBe(first.machineAddress + 8);
      // A store to a page never read first fills writable at once.
      expect(mmu.access((A + 2) * 4096, "write").traps.dirtyBit, policy).toBe(0);
    }
  });

  it("only shadowed tables are write-protected: a process whose shadow was evicted writes its tables freely until it runs again", () => {
    const mmu = new Mmu({ mode: "shadow", shadowPolicy: "kvm", shadowCacheSize: 1, guestMemory: "64 MiB" });
    for (let i = 0; i < 4; i++) mmu.accessPage(A + i, WRITE);
    const other = mmu.guest.createProcess();
    mmu.guest.switchTo(other); // evicts process 1's shadow (cache of 1)
    mmu.resetStats();
    mmu.guest.unmapPage(1, A); // reclaim-style unmap in a process that is not running
    const c = mmu.counts();
    expect(c.traps).toMatchObject({ ptWrite: 0, unsync: 0, tlbFlush: 1, total: 1 });
    expect(c.directPtWrites).toBe(1);
  });

  it("rejects an unknown policy, naming it", () => {
    expect(() => new Mmu({ mode: "shadow", shadowPolicy: "vmware" as never })).toThrow("shadowPolicy: expected slides or kvm (got \"vmware\")");
    expect(new Mmu({ mode: "shadow" }).settings.shadowPolicy).toBe("kvm");
  });
});
