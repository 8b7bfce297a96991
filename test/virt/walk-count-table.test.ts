import { describe, expect, it } from "vitest";
import { walkCountTable } from "../../src/virt/walk-count-table";

describe("walkCountTable", () => {
  it("tabulates simulated counts that match (n+1)(m+1)-1 for nested paging", () => {
    const t = walkCountTable({ modes: ["nested"], guestLevels: [4, 5], hostLevels: [4, 5], guestPageSizes: ["4K", "2M"], hostPageSizes: ["4K", "2M"] });
    expect(t.numRows()).toBe(16);
    for (const r of t.objects() as Array<{ n: number; m: number; memoryReferences: number }>) expect(r.memoryReferences).toBe((r.n + 1) * (r.m + 1) - 1);
  });

  it("skips protected setups it cannot run and has no host columns natively", () => {
    const t = walkCountTable({ modes: ["native", "protected"], guestLevels: [4], hostLevels: [4] });
    const rows = t.objects() as Array<Record<string, unknown>>;
    expect(rows.filter((r) => r.mode === "native")).toHaveLength(3);
    expect(rows.find((r) => r.mode === "native")?.hostPageSize).toBeNull();
    expect(rows.filter((r) => r.mode === "protected")).toHaveLength(6); // guest ≤ host: 3 + 2 + 1
  });
});
