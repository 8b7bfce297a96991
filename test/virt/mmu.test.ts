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
    const mmu = new Mmu({ mode: "nested" });
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

  it("without a TLB every access walks", () => {
    const mmu = new Mmu({ mode: "native", tlb: false });
    mmu.access(A);
    const r = mmu.access(A);
    expect(r.tlbHit).toBe(false);
    expect(r.memoryReferences).toBe(4);
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
});
