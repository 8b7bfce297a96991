import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Uptc } from "../../src/mmu/uptc";
import { Stc } from "../../src/mmu/stc";
import { createWalkCache } from "../../src/mmu/create-walk-cache";
import { LEVEL_SPAN_PAGES } from "../../src/mmu/page-size";

describe("UPTC against a brute-force model", () => {
  it("hits exactly when the entry address is among the last N distinct non-leaf entries probed", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.record({ key: fc.integer({ min: 0, max: 20 }), leaf: fc.boolean() }), { minLength: 30, maxLength: 200 }), (n, probes) => {
      const uptc = new Uptc({ entries: n, ways: n });
      const lru: number[] = [];
      for (const p of probes) {
        let expected = false;
        if (!p.leaf) {
          const i = lru.indexOf(p.key);
          expected = i >= 0;
          if (i >= 0) lru.splice(i, 1);
          lru.unshift(p.key);
          if (lru.length > n) lru.pop();
        }
        if (uptc.probeEntry(p.key, p.leaf) !== expected) return false;
      }
      return true;
    }));
  });

  it("caches leaves only when asked, and forgets invalidated entries", () => {
    const uptc = new Uptc({ cacheLeaves: true });
    expect(uptc.probeEntry(5, true)).toBe(false);
    expect(uptc.probeEntry(5, true)).toBe(true);
    uptc.invalidateEntry(5);
    expect(uptc.probeEntry(5, true)).toBe(false);
    expect(uptc.describe()).toMatch(/24 entries, fully associative/);
  });
});

describe("STC against a brute-force model", () => {
  it("skips to the deepest cached table for the address prefix", () => {
    const ops = fc.array(fc.oneof(
      fc.record({ op: fc.constant("fill"), dim: fc.integer({ min: 0, max: 1 }), tag: fc.integer({ min: 0, max: 1 }), page: fc.integer({ min: 0, max: 2 ** 30 }), level: fc.integer({ min: 1, max: 3 }), table: fc.integer({ min: 0, max: 99 }) }),
      fc.record({ op: fc.constant("skip"), dim: fc.integer({ min: 0, max: 1 }), tag: fc.integer({ min: 0, max: 1 }), page: fc.integer({ min: 0, max: 2 ** 30 }), level: fc.constant(0), table: fc.constant(0) }),
      fc.record({ op: fc.constant("flush"), dim: fc.integer({ min: 0, max: 1 }), tag: fc.integer({ min: 0, max: 1 }), page: fc.constant(0), level: fc.constant(0), table: fc.constant(0) }),
    ), { minLength: 30, maxLength: 150 });
    fc.assert(fc.property(ops, (list) => {
      const sizes = [4, 2, 1];
      const stc = new Stc({ entries: sizes });
      // model[dim][level-1] = MRU-first list of {tag, prefix, table}
      const model = [0, 1].map(() => sizes.map(() => [] as Array<{ tag: number; prefix: number; table: number }>));
      for (const o of list) {
        if (o.op === "fill") {
          const l = model[o.dim][o.level - 1];
          const prefix = Math.floor(o.page / LEVEL_SPAN_PAGES[o.level]);
          const i = l.findIndex((e) => e.tag === o.tag && e.prefix === prefix);
          if (i >= 0) l.splice(i, 1);
          l.unshift({ tag: o.tag, prefix, table: o.table });
          if (l.length > sizes[o.level - 1]) l.pop();
          stc.fillTable(o.dim, o.tag, o.page, o.level, o.table, o.table * 10);
        } else if (o.op === "flush") {
          for (const l of model[o.dim]) for (let i = l.length - 1; i >= 0; i--) if (l[i].tag === o.tag) l.splice(i, 1);
          stc.flushTag(o.dim, o.tag);
        } else {
          let expectedLevel = 4;
          let expectedTable = -1;
          for (let level = 1; level <= 3; level++) {
            const l = model[o.dim][level - 1];
            const prefix = Math.floor(o.page / LEVEL_SPAN_PAGES[level]);
            const i = l.findIndex((e) => e.tag === o.tag && e.prefix === prefix);
            if (i >= 0) { expectedLevel = level; expectedTable = l[i].table; l.unshift(...l.splice(i, 1)); break; }
          }
          const got = stc.skipTo(o.dim, o.tag, o.page, 4, 1);
          if (got !== expectedLevel) return false;
          if (got < 4 && (stc.outTable !== expectedTable || stc.outFrame !== expectedTable * 10)) return false;
        }
      }
      return true;
    }), { numRuns: 200 });
  });

  it("never skips below the leaf level or to the root", () => {
    const stc = new Stc();
    stc.fillTable(0, 0, 0x12345, 1, 7, 70);
    expect(stc.skipTo(0, 0, 0x12345, 4, 2)).toBe(4); // 2M leaves: a PT cannot help
    expect(stc.skipTo(0, 0, 0x12345, 4, 1)).toBe(1);
  });
});

describe("createWalkCache", () => {
  it("builds each design and rejects unknown ones with the path", () => {
    expect(createWalkCache("none").design).toBe("none");
    expect(createWalkCache(undefined).design).toBe("none");
    expect(createWalkCache("uptc").design).toBe("uptc");
    expect(createWalkCache({ design: "stc", entries: [8, 4] }).design).toBe("stc");
    expect(() => createWalkCache("intel" as never, "--pwc")).toThrow(/--pwc: expected a page-walk cache design: none, uptc or stc \(got "intel"\)/);
  });
});
