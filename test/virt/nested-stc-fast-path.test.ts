import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { Mmu, type MmuOptions } from "../../src/virt/mmu";
import { NestedMode } from "../../src/virt/nested-mode";
import type { Stc } from "../../src/mmu/stc";
import type { SetAssociativeCache } from "../../src/mmu/set-associative-cache";

/**
 * Nested mode with an STC: `run` goes through a batch kernel that does the common TLB miss
 * itself and stops at every uncommon access; a batch must equal the same accesses made one by
 * one with `accessPage`. And `accessPage` (no walk recorded) must do what `access` (walk
 * recorded) does, step for step: the same translations, counters, cache hits and contents.
 */

/** Everything a cache holds, for exact comparison. */
function cacheState(c: SetAssociativeCache): unknown[] {
  return [c.hits, c.misses, Array.from(c.data), Array.from(c.links), Array.from(c.buckets), Array.from(c.values), Array.from(c.values2), Array.from(c.flags), c.stamps === null ? null : Array.from(c.stamps)];
}

describe("nested STC fast path", () => {
  const shapes: MmuOptions[] = [
    { pwc: "stc", nestedTlb: true },
    { pwc: "stc" },
    { pwc: { design: "stc", entries: [4] }, nestedTlb: { entries: 4 } },
    { pwc: { design: "stc", entries: [8, 2], ways: [2, 2] }, guestPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", nestedTlb: true, guestPageSize: "2M", hostPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", guestLevels: 5, hostLevels: 5, hostPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", nestedTlb: true, guestPageSize: "1G", guestMemory: "2 GiB" },
    // No cache for host leaf tables (2M host pages, PDE cache only): every host walk goes the long way.
    { pwc: { design: "stc", entries: [8] }, nestedTlb: true, hostPageSize: "2M", guestMemory: "256 MiB" },
  ];
  for (const shape of shapes) {
    it(`an unrecorded walk takes the same steps as the recorded walk (${JSON.stringify(shape)})`, () => {
      fc.assert(fc.property(
        fc.array(fc.record({ page: fc.integer({ min: 0, max: 1 << 19 }), far: fc.boolean(), write: fc.boolean() }), { minLength: 20, maxLength: 200 }),
        (accesses) => {
          const options: MmuOptions = { mode: "nested", tlb: { entries: 4, ways: 2 }, guestMemory: "64 MiB", ...shape };
          const fast = new Mmu(options);
          const recorded = new Mmu(options);
          for (const a of accesses) {
            const page = (a.far ? 0x7f0000000 : 0x10000) + a.page;
            const frame = fast.accessPage(page, a.write ? 1 : 0);
            const r = recorded.access(page * 4096, a.write ? "write" : "read");
            if (frame * 4096 !== r.machineAddress) return false;
          }
          expect(fast.counts()).toEqual(recorded.counts());
          const [a, b] = [fast.pwc as Stc, recorded.pwc as Stc];
          expect([a.hits, a.misses]).toEqual([b.hits, b.misses]);
          for (let d = 0; d < 2; d++) {
            a.caches[d].forEach((cache, i) => expect([cache.hits, cache.misses, cache.occupancy()]).toEqual([b.caches[d][i].hits, b.caches[d][i].misses, b.caches[d][i].occupancy()]));
          }
          return true;
        },
      ), { numRuns: shape.guestPageSize === "1G" ? 5 : 25 });
    });

    it(`a batch run equals the same accesses one by one (${JSON.stringify(shape)})`, () => {
      fc.assert(fc.property(
        fc.array(fc.record({ page: fc.integer({ min: 0, max: 1 << 19 }), far: fc.boolean(), write: fc.boolean(), repeat: fc.integer({ min: 1, max: 4 }) }), { minLength: 20, maxLength: 200 }),
        fc.integer({ min: 1, max: 50 }),
        (accesses, batchSize) => {
          const options: MmuOptions = { mode: "nested", tlb: { entries: 4, ways: 2 }, guestMemory: "64 MiB", ...shape };
          const batch = new Mmu(options);
          const single = new Mmu(options);
          const pages: number[] = [];
          const kinds: number[] = [];
          for (const a of accesses) {
            for (let r = 0; r < a.repeat; r++) {
              pages.push((a.far ? 0x7f0000000 : 0x10000) + a.page + r);
              kinds.push(a.write ? 1 : 0);
            }
          }
          const p = Float64Array.from(pages);
          const k = Uint8Array.from(kinds);
          // Halfway, fork: the parent's pages turn copy-on-write, so stores to them fault again
          // (not with 1 GiB pages: two copies of each would not fit the guest's memory).
          const half = p.length >> 1;
          for (let i = 0; i < half; i += batchSize) batch.run(p, k, i, Math.min(half, i + batchSize));
          for (let i = 0; i < half; i++) single.accessPage(p[i], k[i]);
          if (shape.guestPageSize !== "1G") for (const mmu of [batch, single]) mmu.guest.fork(mmu.guest.current);
          for (let i = half; i < p.length; i += batchSize) batch.run(p, k, i, Math.min(p.length, i + batchSize));
          for (let i = half; i < p.length; i++) single.accessPage(p[i], k[i]);
          expect(batch.counts().traps).toEqual(single.counts().traps);
          expect(batch.counts()).toEqual(single.counts());
          const [a, b] = [batch.pwc as Stc, single.pwc as Stc];
          expect([a.hits, a.misses]).toEqual([b.hits, b.misses]);
          for (let d = 0; d < 2; d++) {
            a.caches[d].forEach((cache, i) => expect([cache.hits, cache.misses, cache.occupancy()]).toEqual([b.caches[d][i].hits, b.caches[d][i].misses, b.caches[d][i].occupancy()]));
          }
          // The same accessed and dirty bits in every guest page-table entry.
          expect(Buffer.from(batch.guest.pool.flags).equals(Buffer.from(single.guest.pool.flags))).toBe(true);
          // The same TLB, nested TLB and STC state, array for array (keys, LRU lists, hash
          // buckets and hints, values), and the same translations afterwards.
          expect(cacheState(batch.tlb.cache)).toEqual(cacheState(single.tlb.cache));
          if (batch.nestedTlb !== null && single.nestedTlb !== null) expect(cacheState(batch.nestedTlb.cache)).toEqual(cacheState(single.nestedTlb.cache));
          for (let d = 0; d < 2; d++) a.caches[d].forEach((cache, i) => expect(cacheState(cache)).toEqual(cacheState(b.caches[d][i])));
          for (const page of pages.slice(0, 20)) expect(batch.accessPage(page, 0)).toBe(single.accessPage(page, 0));
          expect(batch.counts()).toEqual(single.counts());
          return true;
        },
      ), { numRuns: shape.guestPageSize === "1G" ? 5 : 25 });
    });
  }

  it("a batch kernel actually runs for the STC: warm TLB misses are done by runStc, not access by access", () => {
    const mmu = new Mmu({ mode: "nested", pwc: "stc", nestedTlb: true, tlb: { entries: 4, ways: 2 }, guestMemory: "64 MiB" });
    const n = 4096;
    const p = new Float64Array(n).map((_, i) => 0x10000 + ((i * 37) % 1024));
    const k = new Uint8Array(n);
    // Warm up one by one: every page mapped, both guest leaf tables in the STC.
    for (let page = 0x10000; page < 0x10000 + 1024; page++) mmu.accessPage(page, 0);
    mmu.resetStats();
    const kernel = vi.spyOn(NestedMode.prototype, "runStc");
    try {
      mmu.run(p, k, 0, n);
      // Reads of mapped pages through a 4-entry TLB: every access is a common miss or a hit, so
      // one kernel call does all n and the general path does none.
      expect(kernel).toHaveBeenCalledTimes(1);
      expect(kernel.mock.results[0]).toEqual({ type: "return", value: n });
    } finally {
      kernel.mockRestore();
    }
    const c = mmu.counts();
    expect(c.accesses).toBe(n);
    expect(c.guestPageFaults).toBe(0);
    expect(c.tlbMisses).toBeGreaterThan(n / 2);
  });
});
