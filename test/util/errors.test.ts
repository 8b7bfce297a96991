import { describe, expect, it } from "vitest";
import { MemvirtError, renameWhere } from "../../src/util/errors";

describe("renameWhere", () => {
  it("re-points a library path to the flag the user typed, keeping the problem, the value and the exit code", () => {
    const e = renameWhere(new MemvirtError("too big", { where: "tlb.entries", value: 7, exitCode: 3 }), { "tlb.entries": "--tlb-entries", tlb: "--tlb" }) as MemvirtError;
    expect(e.message).toBe("--tlb-entries: too big (got 7)");
    expect(e.where).toBe("--tlb-entries");
    expect(e.exitCode).toBe(3);
  });

  it("keeps the tail of a path under a mapped one, and leaves other paths and other errors alone", () => {
    expect((renameWhere(new MemvirtError("bad", { where: "tlb.ways" }), { tlb: "--tlb" }) as Error).message).toBe("--tlb.ways: bad");
    const other = new MemvirtError("bad", { where: "tlbx" });
    expect(renameWhere(other, { tlb: "--tlb" })).toBe(other);
    const plain = new Error("boom");
    expect(renameWhere(plain, { tlb: "--tlb" })).toBe(plain);
  });
});
