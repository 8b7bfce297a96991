import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { hashOf, SetAssociativeCache } from "../../src/mmu/set-associative-cache";
import { Tlb } from "../../src/mmu/tlb";
import { NestedTlb } from "../../src/mmu/nested-tlb";

/** An explicit list-based LRU: each set is an array, most recently used first. */
class ReferenceLru {
  readonly sets: Array<Array<{ tag: number; key: number }>>;
  constructor(readonly entries: number, readonly ways: number) {
    this.sets = Array.from({ length: entries / ways }, () => []);
  }
  private set(key: number) { return this.sets[key % this.sets.length]; }
  lookup(tag: number, key: number): boolean {
    const s = this.set(key);
    const i = s.findIndex((e) => e.tag === tag && e.key === key);
    if (i < 0) return false;
    s.unshift(...s.splice(i, 1));
    return true;
  }
  insert(tag: number, key: number): void {
    const s = this.set(key);
    const i = s.findIndex((e) => e.tag === tag && e.key === key);
    if (i >= 0) s.splice(i, 1);
    s.unshift({ tag, key });
    if (s.length > this.ways) s.pop();
  }
  invalidate(tag: number, key: number): void {
    const s = this.set(key);
    const i = s.findIndex((e) => e.tag === tag && e.key === key);
    if (i >= 0) s.splice(i, 1);
  }
  flushTag(tag: number): void {
    for (const s of this.sets) for (let i = s.length - 1; i >= 0; i--) if (s[i].tag === tag) s.splice(i, 1);
  }
  flushAll(): void { for (const s of this.sets) s.length = 0; }
  size(): number { return this.sets.reduce((n, s) => n + s.length, 0); }
}

/** The invariant every bucket count keeps: count[b] = the valid slots whose (tag, key) hashes to b. */
function bucketCountsExact(cache: SetAssociativeCache): boolean {
  const counts = new Int32Array(cache.buckets.length / 2);
  for (let slot = 0; slot < cache.entries; slot++) {
    const tag = cache.data[2 * slot + 1];
    if (tag !== -1) counts[hashOf(tag, cache.data[2 * slot], cache.hashShift)]++;
  }
  return counts.every((c, b) => c === cache.buckets[2 * b]);
}

const op = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant("access" as const), tag: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("bigkey" as const), tag: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 2 ** 33, max: 2 ** 33 + 40 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("invalidate" as const), tag: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("flushTag" as const), tag: fc.integer({ min: 0, max: 2 }), key: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("flushAll" as const), tag: fc.constant(0), key: fc.constant(0) }) },
);

describe("SetAssociativeCache against a brute-force LRU model", () => {
  // The last two shapes are highly associative, so lookups go through the hash index.
  const shapes = [{ entries: 8, ways: 2 }, { entries: 16, ways: 4 }, { entries: 4, ways: 4 }, { entries: 8, ways: 1 }, { entries: 40, ways: 40 }, { entries: 80, ways: 40 }];
  for (const [shape, lru] of shapes.flatMap((shape) => [[shape, "list"], [shape, "stamp"]] as const)) {
    it(`agrees hit for hit with an explicit LRU list (${shape.entries} entries, ${shape.ways}-way, ${lru} LRU)`, () => {
      const scale = Math.max(1, shape.entries / 8);
      fc.assert(fc.property(fc.array(op, { minLength: 50, maxLength: 300 }).map((list) => list.map((o) => ({ ...o, key: o.key * scale }))), (ops) => {
        const cache = new SetAssociativeCache(shape, "cache", lru);
        const model = new ReferenceLru(shape.entries, shape.ways);
        // Lookups counted by the cache: every hit, and the misses of lookup / lookupForFill (a
        // batch kernel's peek miss adds its own).
        let hits = 0;
        let misses = 0;
        for (const o of ops) {
          if (o.op === "access" || o.op === "bigkey") {
            // Three ways to look up and fill: the one-pass lookupForFill + fillMissed pair;
            // lookup + insert; and a batch kernel's peek + touch, expectFill + fillMissed.
            const way = o.key % 3;
            if (cache.findInSet(o.tag, o.key) !== cache.peek(o.tag, o.key)) return false;
            let hit: boolean;
            if (way === 0) hit = cache.lookupForFill(o.tag, o.key) >= 0;
            else if (way === 1) hit = cache.lookup(o.tag, o.key) >= 0;
            else {
              const slot = cache.peek(o.tag, o.key);
              hit = slot >= 0;
              if (hit) cache.touch(slot);
              else cache.expectFill(hashOf(o.tag, o.key, cache.hashShift));
            }
            if (hit !== model.lookup(o.tag, o.key)) return false;
            if (hit) hits++;
            else if (way !== 2) misses++;
            if (!hit) {
              if (way !== 1) cache.fillMissed(o.tag, o.key, o.key * 2, 0, 0);
              else cache.insert(o.tag, o.key, o.key * 2, 0, 0);
              model.insert(o.tag, o.key);
            }
            else if (cache.values[cache.peek(o.tag, o.key)] !== o.key * 2) return false;
          } else if (o.op === "invalidate") { cache.invalidate(o.tag, o.key); model.invalidate(o.tag, o.key); }
          else if (o.op === "flushTag") { cache.flushTag(o.tag); model.flushTag(o.tag); }
          else { cache.flushAll(); model.flushAll(); }
          if (cache.occupancy() !== model.size()) return false;
        }
        expect(bucketCountsExact(cache)).toBe(true);
        expect([cache.hits, cache.misses]).toEqual([hits, misses]);
        return true;
      }), { numRuns: 200 });
    });
  }

  it("stays exact when many resident entries share hash buckets (stale hints, multi-entry buckets)", () => {
    // 128 entries over a 1024-bucket table and thousands of distinct keys: buckets with two or
    // more entries and hints that point at since-evicted slots happen all the time.
    const shapes = [{ entries: 128, ways: 128 }, { entries: 128, ways: 8 }, { entries: 16, ways: 16 }];
    for (const [shape, lru] of shapes.flatMap((shape) => [[shape, "list"], [shape, "stamp"]] as const)) {
      fc.assert(fc.property(fc.array(fc.record({ tag: fc.integer({ min: 0, max: 3 }), key: fc.integer({ min: 0, max: 3000 }), big: fc.boolean(), op: fc.integer({ min: 0, max: 19 }) }), { minLength: 200, maxLength: 1500 }), (ops) => {
        const cache = new SetAssociativeCache(shape, "cache", lru);
        const model = new ReferenceLru(shape.entries, shape.ways);
        let sharedBucket = false;
        for (const o of ops) {
          const key = o.big ? 2 ** 40 + o.key * 4096 : o.key;
          if (o.op === 0) { cache.invalidate(o.tag, key); model.invalidate(o.tag, key); continue; }
          if (o.op === 1 && o.key % 16 === 0) { cache.flushTag(o.tag); model.flushTag(o.tag); continue; }
          const onePass = o.op % 2 === 0;
          const hit = (onePass ? cache.lookupForFill(o.tag, key) : cache.lookup(o.tag, key)) >= 0;
          if (hit !== model.lookup(o.tag, key)) return false;
          if (!hit) {
            if (onePass) cache.fillMissed(o.tag, key, key + 1, o.tag, 0);
            else cache.insert(o.tag, key, key + 1, o.tag, 0);
            model.insert(o.tag, key);
          } else {
            const slot = cache.peek(o.tag, key);
            if (cache.values[slot] !== key + 1 || cache.values2[slot] !== o.tag) return false;
          }
          if (!sharedBucket) sharedBucket = (cache as unknown as { buckets: Int32Array }).buckets.some((c, i) => i % 2 === 0 && c >= 2);
        }
        return cache.occupancy() === model.size() && (ops.length < 1000 || shape.entries < 128 || sharedBucket);
      }), { numRuns: 40 });
    }
  });

  it("a lookupForFill / fillMissed pair stays exact when the cache changes in between", () => {
    const cache = new SetAssociativeCache({ entries: 2, ways: 2 });
    const model = new ReferenceLru(2, 2);
    for (const k of [1, 2]) { cache.insert(0, k, 0, 0, 0); model.insert(0, k); }
    expect(cache.lookupForFill(0, 3)).toBe(-1); // picks key 1's slot (LRU)
    cache.invalidate(0, 2); model.invalidate(0, 2); // now an invalid slot exists
    cache.fillMissed(0, 3, 0, 0, 0); model.insert(0, 3);
    for (const k of [1, 3, 2]) expect(cache.lookup(0, k) >= 0).toBe(model.lookup(0, k));
    // The missed key itself cached in between: the fill refreshes that entry, no second copy.
    const wide = new SetAssociativeCache({ entries: 4, ways: 4 });
    wide.insert(0, 1, 10, 0, 0);
    expect(wide.lookupForFill(0, 3)).toBe(-1);
    const slot = wide.insert(0, 3, 30, 0, 0);
    expect(wide.fillMissed(0, 3, 31, 0, 0)).toBe(slot);
    expect(wide.occupancy()).toBe(2);
    expect(wide.values[wide.peek(0, 3)]).toBe(31);
  });

  it("hashes both 32-bit halves of a key: keys that differ only above bit 32 spread over buckets", () => {
    const buckets = new Set(Array.from({ length: 64 }, (_, j) => hashOf(0, 5 + j * 2 ** 32, 20)));
    expect(buckets.size).toBeGreaterThan(32);
  });

  it("rejects shapes whose set count is not a power of two, naming the structure", () => {
    expect(() => new SetAssociativeCache({ entries: 24, ways: 4 }, "tlb")).toThrow(/tlb: entries \/ ways must be a power of two/);
    expect(() => new Tlb({ entries: 0 })).toThrow(/tlb\.entries/);
    expect(() => new SetAssociativeCache({ entries: 4, ways: 4 }, "stc", "fifo" as "list")).toThrow(/stc\.lru: lru must be "list" or "stamp"/);
  });

  it("TLB defaults to the Skylake STLB shape and flushes by page, ASID or all", () => {
    const tlb = new Tlb();
    expect([tlb.entries, tlb.ways, tlb.sets, tlb.tagged]).toEqual([1536, 12, 128, true]);
    tlb.insert(1, 10, 100, 0, 1);
    tlb.insert(2, 10, 200, 0, 1);
    tlb.insert(1, 11, 110, 0, 1);
    tlb.flushPage(1, 10);
    expect(tlb.lookup(1, 10)).toBe(-1);
    expect(tlb.lookup(2, 10)).toBeGreaterThanOrEqual(0);
    tlb.flushAsid(2);
    expect(tlb.lookup(2, 10)).toBe(-1);
    expect(tlb.lookup(1, 11)).toBeGreaterThanOrEqual(0);
    tlb.flush();
    expect(tlb.occupancy()).toBe(0);
  });

  it("changing only the entries keeps a valid shape (fully associative when needed)", () => {
    expect(new Tlb({ entries: 64 }).ways).toBe(64);
    expect(new Tlb({ entries: 3072 }).ways).toBe(12);
    // 1152 / 12 = 96 sets, not a power of two: fully associative instead.
    expect(new Tlb({ entries: 1152 }).ways).toBe(1152);
    expect(new NestedTlb().entries).toBe(16);
  });
});
