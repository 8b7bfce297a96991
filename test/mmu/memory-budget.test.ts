import { beforeEach, describe, expect, it, vi } from "vitest";

// The budget follows os.totalmem(); the tests pick the machine's memory.
const machine = vi.hoisted(() => ({ bytes: 16 * 2 ** 30 }));
vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof import("node:os")>();
  return { ...os, totalmem: () => machine.bytes };
});

import { checkStateFits, stateBudgetBytes } from "../../src/mmu/memory-budget";
import { SetAssociativeCache } from "../../src/mmu/set-associative-cache";
import { Tlb } from "../../src/mmu/tlb";
import { Mmu } from "../../src/virt/mmu";
import { MemvirtError } from "../../src/util/errors";

beforeEach(() => { machine.bytes = 16 * 2 ** 30; });

describe("the simulator's memory budget", () => {
  it("is 3/4 of the machine's memory, and a refusal names the figure, the machine and where", () => {
    expect(stateBudgetBytes()).toBe(12 * 2 ** 30);
    expect(() => checkStateFits(12 * 2 ** 30, "x", "y")).not.toThrow();
    expect(() => checkStateFits(12 * 2 ** 30 + 1, "a TLB of 2 entries", "tlb.entries", 2)).toThrow(
      "tlb.entries: a TLB of 2 entries needs about 12.00 GiB of simulator state; this machine has 16 GiB of memory, of which the simulator may use 12 GiB (got 2)");
  });

  it("refuses a TLB of 2^30 entries in its constructor, before allocating", () => {
    // 2^30 entries: 61 GiB of arrays; without the check, a RangeError (or the OOM killer).
    const t0 = performance.now();
    expect(() => new Mmu({ tlb: { entries: 2 ** 30, ways: 4 } })).toThrow(/^tlb\.entries: a cache of 1,073,741,824 entries needs about 61 GiB of simulator state; this machine has 16 GiB/);
    expect(() => new Tlb({ entries: 2 ** 30 }, "--tlb-entries")).toThrow(/^--tlb-entries\.entries: a cache of 1,073,741,824 entries/);
    expect(() => new Mmu({ nestedTlb: { entries: 2 ** 29 } })).toThrow(/^nestedTlb\.entries: a cache of 536,870,912 entries/);
    expect(() => new Mmu({ pwc: { design: "stc", entries: [2 ** 29] } })).toThrow(/^pwc\.entries\[0\]\.entries: a cache of 536,870,912 entries/);
    expect(performance.now() - t0).toBeLessThan(2000); // refused, not attempted
  });

  it("estimates a cache's arrays exactly", () => {
    for (const [entries, ways, lru] of [[1536, 12, "list"], [64, 4, "list"], [32, 4, "stamp"], [2 ** 16, 16, "list"]] as const) {
      const c = new SetAssociativeCache({ entries, ways }, "c", lru);
      expect(c.stateBytes).toBe(SetAssociativeCache.stateBytesOf(entries, entries / ways, 32 - c.hashShift, lru));
    }
    // A cache just over the budget is refused; the same on a machine twice as large is built.
    machine.bytes = 2 ** 20;
    expect(() => new SetAssociativeCache({ entries: 8192, ways: 8 }, "tlb")).toThrow(MemvirtError);
    machine.bytes = 2 ** 30;
    expect(new SetAssociativeCache({ entries: 8192, ways: 8 }, "tlb").entries).toBe(8192);
  });

  it("refuses an Mmu whose guest memory and caches will not fit, naming guestMemory", () => {
    machine.bytes = 256 * 2 ** 20; // budget 192 MiB
    // 1 TiB of guest memory: 2^28 pages × 26 bytes of guest-side arrays ≈ 6.5 GiB.
    expect(() => new Mmu({ guestMemory: "1 TiB" })).toThrow(/^guestMemory: an Mmu with 1 TiB of guest memory and its caches needs about 6\.\d+ GiB of simulator state; this machine has 256 MiB of memory, of which the simulator may use 192 MiB \(got "1 TiB"\)/);
    expect(new Mmu({ guestMemory: "1 GiB" }).settings.guestMemoryBytes).toBe(2 ** 30);
  });
});
