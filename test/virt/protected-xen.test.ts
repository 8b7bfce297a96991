import { describe, expect, it } from "vitest";
import { Mmu } from "../../src/virt/mmu";
import type { PvPolicy } from "../../src/virt/translation-mode";
import { MULTICALL_BATCH } from "../../src/virt/protected-mode";
import { READ, WRITE } from "../../src/workloads/workload";

/**
 * Protected (paravirtual) paging under the slides' policy (every page-table write traps, and
 * every read with `trapReads`) and Xen PV's (reads through the M→P table; updates batched into
 * multicalls in lazy-MMU sections; unpinned tables written directly, validated at the pin), on
 * scripted scenarios whose trap counts are worked out by hand from the guest's tables.
 */

/** First page of leaf table A (one guest L1 table), and of table B, its neighbour under the same L2 table. */
const A = 0x10000;
const B = A + 512;

/** Process 1 maps `inA` pages of table A and `inB` of table B (stores). Counters start at 0. */
function setup(policy: PvPolicy, inA = 40, inB = 5): Mmu {
  const mmu = new Mmu({ mode: "protected", pvPolicy: policy, guestMemory: "64 MiB", tlb: { entries: 64, ways: 4 } });
  for (let i = 0; i < inA; i++) mmu.accessPage(A + i, WRITE);
  for (let i = 0; i < inB; i++) mmu.accessPage(B + i, WRITE);
  mmu.resetStats();
  return mmu;
}

describe("protected paging, slides vs xen: trap counts of scripted scenarios", () => {
  it(`a fork: the slides trap every read and write; Xen sends the parent's ${MULTICALL_BATCH}-update batches and writes the unpinned child directly`, () => {
    // 45 leaves: the fork reads the parent's L4 entry, L3 entry, two L2 entries and 45 leaves
    // (49), and each of the child's 45 maps reads 3 entries on its way down (135): 184 reads.
    // It writes 45 parent leaves (write-protect) and 45 child leaves plus 4 child table entries.
    const slides = setup("slides");
    slides.guest.fork(1);
    const s = slides.counts();
    expect([s.ptReads, s.ptWrites]).toEqual([184, 94]);
    expect(s.traps).toMatchObject({ ptRead: 184, ptWrite: 94, tlbFlush: 1, total: 279 });

    const xen = setup("xen");
    const child = xen.guest.fork(1);
    const x = xen.counts();
    expect([x.ptReads, x.ptWrites]).toEqual([184, 94]);
    // 45 queued updates: a multicall at the 32nd and one for the 13 left when the section ends.
    expect(x.traps).toMatchObject({ ptRead: 0, ptWrite: 0, multicall: 2, pin: 0, tlbFlush: 1, total: 3 });
    expect(x.batchedPtWrites).toBe(45);
    expect(x.directPtWrites).toBe(49);
    // The child is pinned before it first runs: one hypercall validates its 49 present entries.
    xen.resetStats();
    xen.guest.switchTo(child);
    expect(xen.counts().traps).toMatchObject({ pin: 1, cr3Switch: 1, total: 2 });
    expect(xen.counts().validatedEntries).toBe(49);
    // Pinned only once: switching back and forth validates nothing more.
    xen.guest.switchTo(1);
    xen.guest.switchTo(child);
    expect(xen.counts().traps.pin).toBe(1);
  });

  it("an exit: the slides trap the whole teardown; Xen unpins (one hypercall) and tears down with plain stores", () => {
    for (const policy of ["slides", "xen"] as const) {
      const mmu = setup(policy);
      const child = mmu.guest.fork(1);
      mmu.guest.switchTo(child);
      mmu.guest.switchTo(1);
      mmu.resetStats();
      mmu.guest.exit(child);
      const c = mmu.counts();
      // 45 leaves, two L2 entries, one L3 entry, one L4 entry; then a flush.
      expect(c.ptWrites, policy).toBe(49);
      if (policy === "slides") expect(c.traps).toMatchObject({ ptWrite: 49, tlbFlush: 1, total: 50 });
      else expect(c.traps).toMatchObject({ ptWrite: 0, multicall: 0, pin: 1, tlbFlush: 1, total: 2 });
      expect(c.directPtWrites, policy).toBe(policy === "xen" ? 49 : 0);
    }
  });

  it("an exec: Xen unpins, tears down directly, and pins the empty root again for the new image", () => {
    const mmu = setup("xen");
    const child = mmu.guest.fork(1);
    mmu.guest.switchTo(child);
    mmu.resetStats();
    mmu.guest.exec(child);
    expect(mmu.counts().traps).toMatchObject({ pin: 2, tlbFlush: 1, ptWrite: 0, multicall: 0, total: 3 });
    expect(mmu.counts().validatedEntries).toBe(0);
    // The new image's first page: a pinned table again, so a demand fault's writes are hypercalls
    // (new L3, L2 and L1 tables and the leaf: 4), one each outside a lazy-MMU section.
    mmu.resetStats();
    mmu.accessPage(A, WRITE);
    expect(mmu.counts().traps).toMatchObject({ ptWrite: 4, pageFault: 1, total: 5 });
  });

  it("an mprotect of N pages: the slides trap each write and each of its 4 reads; Xen one multicall per 32 updates", () => {
    for (const n of [1, 20, 32, 33]) {
      const slides = setup("slides");
      expect(slides.guest.protectRange(1, A, n, false)).toBe(n);
      // INVLPG rides on the update hypercall: no trap of its own, up to 33 pages.
      expect(slides.counts().traps, `slides, ${n} pages`).toMatchObject({ ptRead: 4 * n, ptWrite: n, tlbFlush: 0, total: 5 * n });
      const xen = setup("xen");
      xen.guest.protectRange(1, A, n, false);
      expect(xen.counts().traps, `xen, ${n} pages`).toMatchObject({ ptRead: 0, ptWrite: 0, multicall: Math.ceil(n / MULTICALL_BATCH), tlbFlush: 0 });
      expect(xen.counts().batchedPtWrites).toBe(n);
    }
    // 40 pages: past 33 the guest flushes the address space (one hypercall).
    const slides = setup("slides");
    slides.guest.protectRange(1, A, 40, false);
    expect(slides.counts().traps).toMatchObject({ ptRead: 160, ptWrite: 40, tlbFlush: 1, total: 201 });
    const xen = setup("xen");
    xen.guest.protectRange(1, A, 40, false);
    expect(xen.counts().traps).toMatchObject({ multicall: 2, tlbFlush: 1, total: 3 });
    // The protection holds: a store faults to the guest.
    xen.accessPage(A + 3, WRITE);
    expect(xen.counts().guestPageFaults).toBe(1);
  });

  it("single updates outside a lazy-MMU section are one hypercall each; an unmap is a one-update multicall", () => {
    const xen = setup("xen");
    xen.accessPage(A + 100, READ); // demand fault in table A: one leaf write
    expect(xen.counts().traps).toMatchObject({ ptWrite: 1, pageFault: 1, multicall: 0, total: 2 });
    xen.resetStats();
    xen.guest.unmapPage(1, A);
    expect(xen.counts().traps).toMatchObject({ ptWrite: 0, multicall: 1, total: 1 });
    expect(xen.counts().batchedPtWrites).toBe(1);
  });

  it("reads never trap under Xen, and trapReads: true is refused there, naming it", () => {
    expect(() => new Mmu({ mode: "protected", trapReads: true })).toThrow(/^trapReads: Xen PV guests read their page tables through the M→P table/);
    expect(new Mmu({ mode: "protected", trapReads: false }).settings).toMatchObject({ pvPolicy: "xen", trapReads: false });
    expect(new Mmu({ mode: "protected", pvPolicy: "slides" }).settings.trapReads).toBe(true);
    expect(() => new Mmu({ mode: "protected", pvPolicy: "kvm" as never })).toThrow("pvPolicy: expected slides or xen (got \"kvm\")");
  });
});
