import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { LackeyParser, loadLackeyTrace, loadLackeyTraceSync, parseLackeyBuffer } from "../../src";

const dir = mkdtempSync(join(tmpdir(), "memvirt-address-bits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("addresses outside the address space echo the hex as the trace wrote it", () => {
  it("an address at or above 2^48 with addressBits 48 is named in hex, with FILE:LINE", () => {
    expect(() => parseLackeyBuffer("I  0400,4\n L 1000000000000,8\n", "big.lackey", { addressBits: 48 })).toThrow(
      'big.lackey:2: address 1000000000000 is outside the 48-bit virtual address space (got " L 1000000000000,8")',
    );
  });

  it("leading zeros and upper case are echoed as typed, not re-formatted", () => {
    expect(() => parseLackeyBuffer(" S 0001FFFF00000000,4\n", "t", { addressBits: 48 })).toThrow(
      't:1: address 0001FFFF00000000 is outside the 48-bit virtual address space (got " S 0001FFFF00000000,4")',
    );
  });

  it("a record starting inside but ending outside says it runs past the end", () => {
    expect(() => parseLackeyBuffer(" L ffffffffffff,8\n", "t", { addressBits: 48 })).toThrow(
      't:1: record ffffffffffff,8 runs past the end of the 48-bit virtual address space (got " L ffffffffffff,8")',
    );
    expect(() => parseLackeyBuffer(" L fffffffffffffffc,8\n", "t")).toThrow("t:1: record fffffffffffffffc,8 runs past the end of the 64-bit virtual address space");
  });

  it("the last byte of the space is accepted; 57 bits (5-level tables) take what 48 refuse", () => {
    expect(Array.from(parseLackeyBuffer(" L fffffffffff8,8\n", "t", { addressBits: 48 }).pages)).toEqual([2 ** 36 - 1]);
    expect(Array.from(parseLackeyBuffer(" L 1000000000000,8\n", "t", { addressBits: 57 }).pages)).toEqual([2 ** 36]);
    expect(() => parseLackeyBuffer(" L 200000000000000,8\n", "t", { addressBits: 57 })).toThrow("t:1: address 200000000000000 is outside the 57-bit virtual address space");
  });

  it("by default (64 bits) an address wider than 64 bits is malformed and echoed", () => {
    expect(() => parseLackeyBuffer(" L 10000000000000000,8\n", "t")).toThrow(
      't:1: malformed Lackey record: address 10000000000000000 is wider than 64 bits (got " L 10000000000000000,8")',
    );
  });

  it("every loader passes addressBits on: buffer, file (gzip), stream", async () => {
    const text = "I  0400,4\n L 7fffffffffff,1\n L 800000000000,1\n L 1000000000000,8\n";
    const path = join(dir, "t.lackey.gz");
    writeFileSync(path, gzipSync(Buffer.from(text)));
    const message = `${path}:4: address 1000000000000 is outside the 48-bit virtual address space`;
    expect(() => loadLackeyTraceSync(path, { addressBits: 48 })).toThrow(message);
    await expect(loadLackeyTrace(path, { addressBits: 48 })).rejects.toThrow(message);
    expect(loadLackeyTraceSync(path, { addressBits: 57 }).stats.records).toBe(4);
  });

  it("property: for any addressBits, a record is refused exactly when its last byte is at or above 2^addressBits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 13, max: 64 }),
        fc.integer({ min: 0, max: 20 }),
        fc.bigInt({ min: -4096n, max: 4096n }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 2 }),
        (bits, below, nudge, size, pad) => {
          // Addresses near the top of the space, where the check matters.
          let addr = (1n << BigInt(bits)) - (1n << BigInt(Math.min(below, bits - 1))) + nudge;
          if (addr < 0n) addr = 0n;
          if (addr + BigInt(size) > 1n << 64n) addr = (1n << 64n) - BigInt(size);
          const hex = "0".repeat(pad) + addr.toString(16);
          const run = () => parseLackeyBuffer(` L ${hex},${size}\n`, "t", { addressBits: bits });
          if (addr + BigInt(size) - 1n < 1n << BigInt(bits)) {
            expect(Array.from(run().pages)[0]).toBe(Number(addr >> 12n));
          } else {
            expect(run).toThrow(addr < 1n << BigInt(bits) ? `t:1: record ${hex},${size} runs past the end of the ${bits}-bit` : ` ${hex} is `);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("addressBits outside 13..64 is refused", () => {
    expect(() => new LackeyParser(() => {}, { addressBits: 65 })).toThrow("addressBits: addressBits must be a whole number from 13 to 64 (got 65)");
    expect(() => new LackeyParser(() => {}, { addressBits: 12 })).toThrow("addressBits must be a whole number from 13 to 64");
  });
});
