import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FETCH, LackeyParser, MAX_RECORD_BYTES, parseLackeyBuffer, READ, WRITE } from "../../src";

/** Push `text` in the given chunks through a parser with `batchSize`; collect every access. */
function parse(text: string, batchSize = 65536, cuts: number[] = [], maxRecords?: number) {
  const pages: number[] = [];
  const kinds: number[] = [];
  const batches: number[] = [];
  const arrays = new Set<Float64Array>();
  const parser = new LackeyParser((p, k, n) => {
    arrays.add(p);
    batches.push(n);
    for (let i = 0; i < n; i++) {
      pages.push(p[i]);
      kinds.push(k[i]);
    }
  }, { fileName: "t.lackey", batchSize, maxRecords });
  const buf = Buffer.from(text);
  let prev = 0;
  for (const cut of [...cuts.map((c) => c % (buf.length + 1)), buf.length].sort((a, b) => a - b)) {
    parser.push(buf.subarray(prev, cut));
    prev = cut;
  }
  return { pages, kinds, batches, arrays, stats: parser.end() };
}

/** The brute-force model: every 4 KiB page in [addr, addr + size - 1], exactly, with BigInt. */
function modelPages(addr: bigint, size: number): number[] {
  const first = addr / 4096n;
  const last = (addr + BigInt(size) - 1n) / 4096n;
  const out: number[] = [];
  for (let p = first; p <= last; p++) out.push(Number(p));
  return out;
}

describe("a record is one access per page its byte range touches", () => {
  it("a range crossing a page boundary gives one access to each page, with the record's kind", () => {
    const t = parse(" L 1ffc,8\nI  2ffe,3\n S 3fff,2\n M 4ff8,8\n M 5ff9,8\n");
    // 1ffc+8 → 1, 2; 2ffe+3 → 2, 3; 3fff+2 → 3, 4; 4ff8+8 ends at 4fff → 4; 5ff9+8 ends at 6000 → 5, 6.
    expect(t.pages).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 6]);
    expect(t.kinds).toEqual([READ, READ, FETCH, FETCH, WRITE, WRITE, WRITE, WRITE, WRITE]);
    expect(t.stats).toMatchObject({ records: 5, accesses: 9, multiPageRecords: 4, fetches: 1, reads: 1, writes: 3, modifies: 2 });
  });

  it("a range ending on the last byte of a page stays on that page", () => {
    const t = parse(" L 1ff8,8\n L 1000,4096\n L fff,1\n L 0,1\n");
    expect(t.pages).toEqual([1, 1, 0, 0]);
    expect(t.stats).toMatchObject({ records: 4, accesses: 4, multiPageRecords: 0 });
  });

  it("an M is one write per page, not a read and a write", () => {
    const t = parseLackeyBuffer(" M 1ffc,8\n", "t");
    expect(Array.from(t.pages)).toEqual([1, 2]);
    expect(Array.from(t.kinds)).toEqual([WRITE, WRITE]);
  });

  it("the largest size, 64 KiB, starting mid-page touches 17 pages", () => {
    const t = parse(` L 1001,${MAX_RECORD_BYTES}\n`);
    expect(MAX_RECORD_BYTES).toBe(65536);
    expect(t.pages).toEqual(Array.from({ length: 17 }, (_, i) => 1 + i));
  });

  it("a wide (64-bit) address crossing a page is exact", () => {
    const t = parse(" L 00000000000000000123456789abcfff,2\n L fffffffffffffff8,8\n L ffffffffffffeffc,8\n");
    expect(t.pages).toEqual([0x123456789abc, 0x123456789abd, 2 ** 52 - 1, 2 ** 52 - 2, 2 ** 52 - 1]);
  });

  it("batches stay at batchSize when a record's pages straddle two batches, and reuse one array", () => {
    const t = parse(" L 1ffc,8\n L 2ffc,8\n L 3ffc,8\n", 4);
    expect(t.batches).toEqual([4, 2]);
    expect(t.pages).toEqual([1, 2, 2, 3, 3, 4]);
    expect(t.arrays.size).toBe(1);
    const single = parse(" L 1ffc,8\n L 5000,4\n", 1);
    expect(single.batches).toEqual([1, 1, 1]);
  });

  it("maxRecords counts records; every page of the last record is delivered", () => {
    const t = parse(" L 1ffc,8\n L 2ffc,8\n L 3ffc,8\n", 65536, [], 2);
    expect(t.pages).toEqual([1, 2, 2, 3]);
    expect(t.stats).toMatchObject({ records: 2, accesses: 4 });
  });

  it("size 0 is malformed, with FILE:LINE and the text", () => {
    expect(() => parseLackeyBuffer("I  0400,4\n L 1000,0\n", "prog.lackey")).toThrow(
      'prog.lackey:2: malformed Lackey record: size 0 (a record covers at least one byte) (got " L 1000,0")',
    );
    expect(() => parseLackeyBuffer(" S 1000,000\n", "p")).toThrow("p:1: malformed Lackey record: size 0");
  });

  it("a size above 64 KiB is rejected rather than expanded into accesses", () => {
    expect(() => parseLackeyBuffer("I  0400,4\n L 1000,65537\n", "prog.lackey")).toThrow(
      'prog.lackey:2: malformed Lackey record: size 65537 is larger than 65536 bytes (Lackey never writes more than 512) (got " L 1000,65537")',
    );
    expect(() => parseLackeyBuffer(" L 1000,999999999999999999999\n", "p")).toThrow("p:1: malformed Lackey record: size 999999999999999999999 is larger than 65536 bytes");
  });

  it("property: the pages of a record are floor(addr/4096)..floor((addr+size-1)/4096), however the input is cut and batched", () => {
    const record = fc.record({
      kind: fc.constantFrom("I  ", " L ", " S ", " M "),
      addr: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n - 65536n }), fc.bigInt({ min: 0n, max: 1n << 20n })),
      size: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: MAX_RECORD_BYTES }), fc.constantFrom(1, 4095, 4096, 4097, 8192, MAX_RECORD_BYTES)),
      pad: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (records, batchSize, cuts) => {
        const text = records.map((r) => `${r.kind}${"0".repeat(r.pad)}${r.addr.toString(16)},${r.size}\n`).join("");
        const t = parse(text, batchSize, cuts);
        const expected = records.flatMap((r) => modelPages(r.addr, r.size));
        expect(t.pages).toEqual(expected);
        expect(t.stats.accesses).toBe(expected.length);
        expect(t.stats.multiPageRecords).toBe(records.filter((r) => modelPages(r.addr, r.size).length > 1).length);
        expect(t.batches.every((n, i) => n === batchSize || i === t.batches.length - 1)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
