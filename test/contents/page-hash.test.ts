import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hashHalves, isZeroPage, XXH64_HASHER } from "../../src/contents/page-hash";

const hasXxhsum = spawnSync("sh", ["-c", "command -v xxhsum"]).status === 0;

describe("page hashing", () => {
  it("is XXH64 with seed 0: the published value for empty input", () => {
    expect(XXH64_HASHER.hash(new Uint8Array(0)).toString(16)).toBe("ef46db3751d8e999");
  });

  it.skipIf(!hasXxhsum)(`agrees with Debian's xxhsum -H1 on real pages${hasXxhsum ? "" : " (skipped: xxhsum is not installed; apt-get install xxhash)"}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-xxh-"));
    try {
      const pages = [new Uint8Array(4096), new Uint8Array(4096).fill(0xa5), Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff)];
      pages.forEach((p, i) => fs.writeFileSync(path.join(dir, `p${i}`), p));
      const r = spawnSync("xxhsum", ["-H1", ...pages.map((_, i) => path.join(dir, `p${i}`))], { encoding: "utf8" });
      const theirs = r.stdout.trim().split("\n").map((line) => line.split(/\s+/)[0]);
      expect(pages.map((p) => XXH64_HASHER.hash(p).toString(16).padStart(16, "0"))).toEqual(theirs);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("recognises zero pages by their bytes: one set bit anywhere, even the last, makes a page non-zero", () => {
    const page = new Uint8Array(4096);
    expect(isZeroPage(page)).toBe(true);
    for (const at of [0, 1, 2047, 4095]) {
      page[at] = 1;
      expect(isZeroPage(page)).toBe(false);
      page[at] = 0;
    }
    expect(isZeroPage(new Uint8Array(64))).toBe(true);
    expect(isZeroPage(Buffer.alloc(8192).subarray(4096))).toBe(true);
  });

  it("splits a hash into its 32-bit halves", () => {
    expect(hashHalves(0xffffffff_00000001n)).toEqual({ lo: 1, hi: 0xffffffff });
  });
});
