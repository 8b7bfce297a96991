import { describe, expect, it } from "vitest";
import { formatBytes, parseBytes, parsePages } from "../../src/util/units";
import { MemvirtError, pathJoin } from "../../src/util/errors";

describe("sizes", () => {
  it("parses binary and decimal units", () => {
    expect(parseBytes("512 MiB")).toBe(512 * 2 ** 20);
    expect(parseBytes("4GiB")).toBe(4 * 2 ** 30);
    expect(parseBytes("2M")).toBe(2 * 2 ** 20);
    expect(parseBytes("2 MB")).toBe(2e6);
    expect(parsePages("512 MiB")).toBe(131072);
    expect(parsePages(1000)).toBe(1000);
    expect(parsePages("10 pages")).toBe(10);
  });

  it("rejects negative, fractional-page and unparseable sizes, naming where", () => {
    expect(() => parsePages(-1, "vms[0].memory")).toThrow(/vms\[0\]\.memory: size must not be negative \(got -1\)/);
    expect(() => parsePages("lots", "vms[1].memory")).toThrow(/vms\[1\]\.memory.*"lots"/);
    expect(() => parsePages("5 KiB", "x")).toThrow(/whole number of 4 KiB pages/);
    expect(() => parsePages("3 parsecs", "x")).toThrow(MemvirtError);
    expect(() => parsePages(1.5, "x")).toThrow(/whole number/);
  });

  it("rejects a size string without a unit, which would otherwise mean bytes where a number means pages", () => {
    expect(() => parsePages("16384", "vms[0].memory")).toThrow(`vms[0].memory: a size string needs a unit: write 16384 (a number, in pages), "16384 pages" or "64 MiB" (got "16384")`);
    expect(() => parseBytes(" 4096 ", "--guest-memory")).toThrow(/^--guest-memory: a size string needs a unit/);
    expect(() => parsePages("0", "x")).toThrow(MemvirtError);
    expect(parsePages(16384)).toBe(16384);
    expect(parsePages("16384 pages")).toBe(16384);
    expect(parseBytes(4096)).toBe(4096);
  });

  it("formats bytes and joins config paths", () => {
    expect(formatBytes(2 ** 21)).toBe("2 MiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(pathJoin("vms", 2, "memory")).toBe("vms[2].memory");
  });
});
