import { describe, expect, it } from "vitest";
import { walkCountTable } from "../../src/virt/walk-count-table";
import { walk } from "../../src/virt/walk";

describe("walkCountTable", () => {
  it("tabulates simulated counts that match (n+1)(m+1)-1 for nested paging", () => {
    const t = walkCountTable({ modes: ["nested"], guestLevels: [4, 5], hostLevels: [4, 5], guestPageSizes: ["4K", "2M"], hostPageSizes: ["4K", "2M"] });
    expect(t.numRows()).toBe(16);
    for (const r of t.objects() as Array<{ n: number; m: number; memoryReferences: number }>) expect(r.memoryReferences).toBe((r.n + 1) * (r.m + 1) - 1);
  });

  it("gives the levels walked per dimension and walk()'s formula text", () => {
    const t = walkCountTable({ modes: ["nested"], guestLevels: [4], hostLevels: [4], guestPageSizes: ["4K"], hostPageSizes: ["4K", "2M"] });
    const rows = t.objects() as Array<{ n: number; m: number; memoryReferences: number; formula: string }>;
    expect(rows.map((r) => [r.n, r.m, r.memoryReferences])).toEqual([[4, 4, 24], [4, 3, 19]]);
    expect(rows.map((r) => r.formula)).toEqual([walk({ mode: "nested" }).formula, walk({ mode: "nested", hostPageSize: "2M" }).formula]);
  });

  it("skips protected setups it cannot run and has no host columns natively", () => {
    const t = walkCountTable({ modes: ["native", "protected"], guestLevels: [4], hostLevels: [4] });
    const rows = t.objects() as Array<Record<string, unknown>>;
    expect(rows.filter((r) => r.mode === "native")).toHaveLength(3);
    expect(rows.filter((r) => r.mode === "native").map((r) => [r.hostLevels, r.hostPageSize, r.m])).toEqual([[null, null, 0], [null, null, 0], [null, null, 0]]);
    expect(rows.filter((r) => r.mode === "protected")).toHaveLength(6); // guest ≤ host: 3 + 2 + 1
  });
});
