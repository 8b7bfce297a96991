import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { computeSharing, sharingReport, SHARING_COLUMNS } from "../../src/contents/sharing-report";
import { assignContentIds } from "../../src/contents/content-index";
import { MAPPING_KINDS, type MappingKind } from "../../src/contents/mapping-kind";
import { SnapshotBuilder } from "../../src/contents/snapshot-builder";
import type { PageHasher } from "../../src/contents/page-hash";
import { snapshotOf, type TestPage } from "./helpers";

const anon = (...contents: number[]): TestPage[] => contents.map((content) => ({ content, kind: "anon" }));
const file = (...contents: number[]): TestPage[] => contents.map((content) => ({ content, kind: "file" }));

// A: anon 1 1 1 2 0 0 3, file 4 4.   B: file 4 5, anon 1 0 6 6 6.   (0 is the zero page)
const A = () => snapshotOf("A", [...anon(1, 1, 1, 2, 0, 0, 3), ...file(4, 4)]);
const B = () => snapshotOf("B", [...file(4, 5), ...anon(1, 0, 6, 6, 6)]);

describe("sharing report: known duplicates", () => {
  it("counts pages, zero pages, savable pages, within and across exactly", () => {
    const s = computeSharing([A(), B()]);
    const pick = (x: object) => {
      const { byKind: _k, ...rest } = x as { byKind: unknown };
      return rest;
    };
    // A: 9 pages, contents {1,2,0,3,4}: 4 savable (two extra 1s, one extra 0, one extra 4).
    expect(pick(s.snapshots[0])).toEqual({ snapshot: "A", pages: 9, zeroPages: 2, distinctContents: 5, savablePages: 4, nonZeroSavablePages: 3, withinPages: 4, acrossPages: 0 });
    // B: 7 pages, contents {4,5,1,0,6}: 2 savable (two extra 6s); 4, 1 and 0 are already in A.
    expect(pick(s.snapshots[1])).toEqual({ snapshot: "B", pages: 7, zeroPages: 1, distinctContents: 5, savablePages: 2, nonZeroSavablePages: 2, withinPages: 2, acrossPages: 3 });
    // Together: 16 pages, 7 contents {0..6}: 9 savable = 6 within + 3 across; 2 of them zero pages.
    expect(pick(s.overall)).toEqual({ snapshot: "overall", pages: 16, zeroPages: 3, distinctContents: 7, savablePages: 9, nonZeroSavablePages: 7, withinPages: 6, acrossPages: 3 });
    expect(s.overall.byKind).toEqual([
      { kind: "anon", pages: 12, zeroPages: 3, savablePages: 7, nonZeroSavablePages: 5, withinPages: 5, acrossPages: 2 },
      { kind: "file", pages: 4, zeroPages: 0, savablePages: 2, nonZeroSavablePages: 2, withinPages: 1, acrossPages: 1 },
    ]);
    expect(s.snapshots[1].byKind).toEqual([
      { kind: "anon", pages: 5, zeroPages: 1, savablePages: 2, nonZeroSavablePages: 2, withinPages: 2, acrossPages: 2 },
      { kind: "file", pages: 2, zeroPages: 0, savablePages: 0, nonZeroSavablePages: 0, withinPages: 0, acrossPages: 1 },
    ]);
    expect(s.comparedBy).toBe("hash");
  });

  it("gives the same figures comparing bytes as comparing xxh64 hashes, when nothing collides", () => {
    const byHash = computeSharing([A(), B()]);
    const withBytes = computeSharing([snapshotOf("A", [...anon(1, 1, 1, 2, 0, 0, 3), ...file(4, 4)], { keepBytes: true }), snapshotOf("B", [...file(4, 5), ...anon(1, 0, 6, 6, 6)], { keepBytes: true })]);
    expect(withBytes.comparedBy).toBe("bytes");
    expect(withBytes.collidingContents).toBe(0);
    expect(withBytes.overall).toEqual(byHash.overall);
    expect(withBytes.snapshots).toEqual(byHash.snapshots);
  });

  it("returns an arquero table: a row per snapshot and an overall row with the same columns; by kind on request", () => {
    const table = sharingReport([A(), B()]);
    expect(table.columnNames()).toEqual([...SHARING_COLUMNS]);
    const rows = table.objects() as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.snapshot)).toEqual(["A", "B", "overall"]);
    expect(rows[2]).toEqual({ snapshot: "overall", pages: 16, zeroPages: 3, distinctContents: 7, savablePages: 9, savablePercent: 56.25, nonZeroSavablePages: 7, nonZeroSavablePercent: 43.75, withinPages: 6, acrossPages: 3 });
    const byKind = sharingReport([A(), B()], { byKind: true });
    expect(byKind.columnNames()).toEqual(["snapshot", "kind", "pages", "zeroPages", "savablePages", "savablePercent", "nonZeroSavablePages", "nonZeroSavablePercent", "withinPages", "acrossPages"]);
    const kindRows = byKind.objects() as Array<Record<string, number | string>>;
    expect(kindRows.map((r) => `${r.snapshot}/${r.kind}`)).toEqual(["A/anon", "A/file", "B/anon", "B/file", "overall/anon", "overall/file"]);
    expect(kindRows.find((r) => r.snapshot === "overall" && r.kind === "file")).toMatchObject({ pages: 4, savablePages: 2, savablePercent: 50 });
    expect(sharingReport([], { byKind: true }).numRows()).toBe(0);
    expect(sharingReport([]).objects()).toEqual([{ snapshot: "overall", pages: 0, zeroPages: 0, distinctContents: 0, savablePages: 0, savablePercent: 0, nonZeroSavablePages: 0, nonZeroSavablePercent: 0, withinPages: 0, acrossPages: 0 }]);
  });

  it("refuses snapshots of different page sizes or hash functions, naming the odd one", () => {
    const big = snapshotOf("big.mvpages", [1, 2], { pageSizeBytes: 8192 });
    expect(() => computeSharing([A(), big])).toThrow("big.mvpages: page size 8192 differs from the 4096 of A; pages of different sizes never share");
    const weak = snapshotOf("weak.mvpages", [1, 2], { hasher: { name: "weak", hash: () => 0n } });
    expect(() => computeSharing([A(), weak])).toThrow("weak.mvpages: hashed with weak, A with xxh64; their hashes cannot be compared");
  });
});

describe("sharing report: hash collisions", () => {
  // Two hash values for all pages: nearly every pair of different pages collides.
  const weak: PageHasher = { name: "weak", hash: (page) => BigInt(page[0] & 1) };

  it("with bytes kept, a weak hash never merges different contents: equal hashes are compared byte for byte", () => {
    const a = snapshotOf("a", [1, 3, 5, 7, 1, 0, 0], { hasher: weak, keepBytes: true });
    const b = snapshotOf("b", [2, 4, 3, 9, 9], { hasher: weak, keepBytes: true });
    const s = computeSharing([a, b]);
    expect(s.comparedBy).toBe("bytes");
    // Contents {1,3,5,7,0,2,4,9}: 8 of 12 pages; 1, 0, 9 and 3 repeat.
    expect(s.overall).toMatchObject({ pages: 12, distinctContents: 8, savablePages: 4, withinPages: 3, acrossPages: 1 });
    expect(s.collidingContents).toBe(5); // odd contents hash to 1: 3, 5, 7, 9 collide with 1; even ones to 0: 4 with 2
  });

  it("without bytes it can only count hashes, and says so: the weak hash merges what differs", () => {
    const a = snapshotOf("a", [1, 3, 5], { hasher: weak });
    const s = computeSharing([a]);
    expect(s.comparedBy).toBe("hash");
    expect(s.overall.savablePages).toBe(2); // 1, 3 and 5 all hash to 1
  });

  it("never takes a non-zero page for the zero page, even when its hash is the zero page's", () => {
    const zeroHash: PageHasher = { name: "constant", hash: () => 0n };
    const a = snapshotOf("a", [0, 1, 0, 2], { hasher: zeroHash });
    expect(a.hash(0)).toBe(a.hash(1));
    const s = computeSharing([a]);
    expect(s.overall).toMatchObject({ zeroPages: 2, distinctContents: 2, savablePages: 2, nonZeroSavablePages: 1 });
    const ids = assignContentIds([a]).ids[0];
    expect([...ids]).toEqual([0, 1, 0, 1]);
  });
});

describe("sharing report: property against a brute-force count", () => {
  const page = fc.record({ content: fc.integer({ min: 0, max: 6 }), kind: fc.constantFrom<MappingKind>(...MAPPING_KINDS) });
  const snapshots = fc.array(fc.array(page, { maxLength: 25 }), { minLength: 1, maxLength: 4 });

  it("savable, within, across and the by-kind attribution equal brute-force counts over random snapshots (by hash and by bytes, with a weak hash)", () => {
    const weak: PageHasher = { name: "weak", hash: (p) => BigInt(p[0] % 3) };
    fc.assert(
      fc.property(snapshots, fc.constantFrom("xxh64", "weak-with-bytes"), (lists, mode) => {
        const snaps = lists.map((pages, s) => snapshotOf(`s${s}`, pages, mode === "xxh64" ? { pageSizeBytes: 64 } : { pageSizeBytes: 64, hasher: weak, keepBytes: true }));
        const r = computeSharing(snaps);
        // Brute force: contents as numbers, page order as built (regions keep the given order).
        const ordered = lists.map((pages) => pages);
        const all = ordered.flat();
        const distinct = (xs: TestPage[]) => new Set(xs.map((p) => p.content)).size;
        expect(r.overall.pages).toBe(all.length);
        expect(r.overall.zeroPages).toBe(all.filter((p) => p.content === 0).length);
        expect(r.overall.savablePages).toBe(all.length - distinct(all));
        const nonZero = all.filter((p) => p.content !== 0);
        expect(r.overall.nonZeroSavablePages).toBe(nonZero.length - distinct(nonZero));
        let within = 0;
        const earlier = new Set<number>();
        ordered.forEach((pages, s) => {
          expect(r.snapshots[s].savablePages).toBe(pages.length - distinct(pages));
          within += pages.length - distinct(pages);
          const firstHere = new Set(pages.map((p) => p.content));
          expect(r.snapshots[s].acrossPages).toBe([...firstHere].filter((c) => earlier.has(c)).length);
          firstHere.forEach((c) => earlier.add(c));
        });
        expect(r.overall.withinPages).toBe(within);
        expect(r.overall.acrossPages).toBe(r.overall.savablePages - within);
        // By kind: every copy after the first (snapshot order, then page order) is savable, in its own kind.
        const seen = new Set<number>();
        const savableByKind = new Map<string, number>();
        for (const p of all) {
          if (seen.has(p.content)) savableByKind.set(p.kind!, (savableByKind.get(p.kind!) ?? 0) + 1);
          seen.add(p.content);
        }
        for (const row of r.overall.byKind) expect(row.savablePages).toBe(savableByKind.get(row.kind) ?? 0);
        expect(r.overall.byKind.reduce((n, k) => n + k.savablePages, 0)).toBe(r.overall.savablePages);
        for (const k of r.overall.byKind) expect(k.acrossPages).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

describe("sharing report: scale", () => {
  it("counts 200,000 hash-only pages in well under a second", () => {
    const b = new SnapshotBuilder({ name: "big" });
    b.beginRegion({ startAddress: 0n, endAddress: 200_000n * 4096n, kind: "anon", name: "" });
    for (let i = 0; i < 200_000; i++) b.addPageHash(i, BigInt(i % 50_000) * 0x9e3779b97f4a7c15n, { zero: i % 1000 === 0 });
    const snap = b.finish();
    const t0 = performance.now();
    const s = computeSharing([snap]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(s.overall.zeroPages).toBe(200);
    // 50,000 hashes (i mod 50,000), less the 50 residues that only ever fall on zero pages (multiples
    // of 1,000), plus the zero page.
    expect(s.overall.distinctContents).toBe(50_000 - 50 + 1);
  });
});
