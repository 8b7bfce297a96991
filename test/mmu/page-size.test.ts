import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { levelIndex, leafLevelOf, framesPerPage, parsePageSize, parseLevels, smallerPageSize } from "../../src/mmu/page-size";
import { MemvirtError } from "../../src/util/errors";

describe("page sizes and indices", () => {
  it("takes 9-bit indices that match BigInt arithmetic for 57-bit page numbers", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 45n) - 1n }), fc.integer({ min: 1, max: 5 }), (page, level) => {
      const expected = Number((page >> BigInt(9 * (level - 1))) & 511n);
      return levelIndex(Number(page), level) === expected;
    }));
  });

  it("places 4K, 2M and 1G leaves at levels 1, 2 and 3", () => {
    expect([leafLevelOf("4K"), leafLevelOf("2M"), leafLevelOf("1G")]).toEqual([1, 2, 3]);
    expect([framesPerPage("4K"), framesPerPage("2M"), framesPerPage("1G")]).toEqual([1, 512, 262144]);
    expect(smallerPageSize("2M", "4K")).toBe("4K");
    expect(smallerPageSize("1G", "2M")).toBe("2M");
  });

  it("parses page sizes as users write them and names the bad value", () => {
    expect(parsePageSize("2MiB")).toBe("2M");
    expect(parsePageSize("4k")).toBe("4K");
    expect(parsePageSize(1073741824)).toBe("1G");
    expect(() => parsePageSize("3M", "--host-page-size")).toThrow(/--host-page-size: expected a page size: 4K, 2M or 1G \(got "3M"\)/);
    expect(() => parseLevels(3, "guestLevels")).toThrow(MemvirtError);
    expect(parseLevels("5")).toBe(5);
  });
});
