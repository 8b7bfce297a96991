import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Readable } from "node:stream";
import { simulateTranslation, simulateTranslationStream, TRANSLATION_INTERVAL_COLUMNS, type TranslationIntervalRow } from "../../src/experiments/translation";
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

/** Records that each touch one page (page-aligned, 8 bytes): one access per record. */
function onePagePerRecord(records: number): string {
  const lines = ["==123== Lackey"];
  for (let i = 0; i < records; i++) lines.push(` L ${(0x400000 + ((i * 7919) % 3000) * 4096).toString(16)},8`);
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
    // Eager host backing: nested paging then takes no trap at all (lazy backing adds EPT violations).
    const r = simulateTranslation({ ...small, mode: "nested", hostBacking: "eager", guest: { processes: 3, switchEvery: 6000, forkEvery: 15_000, forkTouchPages: 4, unmapEvery: 2000 } });
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

  it("is deterministic for a seed, and another seed gives other numbers", () => {
    const opts = { ...small, mode: "shadow" as const, seed: 5, guest: { unmapEvery: 500 } };
    const five = simulateTranslation(opts).totals;
    expect(simulateTranslation(opts).totals).toEqual(five);
    const six = simulateTranslation({ ...opts, seed: 6 }).totals;
    expect(six.accesses).toBe(five.accesses);
    expect(six).not.toEqual(five);
    // The workload alone (no guest activity) must follow the seed too.
    const plain = (seed: number) => simulateTranslation({ ...small, mode: "native", seed }).totals;
    expect(plain(1)).not.toEqual(plain(2));
  });

  it("the seed drives the guest's activity too: a trace (no workload to seed) gives other numbers for another seed", () => {
    // Native paging has no P→M scatter, so only the guest activity's generator can follow the seed.
    const trace = parseLackeyBuffer(lackeyText(20_000), "t.lackey");
    const run = (seed: number) => simulateTranslation({ mode: "native", trace, seed, guest: { unmapEvery: 50, processes: 2, forkEvery: 4000 } }).totals;
    const five = run(5);
    expect(run(5)).toEqual(five);
    const six = run(6);
    expect(six.accesses).toBe(five.accesses);
    expect(six.guest.unmaps).toBe(five.guest.unmaps); // as many unmaps, of other pages
    expect([six.guestPageFaults, six.ptWrites]).not.toEqual([five.guestPageFaults, five.ptWrites]);
  });

  it("an input that ends during the warm-up measures nothing, and says so", async () => {
    const text = onePagePerRecord(3000);
    const loaded = simulateTranslation({ mode: "nested", trace: parseLackeyBuffer(text, "t.lackey"), warmupAccesses: 5000 });
    const streamed = await simulateTranslationStream({ mode: "nested", trace: Readable.from([Buffer.from(text)]), warmupAccesses: 5000 });
    for (const r of [loaded, streamed]) {
      const t = r.totals;
      expect([t.accesses, t.workloadAccesses, t.tlbHits, t.tlbMisses, t.memoryReferences, t.cycles, t.guestPageFaults, t.ptWrites, t.traps.total]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(t.guest.demandFaults).toBe(0);
      expect(r.toTable().numRows()).toBe(0);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(/input ended during the warm-up, after 3,000 accesses of the 5,000 asked for: nothing was measured/);
      expect(r.explain()).toMatch(/\nWarning: the input ended during the warm-up/);
    }
    // A warm-up that fits leaves no warning.
    expect(simulateTranslation({ mode: "nested", trace: parseLackeyBuffer(text, "t.lackey"), warmupAccesses: 1000 }).warnings).toEqual([]);
  });

  it("warns when the input ends before the accesses asked for", async () => {
    const r = await simulateTranslationStream({ mode: "native", trace: Readable.from([Buffer.from(onePagePerRecord(2000))]), accesses: 5000 });
    expect(r.totals.workloadAccesses).toBe(2000);
    expect(r.warnings).toEqual(["the input ended after 2,000 measured accesses of the 5,000 asked for"]);
  });

  it("streams every interval row to onInterval as it closes, in table order", async () => {
    const rows: TranslationIntervalRow[] = [];
    const r = simulateTranslation({ ...small, mode: "shadow", intervalAccesses: 7000, onInterval: (row) => rows.push(row) });
    expect(rows).toHaveLength(Math.ceil(60_000 / 7000));
    expect(rows.map((row) => row.interval)).toEqual(rows.map((_, i) => i));
    expect(r.toTable().objects()).toEqual(rows);
    expect(Object.keys(rows[0])).toEqual([...TRANSLATION_INTERVAL_COLUMNS]);
    expect(rows.reduce((a, row) => a + row.tlbMisses, 0)).toBe(r.totals.tlbMisses);
    const streamed: number[] = [];
    const s = await simulateTranslationStream({ mode: "native", trace: Readable.from([Buffer.from(onePagePerRecord(5000))]), intervalAccesses: 1, keepIntervals: 0, onInterval: (row) => streamed.push(row.accessesEnd) });
    expect(streamed).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(s.toTable().numRows()).toBe(0);
    expect(s.warnings).toEqual([]); // every row went to onInterval: nothing was lost
  });

  it("keeps only the last keepIntervals rows, and says how many were dropped", () => {
    // Warmed up, so the run is steady and the dropped rows are its only warning.
    const r = simulateTranslation({ ...small, mode: "native", accesses: 5000, warmupAccesses: 20_000, intervalAccesses: 10, keepIntervals: 30 });
    const t = r.toTable();
    expect(t.numRows()).toBe(30);
    expect(t.array("interval")).toEqual(Array.from({ length: 30 }, (_, i) => 470 + i));
    expect((t.array("accessesEnd") as number[]).at(-1)).toBe(5000);
    expect(r.warnings).toEqual(["the interval table keeps the last 30 rows of 500 (keepIntervals); pass onInterval to receive every row as it closes"]);
    expect(() => simulateTranslation({ ...small, keepIntervals: -1 })).toThrow(/keepIntervals: must be a whole number/);
    expect(() => simulateTranslation({ ...small, onInterval: 3 as never })).toThrow(/onInterval: must be a function/);
  });

  it("holds memory flat with one interval per access (2M rows in a 64 MiB heap)", () => {
    const root = path.resolve(__dirname, "..", "..");
    const code = `const { simulateTranslation } = require("./src/experiments/translation.ts");
      const r = simulateTranslation({ mode: "native", workload: { kind: "uniform", pages: 64 }, accesses: 2e6, intervalAccesses: 1, keepIntervals: 10 });
      process.stdout.write(String(r.toTable().numRows()));`;
    const child = spawnSync(process.execPath, ["--max-old-space-size=64", "--import", "tsx", "-e", code], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(child.stderr).not.toMatch(/heap out of memory/);
    expect(child.status).toBe(0);
    expect(child.stdout).toBe("10");
  }, 60_000);

  it("writes counts in the right number: 1 access, 1 miss", () => {
    const text = simulateTranslation({ mode: "native", workload: { kind: "uniform", pages: 8 }, accesses: 1 }).explain();
    expect(text).toMatch(/^ {2}1 access: 0 TLB hits, 1 miss \(100\.00%\)\.$/m);
    expect(text).toMatch(/took 1 page fault and made [0-9]+ page-table writes, [0-9]+ reads and 0 CR3 switches \(0 forks, 0 unmaps\)/);
    expect(text).toMatch(/^Input: workload uniform[^;]*; guest: 1 process\.$/m);
    expect(text).not.toMatch(/\b1 (accesses|misses|page faults|traps|processes)\b/);
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

  it("explains the policies' own trap kinds only where they happened", () => {
    const trapsLine = (o: Parameters<typeof simulateTranslation>[0]) => simulateTranslation(o).explain().split("\n").find((l) => l.includes("Traps to the VMM"))!;
    const lazy = trapsLine({ ...small, mode: "nested", accesses: 5000 });
    expect(lazy).toMatch(/, TLB flushes 0, EPT violations [1-9][0-9,]*\)\.$/);
    expect(trapsLine({ ...small, mode: "nested", hostBacking: "eager", accesses: 5000 })).toMatch(/, TLB flushes 0\)\.$/);
    expect(trapsLine({ ...small, mode: "protected", accesses: 5000, guest: { forkEvery: 2000 } })).toMatch(/, multicalls [1-9][0-9,]*, pins [1-9][0-9,]*\)\.$/);
  });

  it("totals and explain() say what the policies did with the page-table writes", () => {
    const xen = simulateTranslation({ ...small, mode: "protected", accesses: 5000, guest: { forkEvery: 2000 } });
    const t = xen.totals;
    expect(t.batchedPtWrites).toBeGreaterThan(0);
    expect(t.validatedEntries).toBeGreaterThan(0);
    expect(xen.explain()).toContain(`  Of those writes: ${t.directPtWrites.toLocaleString("en-US")} direct (no trap), ${t.batchedPtWrites.toLocaleString("en-US")} batched into multicalls, ${t.validatedEntries.toLocaleString("en-US")} entries validated at pins.`);
    const kvm = simulateTranslation({ ...small, mode: "shadow", accesses: 5000, guest: { unmapEvery: 100 } }).totals;
    expect(kvm.resyncedEntries).toBeGreaterThan(0);
    // The slides' models do nothing of the sort: no such line.
    const slides = simulateTranslation({ ...small, mode: "shadow", shadowPolicy: "slides", accesses: 5000, guest: { unmapEvery: 100 } });
    expect([slides.totals.directPtWrites, slides.totals.resyncedEntries]).toEqual([0, 0]);
    expect(slides.explain()).not.toContain("Of those writes");
  });

  it("replays a Lackey trace, loaded or streamed, with the same totals", async () => {
    const text = lackeyText(20_000);
    const loaded = simulateTranslation({ mode: "nested", trace: parseLackeyBuffer(text, "t.lackey") });
    // 20,000 records, 28 of which cross a page boundary (offset i % 4096 >= 4089, size 8): 2 accesses each.
    expect(loaded.totals.accesses).toBe(20_028);
    const streamed = await simulateTranslationStream({ mode: "nested", trace: Readable.from([Buffer.from(text.slice(0, 1000)), Buffer.from(text.slice(1000))]), traceName: "t.lackey" });
    expect(streamed.totals).toEqual(loaded.totals);
    const limited = await simulateTranslationStream({ mode: "native", trace: Readable.from([Buffer.from(text)]), accesses: 5000 });
    expect(limited.totals.accesses).toBe(5000);
  });

  it("rejects a streamed record beyond the guest's address space at FILE:LINE, echoing its hex", async () => {
    const far = "I  0400d7d4,8\n L 1000000000000,4\n";
    await expect(simulateTranslationStream({ mode: "nested", trace: Readable.from([Buffer.from(far)]), traceName: "far.lackey" })).rejects.toThrow(
      'far.lackey:2: address 1000000000000 is outside the 48-bit virtual address space (got " L 1000000000000,4")',
    );
    const r = await simulateTranslationStream({ mode: "nested", guestLevels: 5, trace: Readable.from([Buffer.from(far)]), traceName: "far.lackey" });
    expect(r.totals.accesses).toBe(2);
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

describe("what the trace held", () => {
  it("a loaded trace's stats ride on the result and in explain(); a workload has none", () => {
    const r = simulateTranslation({ mode: "native", trace: parseLackeyBuffer("I  04000ffe,4\n L 04001000,4\n", "t.lackey") });
    expect(r.traceStats).toMatchObject({ records: 2, accesses: 3, multiPageRecords: 1, skipped: 0 });
    expect(r.explain()).toContain("The trace: 2 records, 3 page accesses (1 record crossing a page); 0 other lines skipped.");
    expect(simulateTranslation({ mode: "native", workload: { kind: "uniform", pages: 16 }, accesses: 100 }).traceStats).toBeUndefined();
  });
});
