import { describe, expect, it } from "vitest";
import { runCli } from "./run-cli";

describe("memvirt walk", () => {
  it("prints the 24 references of a nested 4/4 walk, and 19 with 2M host pages (--json)", () => {
    const r = runCli(["walk", "--json"]);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.memoryReferences).toBe(24);
    expect(data.references).toHaveLength(24);
    expect(data.references[4]).toMatchObject({ step: 5, dimension: "guest", level: 4 });
    const big = JSON.parse(runCli(["walk", "--host-page-size", "2M", "--json"]).stdout);
    expect(big.memoryReferences).toBe(19);
    expect(big.formula).toBe("(n+1)(m+1)−1 = (4+1)(3+1)−1 = 19");
  });

  it("narrates with --explain and tabulates by default", () => {
    const explained = runCli(["walk", "--mode", "shadow", "--address", "0x1000", "--explain"]);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toMatch(/^Settings: mode shadow/);
    expect(explained.stdout).toMatch(/Summary: gVA 0x1000 → gPA 0x[0-9a-f]+ → hPA 0x[0-9a-f]+ in 4 memory references/);
    const table = runCli(["walk", "--mode", "native", "--guest-levels", "5"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^step\s+dimension\s+level\s+table\s+index\s+entry\s+translates$/);
    expect(table.stdout).toMatch(/5 memory references/);
  });

  it.each([
    [["--mode", "native", "--host-levels", "5"], "--host-levels: native paging has no host page tables; drop it or choose another --mode (got \"5\")"],
    [["--mode", "shadow", "--nested-tlb"], "--nested-tlb: a nested TLB exists only in nested paging, not --mode shadow"],
    [["--mode", "native", "--mode", "shadow"], "--mode: given 2 times; give it once"],
    [["--mode=native", "--mode", "native"], "--mode: given 2 times; give it once"],
  ])("rejects a moot or repeated flag: %j", (flags, message) => {
    const r = runCli(["walk", ...flags]);
    expect(r.stderr).toBe(`memvirt: error: ${message}\n`);
    expect(r.code).toBe(2);
  });

  it("rejects a bad flag value with one line naming the flag, exit 2", () => {
    const r = runCli(["walk", "--host-page-size", "3M"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--host-page-size: expected a page size: 4K, 2M or 1G \(got "3M"\)/);
  });
});
