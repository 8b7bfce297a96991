import { describe, expect, it } from "vitest";
import { binaryProblem, SNIFF_BYTES, utf8BomLength } from "../../src/trace/sniff-text";

describe("binaryProblem", () => {
  it("passes ASCII and valid UTF-8 of every length", () => {
    expect(binaryProblem(Buffer.from("==1== Command: sort\nI  0400,4\n"))).toBeUndefined();
    expect(binaryProblem(Buffer.from("é € 😀 ü"))).toBeUndefined();
    expect(binaryProblem(Buffer.alloc(0))).toBeUndefined();
  });

  it("passes a multi-byte character cut by the end of the window", () => {
    const euro = Buffer.from("€"); // e2 82 ac
    expect(binaryProblem(Buffer.concat([Buffer.from("ab"), euro.subarray(0, 2)]))).toBeUndefined();
  });

  it("names a NUL byte and its offset", () => {
    expect(binaryProblem(Buffer.from([0x49, 0x20, 0x00, 0x31]))).toBe("binary data (a NUL byte at offset 2); a trace is Lackey text, plain or gzip");
  });

  it("names bytes that are not UTF-8: a stray continuation byte, a bad lead, a broken sequence", () => {
    expect(binaryProblem(Buffer.from([0x41, 0x80]))).toMatch(/^binary data \(byte 80 at offset 1 is not UTF-8 text\)/);
    expect(binaryProblem(Buffer.from([0xc0, 0x80]))).toMatch(/^binary data \(byte c0 at offset 0/);
    expect(binaryProblem(Buffer.from([0xe2, 0x41, 0x41]))).toMatch(/^binary data \(byte e2 at offset 0/);
    expect(binaryProblem(Buffer.from([0x1f, 0x8b, 0x08]))).toMatch(/^binary data \(byte 8b at offset 1/);
  });

  it("names UTF-16 by its byte-order mark or its NUL layout", () => {
    expect(binaryProblem(Buffer.from([0xff, 0xfe, 0x49, 0x00]))).toMatch(/^UTF-16 text \(byte-order mark ff fe\)/);
    expect(binaryProblem(Buffer.from([0xfe, 0xff, 0x00, 0x49]))).toMatch(/^UTF-16 text \(byte-order mark fe ff\)/);
    expect(binaryProblem(Buffer.from("I  0400,4\n", "utf16le"))).toMatch(/^UTF-16 text \(every other byte is NUL\)/);
    expect(binaryProblem(Buffer.from("I  0400,4\n", "utf16le").swap16())).toMatch(/^UTF-16 text/);
  });

  it("looks at a window of a few KiB", () => {
    expect(SNIFF_BYTES).toBeGreaterThanOrEqual(1024);
  });
});

describe("utf8BomLength", () => {
  it("is 3 for EF BB BF at the start, else 0", () => {
    expect(utf8BomLength(Buffer.from([0xef, 0xbb, 0xbf, 0x49]))).toBe(3);
    expect(utf8BomLength(Buffer.from([0xef, 0xbb]))).toBe(0);
    expect(utf8BomLength(Buffer.from("I  0400,4"))).toBe(0);
  });
});
