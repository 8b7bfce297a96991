import { describe, expect, it, vi } from "vitest";
import { Mmu, type MmuOptions } from "../../src/virt/mmu";
import { NestedMode } from "../../src/virt/nested-mode";
import { DEFAULT_TRANSLATION_COSTS as C } from "../../src/mmu/cost-model";
import { framesPerPage, levelIndex, type PageSize } from "../../src/mmu/page-size";
import { READ, WRITE } from "../../src/workloads/workload";

/**
 * Nested paging backs guest-physical memory lazily by default: the first touch of a gPA whose
 * host page is not backed takes an EPT/NPT violation (its own trap kind), and the host page is
 * backed from then on.
 */

const ADDRESS = 0x7f1234567abc;

/** The distinct host pages a walk for `page` needs: the guest tables on its path and the data frame. */
function hostPagesOfWalk(mmu: Mmu, page: number, hostPageSize: PageSize): Set<number> {
  const pool = mmu.guest.pool;
  const frames: number[] = [];
  let table = mmu.guest.tableOf(mmu.guest.current).root;
  for (let level = mmu.settings.guestLevels; level >= 1 && table >= 0; level--) {
    frames.push(pool.tableFrame[table]);
    table = pool.child[table * 512 + levelIndex(page, level)];
  }
  frames.push(mmu.guest.tableOf(mmu.guest.current).lookup(page));
  return new Set(frames.map((f) => Math.floor(f / framesPerPage(hostPageSize))));
}

describe("lazy host backing in nested paging", () => {
  it("the first touch of a page takes one EPT violation, the second touch none", () => {
    const mmu = new Mmu({ mode: "nested" });
    expect(mmu.settings.hostBacking).toBe("lazy");
    mmu.access(ADDRESS, "read"); // maps the page tables of this region (and backs them)
    const first = mmu.access(ADDRESS + 4096, "write"); // a new data page in the same leaf table
    expect(first.guestPageFaults).toBe(1);
    expect(first.traps).toMatchObject({ eptViolation: 1, total: 1 });
    expect(first.counts.cyclesVmm).toBe(C.trapCycles + C.eptViolationCycles + C.hostPageZeroCycles);
    expect(first.walk?.explain()).toMatch(/EPT violation: the host has not backed gPA 0x[0-9a-f]+ yet/);
    mmu.flushTlb();
    const second = mmu.access(ADDRESS + 4096 + 8, "read");
    expect(second.traps.total).toBe(0);
    expect(second.memoryReferences).toBe(24);
    expect(second.machineAddress).toBe(first.machineAddress + 8);
    // Eagerly backed, the same first touch costs the host nothing.
    const eager = new Mmu({ mode: "nested", hostBacking: "eager" });
    eager.access(ADDRESS, "read");
    const e = eager.access(ADDRESS + 4096, "write");
    expect(e.traps.eptViolation).toBe(0);
    expect(e.machineAddress).toBe(first.machineAddress);
  });

  it.each(["4K", "2M"] as const)("a fresh VM's first touch takes one violation per host page its walk needs (%s host pages)", (hostPageSize) => {
    const mmu = new Mmu({ mode: "nested", hostPageSize });
    const r = mmu.access(ADDRESS, "read");
    const needed = hostPagesOfWalk(mmu, Math.floor(ADDRESS / 4096), hostPageSize);
    // 4K: the root, L3, L2 and L1 tables and the data page, each its own host page. 2M: the
    // page-table frames sit together at the top of guest memory, in one host page.
    expect(needed.size).toBe(hostPageSize === "4K" ? 5 : 2);
    expect(r.traps.eptViolation).toBe(needed.size);
    expect(r.counts.cyclesVmm).toBe(needed.size * (C.trapCycles + C.eptViolationCycles + C.hostPageZeroCycles * framesPerPage(hostPageSize)));
    // A neighbour in the same 2M host page needs nothing more from the host.
    if (hostPageSize === "2M") expect(mmu.access(ADDRESS + 4096, "read").traps.eptViolation).toBe(0);
  });

  it("the host backs only what was touched, and a chunk the guest frees and reuses stays backed", () => {
    const lazy = new Mmu({ mode: "nested" });
    const eager = new Mmu({ mode: "nested", hostBacking: "eager" });
    for (const mmu of [lazy, eager]) {
      for (let p = 0; p < 64; p++) mmu.accessPage(0x10000 + p, WRITE);
      mmu.guest.unmapPage(1, 0x10000); // frees a chunk the guest then reuses
      mmu.accessPage(0x10000 + 100, WRITE);
    }
    // 64 data pages and the root, L3, L2 and L1 tables; the reused chunk needs nothing.
    expect(lazy.counts().traps.eptViolation).toBe(64 + 4);
    expect(lazy.guest.tableOf(1).lookup(0x10000 + 100)).toBe(eager.guest.tableOf(1).lookup(0x10000 + 100));
    // 2M guest pages on 4K host pages: eager backing maps all 512 pieces of each guest page the
    // guest allocates; lazy backing only the pieces touched.
    const backedPages = (mmu: Mmu) => mmu.vm.backed.reduce((a, b) => a + b, 0);
    const big = (hostBacking: "lazy" | "eager") => {
      const mmu = new Mmu({ mode: "nested", guestPageSize: "2M", guestMemory: "256 MiB", hostBacking });
      for (let i = 0; i < 4; i++) mmu.accessPage(0x10000 + i * 512, READ);
      return mmu;
    };
    const [l, e] = [big("lazy"), big("eager")];
    // The root, L3 and L2 tables, and one 4K piece of each of the 4 guest pages.
    expect(backedPages(l)).toBe(3 + 4);
    expect(l.counts().traps.eptViolation).toBe(3 + 4);
    expect(backedPages(e)).toBe(3 + 4 * 512);
  });

  it("the STC batch kernel stops at an unbacked page and the general path takes the violation: a batch equals the same accesses one by one", () => {
    // 2M guest pages on 4K host pages: once a 2M page is mapped, its other 4K pieces are mapped
    // in the guest but not backed by the host, so the kernel meets them on its common path.
    const options: MmuOptions = { mode: "nested", pwc: "stc", nestedTlb: true, guestPageSize: "2M", guestMemory: "256 MiB", tlb: { entries: 4, ways: 2 } };
    const batch = new Mmu(options);
    const single = new Mmu(options);
    for (const mmu of [batch, single]) {
      mmu.accessPage(0x10000, READ); // maps the 2M page and backs its first 4K piece
      mmu.accessPage(0x10001, READ);
      mmu.resetStats();
    }
    const n = 64;
    const pages = Float64Array.from({ length: n }, (_, i) => 0x10000 + (i % 2 === 0 ? i % 4 : 8 + i));
    const kinds = new Uint8Array(n).map((_, i) => (i % 3 === 0 ? WRITE : READ));
    const kernel = vi.spyOn(NestedMode.prototype, "runStc");
    try {
      batch.run(pages, kinds, 0, n);
      // The kernel ran, and stopped short at the first unbacked piece (index 1: page 0x10009).
      expect(kernel.mock.results[0]).toEqual({ type: "return", value: 1 });
    } finally {
      kernel.mockRestore();
    }
    for (let i = 0; i < n; i++) single.accessPage(pages[i], kinds[i]);
    expect(batch.counts()).toEqual(single.counts());
    expect(batch.counts().traps.eptViolation).toBe(new Set(Array.from(pages).filter((p) => p >= 0x10002)).size);
    for (let i = 0; i < n; i++) expect(batch.accessPage(pages[i], READ)).toBe(single.accessPage(pages[i], READ));
  });

  it("rejects an unknown backing, naming it", () => {
    expect(() => new Mmu({ hostBacking: "prefault" as never })).toThrow("hostBacking: expected lazy or eager (got \"prefault\")");
  });
});
