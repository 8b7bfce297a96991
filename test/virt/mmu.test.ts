import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Mmu } from "../../src/virt/mmu";
import { walk } from "../../src/virt/walk";
import { READ, WRITE } from "../../src/workloads/workload";
import { levelIndex } from "../../src/mmu/page-size";
import { DEFAULT_TRANSLATION_COSTS } from "../../src/mmu/cost-model";

const A = 0x7f1234567abc;

/** An explicit LRU list with a capacity, keyed by strings. */
class LruList {
  items: string[] = [];
  constructor(readonly capacity: number) {}
  touch(key: string): boolean {
    const i = this.items.indexOf(key);
    if (i >= 0) this.items.splice(i, 1);
    this.items.unshift(key);
    if (this.items.length > this.capacity) this.items.pop();
    return i >= 0;
  }
}

describe("Mmu.access", () => {
  it("first touch faults and walks twice; the second access hits the TLB", () => {
    // Eager host backing: the host backed the guest's memory up front, so no EPT violation.
    const mmu = new Mmu({ mode: "nested", hostBacking: "eager" });
    const first = mmu.access(A, "read");
    expect(first.tlbHit).toBe(false);
    expect(first.guestPageFaults).toBe(1);
    // The first walk stops at the empty guest L4 entry (4 host + 1 guest), then the full 24.
    expect(first.memoryReferences).toBe(5 + 24);
    expect(first.walk?.explain()).toMatch(/page fault: the guest OS maps page/);
    const second = mmu.access(A + 8, "write");
    expect(second.tlbHit).toBe(true);
    expect(second.memoryReferences).toBe(0);
    expect(second.cycles).toBe(DEFAULT_TRANSLATION_COSTS.tlbHitCycles);
    expect(second.walk).toBeNull();
    expect(second.machineAddress - first.machineAddress).toBe(8);
  });

  it("a second miss near the first shows what the page-walk cache and nested TLB save", () => {
    const mmu = new Mmu({ mode: "nested", pwc: "uptc", nestedTlb: true });
    mmu.access(A, "read");
    mmu.access(A + 4096, "read");
    mmu.tlb.flush(); // TLB only: walk caches stay warm
    const near = mmu.access(A + 4096, "read");
    expect(near.tlbHit).toBe(false);
    expect(near.memoryReferences).toBeLessThan(24);
    expect(near.walkCacheHits + near.nestedTlbHits).toBeGreaterThan(0);
    expect(near.walk?.savedReferences).toBeGreaterThan(0);
    expect(near.walk?.explain()).toMatch(/nested-tlb hit|pwc hit/);
  });

  it("rejects bad options and addresses, naming them", () => {
    expect(() => new Mmu({ tlbs: 4 } as never)).toThrow(/tlbs: unknown option/);
    expect(() => new Mmu({ guestMemory: "12 parsecs" })).toThrow(/guestMemory/);
    expect(() => new Mmu({ shadowCacheSize: 0 })).toThrow(/shadowCacheSize/);
    expect(() => new Mmu({ costs: { trapCycles: "many" } as never })).toThrow(/costs\.trapCycles/);
    expect(() => new Mmu({ mode: "nested", guestPageSize: "1G" })).toThrow(/guestMemory: guest memory must hold at least one 1 GiB page/);
    const mmu = new Mmu({ mode: "native" });
    expect(() => mmu.access(-1)).toThrow(/address/);
    expect(() => mmu.access(0, "poke" as never)).toThrow(/kind: expected read, write or fetch/);
  });

  it("keeps the P→M scatter of 32-bit seeds; seeds that used to collide scatter differently", () => {
    // Notebook 01's figures: these machine addresses must not move.
    expect(walk({ mode: "nested", seed: 1 }).machineAddress).toBe(0x1092fdabc);
    expect(walk({ mode: "nested", seed: 7 }).machineAddress).toBe(0x13955cabc);
    expect(walk({ mode: "nested", seed: "7" }).machineAddress).toBe(0x13955cabc);
    const machine = (seed: number | string) => new Mmu({ mode: "nested", seed }).access(A).machineAddress;
    expect(machine(2 ** 32 + 1)).not.toBe(machine(1));
    expect(machine(-1)).not.toBe(machine(0));
  });

  it("rejects a seed that is not a safe integer or a string, naming it", () => {
    expect(() => new Mmu({ seed: 1.5 })).toThrow(/^seed: must be a whole number between/);
    expect(() => new Mmu({ seed: true as never })).toThrow(/^seed: must be a whole number or a string \(got true\)/);
    expect(() => new Mmu({ seed: NaN }, "setups[0]")).toThrow(/^setups\[0\]\.seed: /);
  });

  it("rejects unknown keys and wrong types inside the tlb, pwc and nestedTlb options, with their path", () => {
    expect(() => new Mmu({ tlb: { entries: 64, way: 4 } as never })).toThrow("tlb.way: unknown option (known: entries, ways, tagged) (got 4)");
    expect(() => new Mmu({ tlb: { entries: 64, ways: 4, tagged: "no" as never } })).toThrow("tlb.tagged: expected true or false (got \"no\")");
    expect(() => new Mmu({ tlb: { tagged: 0 as never } })).toThrow(/^tlb\.tagged: expected true or false/);
    expect(() => new Mmu({ nestedTlb: { entries: 16, size: 4 } as never })).toThrow("nestedTlb.size: unknown option (known: entries, ways) (got 4)");
    expect(() => new Mmu({ pwc: { design: "uptc", entrys: 24 } as never })).toThrow(/^pwc\.entrys: unknown option \(known: design, entries, ways, cacheLeaves\)/);
    expect(() => new Mmu({ pwc: { design: "uptc", cacheLeaves: "yes" } as never })).toThrow(/^pwc\.cacheLeaves: expected true or false/);
    expect(() => new Mmu({ pwc: { design: "stc", entries: [8], sizes: [1] } as never })).toThrow(/^pwc\.sizes: unknown option \(known: design, entries, ways\)/);
    expect(() => new Mmu({ pwc: { design: "none", entries: 4 } as never })).toThrow(/^pwc\.entries: unknown option \(known: design\)/);
    expect(() => new Mmu({ tlb: [64, 4] as never })).toThrow(/^tlb: expected an object/);
    expect(() => new Mmu({ trapReads: "yes" as never })).toThrow(/^trapReads: expected true or false/);
    // The good shapes still build.
    expect(new Mmu({ tlb: { entries: 64, ways: 4, tagged: false }, pwc: { design: "uptc", entries: 8, ways: 8, cacheLeaves: true }, nestedTlb: { entries: 8 } }).settings.tlb).toEqual({ entries: 64, ways: 4, tagged: false });
  });

  it("rejects fractional, negative and out-of-range page numbers and unknown kinds in accessPage", () => {
    const mmu = new Mmu({ mode: "nested" });
    expect(() => mmu.accessPage(1.5, READ)).toThrow("page: page number must be a whole number (a page is address >> 12) (got 1.5)");
    expect(() => mmu.accessPage(-1, READ)).toThrow("page: page number must not be negative (got -1)");
    expect(() => mmu.accessPage(2 ** 36, READ)).toThrow(/^page: page number is beyond the 48-bit virtual address space/);
    expect(() => mmu.accessPage(NaN, READ)).toThrow(/^page: expected a page number/);
    expect(() => mmu.accessPage(5, 3)).toThrow(/^kind: expected an access kind: 0 \(read\), 1 \(write\) or 2 \(fetch\) \(got 3\)/);
    expect(() => mmu.accessPage(5, "write" as never)).toThrow(/^kind: /);
    expect(mmu.counts().accesses).toBe(0); // nothing ran
    expect(() => mmu.accessPage(2 ** 36 - 1, WRITE)).not.toThrow();
  });

  it.each([
    ["nested with an STC (the batch kernel)", { mode: "nested", pwc: "stc" }],
    ["nested without a walk cache", { mode: "nested" }],
    ["shadow", { mode: "shadow" }],
  ] as const)("refuses a whole batch with a bad page or kind before running any of it: %s", (_label, options) => {
    const mmu = new Mmu(options);
    const pages = new Float64Array([1, 2, 3, 4]);
    const kinds = new Uint8Array(4);
    for (const [i, bad, message] of [[2, 1.5, "whole number"], [3, -4, "not be negative"], [1, 2 ** 36, "beyond"], [2, NaN, "expected a page number"]] as const) {
      const p = pages.slice();
      p[i] = bad;
      expect(() => mmu.run(p, kinds, 0, 4)).toThrow(new RegExp(`^pages\\[${i}\\]: .*${message}`));
    }
    const k = kinds.slice();
    k[3] = 9;
    expect(() => mmu.run(pages, k, 0, 4)).toThrow(/^kinds\[3\]: expected an access kind/);
    expect(() => mmu.run(pages, kinds, 0, 5)).toThrow(/^run: expected 0 ≤ start ≤ end ≤ the batch length \(4 pages, 4 kinds\)/);
    expect(() => mmu.run(pages, kinds, 2, 1)).toThrow(/^run: /);
    expect(() => mmu.run([0, 1, 0.5] as never, [0, 0, 0] as never, 0, 3)).toThrow(/^pages\[2\]: /);
    expect(() => mmu.run(pages, [0, 1, "write", 0] as never, 0, 4)).toThrow(/^kinds\[2\]: /);
    expect(mmu.counts().accesses).toBe(0); // refused before any access
    // Outside [start, end) nothing is checked; integer arrays need no page scan.
    const p = pages.slice();
    p[3] = -1;
    mmu.run(p, kinds, 0, 3);
    mmu.run(new Uint32Array([7, 2 ** 32 - 1]) as never, new Uint8Array(2), 0, 2);
    expect(() => mmu.run(new Uint32Array([7, 8]) as never, new Uint8Array([2, 3]), 0, 2)).toThrow(/^kinds\[1\]: .*\(got 3\)/);
    expect(() => mmu.run(pages, new Uint8Array([0, 0, 0, 255]), 0, 4)).toThrow(/^kinds\[3\]: .*\(got 255\)/);
    expect(mmu.counts().accesses).toBe(5);
  });

  it("rejects non-canonical addresses, as hardware faults on them; walks the upper half", () => {
    const mmu = new Mmu({ mode: "nested" });
    expect(() => mmu.checkAddress(0x800000000000, "--address")).toThrow(
      "--address: 0x800000000000 is not canonical with 4-level tables (48-bit addresses): bits 63 to 47 must all be equal, so below 0x800000000000 or from 0xffff800000000000; hardware raises a general-protection fault (got 140737488355328)");
    expect(() => mmu.access(0xffff7ffffffff000)).toThrow(/^address: 0xffff7ffffffff000 is not canonical/);
    expect(() => mmu.access(2 ** 64)).toThrow(/^address: expected a virtual address/);
    expect(mmu.checkAddress(0x7ffffffff000, "a")).toBe(2 ** 35 - 1);
    expect(mmu.checkAddress(0xffff800000000000, "a")).toBe(2 ** 35);
    expect(mmu.checkAddress(0xfffffffffffff000, "a")).toBe(2 ** 36 - 1);
    const five = new Mmu({ mode: "nested", guestLevels: 5 });
    expect(five.checkAddress(0x800000000000, "a")).toBe(2 ** 35); // canonical with 57 bits
    expect(() => five.checkAddress(0x100000000000000, "a")).toThrow(/not canonical with 5-level tables \(57-bit addresses\): bits 63 to 56/);
    expect(five.checkAddress(0xff00000000000000, "a")).toBe(2 ** 44);
    // A kernel address walks through PML4 entry 256.
    const w = walk({ mode: "native", address: "0xffff800000001000" });
    expect(w.toTable().objects()[0]).toMatchObject({ level: 4, index: 256 });
    expect(() => walk({ mode: "native", address: "0x800000000000" })).toThrow(/^address: 0x800000000000 is not canonical/);
  });

  it("without a TLB every access walks", () => {
    const mmu = new Mmu({ mode: "native", tlb: false });
    mmu.access(A);
    const r = mmu.access(A);
    expect(r.tlbHit).toBe(false);
    expect(r.memoryReferences).toBe(4);
  });

  it("without a TLB no walk fills it: it stays empty, one access at a time or in a batch", () => {
    const mmu = new Mmu({ mode: "native", tlb: false });
    for (let i = 0; i < 3; i++) mmu.access(A + i * 4096);
    mmu.run(new Float64Array([5, 6, 5]), new Uint8Array([READ, WRITE, READ]), 0, 3);
    expect(mmu.counts().accesses).toBe(6);
    expect(mmu.stats.tlbHits).toBe(0);
    expect(mmu.tlb.occupancy()).toBe(0);
  });
});

describe("Mmu caches against brute-force models", () => {
  const pagesArb = fc.array(fc.integer({ min: 0, max: 200 }).map((i) => (i % 7) * 0x40000 + (i % 23) * 512 + i), { minLength: 40, maxLength: 300 });

  it("TLB hits and misses follow an explicit set-associative LRU model", () => {
    fc.assert(fc.property(pagesArb, (pages) => {
      const mmu = new Mmu({ mode: "native", tlb: { entries: 8, ways: 2 } });
      for (const p of pages) mmu.accessPage(p, READ); // map everything first
      mmu.flushTlb();
      const sets: LruList[] = Array.from({ length: 4 }, () => new LruList(2));
      for (const p of pages) {
        const before = mmu.stats.tlbHits;
        mmu.accessPage(p, READ);
        const hit = mmu.stats.tlbHits > before;
        if (hit !== sets[p % 4].touch(String(p))) return false;
      }
      return true;
    }), { numRuns: 60 });
  });

  it("ASID-tagged TLB entries survive a process switch; untagged ones do not", () => {
    for (const tagged of [true, false]) {
      const mmu = new Mmu({ mode: "native", tlb: { entries: 64, ways: 4, tagged } });
      mmu.accessPage(100, READ);
      const other = mmu.guest.createProcess();
      mmu.guest.switchTo(other);
      mmu.accessPage(100, READ);
      mmu.guest.switchTo(1);
      const before = mmu.stats.tlbHits;
      mmu.accessPage(100, READ);
      expect(mmu.stats.tlbHits - before).toBe(tagged ? 1 : 0);
    }
  });

  it("UPTC: references per miss follow an LRU list of non-leaf entry addresses", () => {
    fc.assert(fc.property(pagesArb, fc.integer({ min: 1, max: 6 }), (pages, n) => {
      const mmu = new Mmu({ mode: "native", tlb: false, pwc: { design: "uptc", entries: n, ways: n } });
      for (const p of pages) mmu.accessPage(p, READ);
      mmu.flushTlb();
      mmu.resetStats();
      const pool = mmu.guest.pool;
      const root = mmu.guest.tableOf(1).root;
      const lru = new LruList(n);
      let expected = 0;
      for (const p of pages) {
        mmu.accessPage(p, READ);
        let table = root;
        for (let level = 4; level >= 1; level--) {
          const idx = levelIndex(p, level);
          if (level === 1 || !lru.touch(`${pool.tableFrame[table]}:${idx}`)) expected++;
          table = pool.child[table * 512 + idx];
        }
      }
      return mmu.stats.memoryReferences === expected;
    }), { numRuns: 60 });
  });

  it("STC: a walk starts at the deepest table whose prefix is cached", () => {
    fc.assert(fc.property(pagesArb, (pages) => {
      const sizes = [2, 2, 1];
      const mmu = new Mmu({ mode: "native", tlb: false, pwc: { design: "stc", entries: sizes } });
      for (const p of pages) mmu.accessPage(p, READ);
      mmu.flushTlb();
      mmu.resetStats();
      const caches = sizes.map((s) => new LruList(s));
      let expected = 0;
      for (const p of pages) {
        mmu.accessPage(p, READ);
        let start = 4;
        for (let level = 1; level <= 3; level++) {
          const key = String(Math.floor(p / 512 ** level));
          if (caches[level - 1].items.includes(key)) { caches[level - 1].touch(key); start = level; break; }
        }
        expected += start;
        for (let level = start - 1; level >= 1; level--) caches[level - 1].touch(String(Math.floor(p / 512 ** level)));
      }
      return mmu.stats.memoryReferences === expected;
    }), { numRuns: 60 });
  });

  it("nested TLB: each 2-D walk costs 4 guest references plus 4 per host translation it misses", () => {
    fc.assert(fc.property(pagesArb, fc.integer({ min: 1, max: 8 }), (pages, n) => {
      const mmu = new Mmu({ mode: "nested", tlb: false, nestedTlb: { entries: n, ways: n } });
      for (const p of pages) mmu.accessPage(p, READ);
      mmu.flushTlb();
      mmu.resetStats();
      const guest = mmu.guest.tableOf(1);
      const pool = mmu.guest.pool;
      const lru = new LruList(n);
      let expected = 0;
      for (const p of pages) {
        mmu.accessPage(p, READ);
        let table = guest.root;
        const gpaFrames: number[] = [];
        for (let level = 4; level >= 1; level--) {
          gpaFrames.push(pool.tableFrame[table]);
          table = pool.child[table * 512 + levelIndex(p, level)];
        }
        gpaFrames.push(guest.lookup(p));
        expected += 4;
        for (const f of gpaFrames) if (!lru.touch(String(f))) expected += 4;
      }
      return mmu.stats.memoryReferences === expected && mmu.stats.nestedTlbHits === pages.length * 5 - (expected - 4 * pages.length) / 4;
    }), { numRuns: 60 });
  });
});

describe("Mmu writes and faults", () => {
  it("copy-on-write after fork: the first store faults, later stores hit", () => {
    const mmu = new Mmu({ mode: "native" });
    mmu.accessPage(10, WRITE);
    const child = mmu.guest.fork(1);
    expect(mmu.guest.mappedPages(child)).toBe(1);
    const before = mmu.stats.guestPageFaults;
    mmu.accessPage(10, READ);
    expect(mmu.stats.guestPageFaults).toBe(before);
    mmu.accessPage(10, WRITE);
    expect(mmu.stats.guestPageFaults).toBe(before + 1);
    const frameAfter = mmu.accessPage(10, WRITE);
    expect(mmu.stats.guestPageFaults).toBe(before + 1);
    // the parent got its own copy while the child still shares the old frame
    expect(mmu.guest.tableOf(child).lookup(10)).not.toBe(frameAfter);
  });

  it("reclaims the oldest unshared page when guest memory is full", () => {
    const mmu = new Mmu({ mode: "native", guestMemory: 512, guestPageTableFrames: 16 });
    for (let p = 0; p < 1000; p++) mmu.accessPage(p, READ);
    expect(mmu.guest.counts.reclaims).toBeGreaterThan(0);
    expect(mmu.guest.mappedPages(1)).toBeLessThanOrEqual(512 - 256 - 16);
  });

  it("reclaim skips pages shared copy-on-write with a child: the parent keeps them mapped", () => {
    const mmu = new Mmu({ mode: "native", guestMemory: 512, guestPageTableFrames: 16 });
    for (let p = 0; p < 50; p++) mmu.accessPage(p, WRITE);
    const child = mmu.guest.fork(1);
    const parent = mmu.guest.tableOf(1);
    const sharedFrames = Array.from({ length: 50 }, (_, p) => parent.lookup(p));
    // The parent fills memory with new pages: guest memory runs out and reclaim runs many times.
    for (let p = 1000; p < 3000; p++) mmu.accessPage(p, READ);
    expect(mmu.guest.counts.reclaims).toBeGreaterThan(1000);
    for (let p = 0; p < 50; p++) {
      expect(parent.lookup(p)).toBe(sharedFrames[p]);
      expect(mmu.guest.tableOf(child).lookup(p)).toBe(sharedFrames[p]);
    }
  });
});
