import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { simulateTranslation, simulateTranslationStream } from "../../src/experiments/translation";
import { parseLackeyBuffer } from "../../src/trace/load-lackey";

const small = { tlb: { entries: 64, ways: 4 }, workload: { kind: "uniform" as const, pages: 2048 }, accesses: 60_000 };

function lackeyText(records: number): string {
  const lines = ["==123== Lackey, an example Valgrind tool"];
  for (let i = 0; i < records; i++) {
    const page = (i * 7919) % 3000;
    const kind = i % 3 === 0 ? "I " : i % 3 === 1 ? " L" : " S";
    lines.push(`${kind} ${(0x400000 + page * 4096 + (i % 4096)).toString(16)},8`);
  }
  return `${lines.join("\n")}\n`;
}

describe("simulateTranslation", () => {
  it("interval rows add up to the totals", () => {
    const r = simulateTranslation({ ...small, mode: "shadow", intervalAccesses: 7000, guest: { processes: 2, switchEvery: 3000, forkEvery: 20_000, unmapEvery: 1000 } });
    const t = r.toTable();
    expect(t.numRows()).toBe(Math.ceil(60_000 / 7000));
    const sum = (c: string) => (t.array(c) as number[]).reduce((a, b) => a + b, 0);
    expect(sum("accesses")).toBe(r.totals.accesses);
    expect(sum("tlbMisses")).toBe(r.totals.tlbMisses);
    expect(sum("memoryReferences")).toBe(r.totals.memoryReferences);
    expect(sum("traps")).toBe(r.totals.traps.total);
    expect(sum("cycles")).toBe(r.totals.cycles);
    expect((t.array("accessesEnd") as number[]).at(-1)).toBe(60_000);
    expect(r.totals.workloadAccesses).toBe(60_000);
  });

  it("drives the guest: switches, fork bursts and unmaps at their periods", () => {
    const r = simulateTranslation({ ...small, mode: "nested", guest: { processes: 3, switchEvery: 6000, forkEvery: 15_000, forkTouchPages: 4, unmapEvery: 2000 } });
    const g = r.totals.guest;
    // Events due at the very end of the run do not start.
    expect(g.forks).toBe(3);
    expect(g.execs).toBe(3);
    expect(g.exits).toBe(3);
    expect(g.unmaps).toBe(29);
    // 9 scheduler switches plus two per fork burst (to the child and back)
    expect(g.switches).toBe(9 + 2 * 3);
    expect(r.totals.accesses).toBe(60_000 + 3 * 4);
    expect(r.totals.traps.total).toBe(0);
  });

  it("warm-up accesses are run but not measured", () => {
    const r = simulateTranslation({ ...small, mode: "native", warmupAccesses: 30_000 });
    expect(r.totals.accesses).toBe(60_000);
    expect(r.totals.guestPageFaults).toBe(0); // every page was touched during warm-up
  });

  it("is deterministic for a seed", () => {
    const opts = { ...small, mode: "shadow" as const, seed: 5, guest: { unmapEvery: 500 } };
    expect(simulateTranslation(opts).totals).toEqual(simulateTranslation(opts).totals);
  });

  it("shadow wins when TLB misses dominate, nested when page-table updates do", () => {
    const quiet = { ...small, pwc: "uptc" as const, nestedTlb: true, accesses: 60_000, warmupAccesses: 30_000 };
    const missHeavy = (mode: "shadow" | "nested") => simulateTranslation({ ...quiet, mode }).totals.cyclesPerAccess;
    const updateHeavy = (mode: "shadow" | "nested") => simulateTranslation({ ...quiet, mode, guest: { unmapEvery: 25 } }).totals.cyclesPerAccess;
    expect(missHeavy("shadow")).toBeLessThan(missHeavy("nested"));
    expect(updateHeavy("nested")).toBeLessThan(updateHeavy("shadow"));
  });

  it("explains settings, counts and a summary line", () => {
    const text = simulateTranslation({ ...small, mode: "protected", trapReads: false }).explain();
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^Settings: protected paging; guest 4-level tables, 4K pages/);
    expect(lines[1]).toMatch(/^Input: workload uniform/);
    expect(text).toMatch(/Traps to the VMM: [0-9,]+ \(page-table writes/);
    expect(lines.at(-1)).toMatch(/^Summary: protected paging costs [0-9.]+ cycles per access/);
  });

  it("replays a Lackey trace, loaded or streamed, with the same totals", async () => {
    const text = lackeyText(20_000);
    const loaded = simulateTranslation({ mode: "nested", trace: parseLackeyBuffer(text, "t.lackey") });
    expect(loaded.totals.accesses).toBe(20_000);
    const streamed = await simulateTranslationStream({ mode: "nested", trace: Readable.from([Buffer.from(text.slice(0, 1000)), Buffer.from(text.slice(1000))]), traceName: "t.lackey" });
    expect(streamed.totals).toEqual(loaded.totals);
    const limited = await simulateTranslationStream({ mode: "native", trace: Readable.from([Buffer.from(text)]), accesses: 5000 });
    expect(limited.totals.accesses).toBe(5000);
  });

  it("rejects a malformed trace line with FILE:LINE and the text", async () => {
    const bad = "I  0400d7d4,8\n L zz12,4\n";
    await expect(simulateTranslationStream({ mode: "nested", trace: Readable.from([Buffer.from(bad)]), traceName: "bad.lackey" })).rejects.toThrow(/bad\.lackey:2: .*zz12/);
  });

  it("rejects bad input naming it", () => {
    expect(() => simulateTranslation({ mode: "nested" })).toThrow(/give exactly one of workload or trace/);
    expect(() => simulateTranslation({ ...small, guest: { forks: 3 } as never })).toThrow(/guest\.forks: unknown option/);
    expect(() => simulateTranslation({ ...small, accesses: 0 })).toThrow(/accesses: must be a positive whole number/);
    expect(() => simulateTranslation({ ...small, workload: { kind: "zipfy" } as never })).toThrow(/workload\.kind/);
  });
});
