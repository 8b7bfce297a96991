import { describe, expect, it } from "vitest";
import { walk, parseAddress } from "../../src/virt/walk";
import { MODE_NAMES } from "../../src/virt/mode-name";
import { PAGE_SIZES, leafLevelOf, type PageSize } from "../../src/mmu/page-size";
import type { Walk } from "../../src/mmu/walk-result";

/** The brief's formula, computed independently of the simulator. */
function expectedReferences(mode: string, gl: number, hl: number, gps: PageSize, hps: PageSize): number {
  const n = gl - (leafLevelOf(gps) - 1);
  const m = hl - (leafLevelOf(hps) - 1);
  if (mode === "nested") return (n + 1) * (m + 1) - 1;
  if (mode === "shadow") return gl - (Math.min(leafLevelOf(gps), leafLevelOf(hps)) - 1);
  return n;
}

/** Follow the chain: every reference's entry must lead to the next table, and the last to the data. */
function checkChain(w: Walk): void {
  const refs = w.references;
  if (w.mode !== "nested") {
    for (let i = 0; i + 1 < refs.length; i++) {
      expect(Math.floor(refs[i].entry / 4096) * 4096).toBe(refs[i + 1].tableAddress);
    }
    return;
  }
  // Host walks end in an entry whose frame holds the next guest table (or the data page).
  const guestRefs = refs.filter((r) => r.dimension === "guest");
  for (let i = 0; i < guestRefs.length; i++) {
    const g = guestRefs[i];
    const hostBefore = refs[g.step - 2];
    expect(hostBefore.dimension).toBe("host");
    expect(hostBefore.level).toBe(refs[g.step - 2].level);
    // the machine address the guest reference reads lies in the page the host leaf named
    expect(Math.floor(g.entryAddress / 4096)).toBe(Math.floor(hostBefore.entry / 4096) + ((Math.floor(g.tableAddress / 4096)) % (hostBefore.level === 1 ? 1 : 512 ** (hostBefore.level - 1))));
    if (i + 1 < guestRefs.length) expect(Math.floor(g.entry / 4096) * 4096).toBe(guestRefs[i + 1].tableAddress);
  }
  expect(w.machineAddress % 4096).toBe(w.address % 4096);
}

describe("walk(): reference counts over every combination", () => {
  for (const mode of MODE_NAMES) {
    it(`${mode}: counts match the formula for all levels and page sizes`, () => {
      for (const gl of [4, 5] as const) for (const hl of [4, 5] as const) for (const gps of PAGE_SIZES) for (const hps of PAGE_SIZES) {
        if (mode === "protected" && leafLevelOf(gps) > leafLevelOf(hps)) {
          expect(() => walk({ mode, guestLevels: gl, hostLevels: hl, guestPageSize: gps, hostPageSize: hps })).toThrow(/guestPageSize: protected paging/);
          continue;
        }
        if (mode === "native" && (hl !== 4 || hps !== "4K")) continue; // no host dimension natively
        const w = walk({ mode, guestLevels: gl, hostLevels: hl, guestPageSize: gps, hostPageSize: hps });
        const expected = expectedReferences(mode, gl, hl, gps, hps);
        expect(w.memoryReferences, `${mode} ${gl}/${hl} ${gps}/${hps}`).toBe(expected);
        expect(w.coldReferences).toBe(expected);
        expect(w.references.map((r) => r.step)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
        checkChain(w);
      }
    });
  }

  it("answers the slide: 24 for 4/4, 35 for 5/5, 19 with 2M host pages", () => {
    expect(walk({ mode: "nested" }).memoryReferences).toBe(24);
    expect(walk({ mode: "nested", guestLevels: 5, hostLevels: 5 }).memoryReferences).toBe(35);
    expect(walk({ mode: "nested", hostPageSize: "2M" }).memoryReferences).toBe(19);
    expect(walk({ mode: "nested", guestPageSize: "2M" }).memoryReferences).toBe(19);
    expect(walk({ mode: "nested", guestPageSize: "1G", hostPageSize: "1G" }).memoryReferences).toBe(8);
  });
});

describe("walk(): the 24 references of a 4/4 nested walk", () => {
  const w = walk({ mode: "nested" });

  it("come in rows of four host references and one guest reference, then four for the data", () => {
    const dims = w.references.map((r) => r.dimension[0]).join("");
    expect(dims).toBe("hhhhg".repeat(4) + "hhhh");
    expect(w.references.map((r) => `${r.row},${r.column}`)).toEqual(
      Array.from({ length: 24 }, (_, i) => `${Math.floor(i / 5)},${i % 5}`),
    );
    expect(w.references.filter((r) => r.dimension === "guest").map((r) => r.level)).toEqual([4, 3, 2, 1]);
    expect(w.references.slice(0, 4).map((r) => r.level)).toEqual([4, 3, 2, 1]);
  });

  it("say what each reference translates", () => {
    expect(w.references[0].translates).toMatch(/^gPA 0x[0-9a-f]+ \(guest L4 table\)$/);
    expect(w.references[4].translates).toBe("gVA 0x7f1234567abc");
    expect(w.references[23].translates).toMatch(/\(data page\)$/);
    // the guest L4 index of 0x7f1234567abc is bits 47..39
    expect(w.references[4].index).toBe(Number((0x7f1234567abcn >> 39n) & 511n));
    expect(w.references[19].index).toBe(Number((0x7f1234567abcn >> 12n) & 511n));
  });

  it("explains settings, every step and a summary; toTable has one row per reference", () => {
    const text = w.explain();
    expect(text.split("\n")[0]).toMatch(/^Settings: mode nested; guest 4-level tables, 4K pages; host 4-level tables, 4K pages/);
    expect(text).toMatch(/24\. host/);
    expect(text.split("\n").at(-1)).toMatch(/^Summary: gVA 0x7f1234567abc → gPA 0x[0-9a-f]+ → hPA 0x[0-9a-f]+ in 24 memory references; a cold walk here costs \(n\+1\)\(m\+1\)−1 = \(4\+1\)\(4\+1\)−1 = 24\.$/);
    const t = w.toTable();
    expect(t.numRows()).toBe(24);
    expect(t.columnNames()).toEqual(["step", "dimension", "level", "tableAddress", "index", "entry", "entryAddress", "translates", "row", "column"]);
  });
});

describe("walk().grid(): the picture of a walk", () => {
  it("lays the 24 references of a 4/4 nested walk on a 5 × 5 grid with one empty corner", () => {
    const g = walk({ mode: "nested" }).grid();
    expect(g.rows).toEqual(["guest L4 table", "guest L3 table", "guest L2 table", "guest L1 table", "data page"]);
    expect(g.columns).toEqual(["host L4", "host L3", "host L2", "host L1", "guest entry"]);
    expect(g.steps[0]).toEqual([1, 2, 3, 4, 5]);
    expect(g.steps[4]).toEqual([21, 22, 23, 24, null]);
    expect(g.dimensions[2]).toEqual(["host", "host", "host", "host", "guest"]);
  });

  it("shrinks with large pages and is one column for 1-D walks", () => {
    const g = walk({ mode: "nested", hostPageSize: "2M" }).grid();
    expect(g.columns).toEqual(["host L4", "host L3", "host L2", "guest entry"]);
    expect(g.steps.flat().filter((x) => x !== null)).toHaveLength(19);
    const n = walk({ mode: "native" }).grid();
    expect(n.steps).toEqual([[1], [2], [3], [4]]);
    expect(n.rows[0]).toBe("L4 table");
  });
});

describe("walk(): options", () => {
  it("a page-walk cache and nested TLB already save references inside one cold walk", () => {
    const plain = walk({ mode: "nested" }).memoryReferences;
    const uptc = walk({ mode: "nested", pwc: "uptc" });
    expect(uptc.memoryReferences).toBeLessThan(plain);
    expect(uptc.memoryReferences + uptc.savedReferences).toBe(plain);
    const big = walk({ mode: "nested", hostPageSize: "2M", nestedTlb: true });
    // guest tables share one 2M host page, so the nested TLB answers all but the first table walk
    expect(big.memoryReferences).toBeLessThan(19);
    // A nested-TLB hit saves a whole host walk (3 references here), not one.
    expect(big.memoryReferences + big.savedReferences).toBe(19);
    expect(big.events.filter((e) => e.kind === "cache-hit").length).toBeLessThan(big.savedReferences);
  });

  it("accepts hex addresses and rejects bad ones with the option name", () => {
    expect(walk({ mode: "native", address: "0x1000" }).address).toBe(0x1000);
    expect(parseAddress("4096", "x")).toBe(4096);
    expect(() => walk({ address: "zz" })).toThrow(/address: expected a non-negative address/);
    expect(() => walk({ address: 2 ** 48 })).toThrow(/address: 0x1000000000000 is not canonical with 4-level tables/);
    expect(walk({ guestLevels: 5, hostLevels: 4, address: 2 ** 55 }).memoryReferences).toBe(29);
    expect(() => walk({ mode: "paged" as never })).toThrow(/mode: expected a mode: native, protected, shadow, nested \(got "paged"\)/);
  });
});
