import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FETCH, LackeyParser, parseLackeyBuffer, READ, WRITE } from "../../src";
import { SNIFF_BYTES } from "../../src/trace/sniff-text";

/** Parse text pushed in the given chunks; collect records and stats. */
function parseChunks(chunks: Uint8Array[], batchSize = 7) {
  const pages: number[] = [];
  const kinds: number[] = [];
  const parser = new LackeyParser((p, k, n) => {
    for (let i = 0; i < n; i++) {
      pages.push(p[i]);
      kinds.push(k[i]);
    }
  }, { fileName: "t.lackey", batchSize });
  for (const c of chunks) parser.push(c);
  const stats = parser.end();
  return { pages, kinds, stats };
}

function splitAt(buf: Buffer, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const SAMPLE = [
  "==8826== Lackey, an example Valgrind tool",
  "==8826== Command: /bin/true",
  "",
  "I  0401ab70,3",
  " S 1fff000778,8",
  " L 04222cac,4",
  " M 0421d9c8,4",
  "I  0401b770,1",
  "==8826== Exit code:       0",
].join("\n") + "\n";

describe("LackeyParser", () => {
  it("maps I to FETCH, L to READ, S and M to one WRITE each, page = addr >> 12", () => {
    const t = parseLackeyBuffer(SAMPLE, "t.lackey");
    expect(Array.from(t.pages)).toEqual([0x401a, 0x1fff000, 0x4222, 0x421d, 0x401b]);
    expect(Array.from(t.kinds)).toEqual([FETCH, WRITE, READ, WRITE, FETCH]);
    expect(t.stats).toEqual({ lines: 9, records: 5, accesses: 5, multiPageRecords: 0, skipped: 4, bytes: SAMPLE.length, fetches: 2, reads: 1, writes: 2, modifies: 1 });
  });

  it("skips == banners, blank lines and other non-record lines, and counts them", () => {
    const t = parseLackeyBuffer("==1== I  0400,1\n\n   \nLackey says hi\nIx 1,2\n L\n L 1000,4\n", "t");
    expect(t.stats.records).toBe(1);
    expect(t.stats.skipped).toBe(6);
    expect(t.stats.lines).toBe(7);
  });

  it("accepts CRLF line endings, tabs, and a final line without newline", () => {
    const t = parseLackeyBuffer("I  0400d7d4,8\r\n\tL\t7ff0005b8,8 \r\n M 1000,4", "t");
    expect(Array.from(t.pages)).toEqual([0x400d, 0x7ff000, 1]);
    expect(t.stats.lines).toBe(3);
  });

  it("addresses shorter than a page are page 0; 64-bit addresses give exact page numbers", () => {
    const t = parseLackeyBuffer(" L 0,1\n L fff,1\n L 1000,1\n L ffffffffffffffff,1\n L fffffffffffff000,4096\n L 00000000000000000123456789abcdef,1\n", "t");
    expect(Array.from(t.pages)).toEqual([0, 0, 1, 2 ** 52 - 1, 2 ** 52 - 1, 0x123456789abc]);
  });

  it("delivers records in batches of batchSize, the last one partial", () => {
    const text = Array.from({ length: 10 }, (_, i) => ` L ${(i * 4096).toString(16)},4`).join("\n");
    const sizes: number[] = [];
    const parser = new LackeyParser((_p, _k, n) => sizes.push(n), { batchSize: 4 });
    parser.push(Buffer.from(text));
    parser.end();
    expect(sizes).toEqual([4, 4, 2]);
  });

  it("maxRecords stops the parse early", () => {
    const t = parseLackeyBuffer(SAMPLE, "t", { maxRecords: 2 });
    expect(Array.from(t.pages)).toEqual([0x401a, 0x1fff000]);
  });

  it("parses a real valgrind-3.19 lackey log excerpt", () => {
    const text = readFileSync(join(__dirname, "fixtures", "true-excerpt.lackey"));
    const t = parseLackeyBuffer(text, "true-excerpt.lackey");
    expect(t.stats.records).toBe(60);
    expect(t.stats.skipped).toBe(25);
    expect(t.pages[0]).toBe(0x401a);
    expect(t.kinds[0]).toBe(FETCH);
  });

  it("property: cutting the input into chunks anywhere gives the same records, counts and errors", () => {
    const line = fc.oneof(
      fc.record({ k: fc.constantFrom("I  ", " L ", " S ", " M "), a: fc.bigInt({ min: 0n, max: 2n ** 64n - 65n }), s: fc.integer({ min: 1, max: 64 }) })
        .map(({ k, a, s }) => `${k}${a.toString(16)},${s}`),
      fc.constantFrom("==12== banner", "", "   ", "garbage line", "==12== I  0,1"),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 40 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.option(fc.constantFrom(" L 12zz,4", " S 1000", "I  ,3", " M 10,4 x", " L 10,0", " S 1000,65537"), { nil: undefined }),
        (lines, eol, finalNewline, cuts, bad) => {
          const all = bad === undefined ? lines : [...lines.slice(0, lines.length >> 1), bad, ...lines.slice(lines.length >> 1)];
          const text = all.join(eol) + (finalNewline ? eol : "");
          const buf = Buffer.from(text);
          const run = (chunks: Uint8Array[]) => {
            try {
              return parseChunks(chunks);
            } catch (e) {
              return (e as Error).message;
            }
          };
          const whole = run([buf]);
          expect(run(splitAt(buf, cuts))).toEqual(whole);
          if (bad !== undefined) {
            const lineNo = (lines.length >> 1) + 1;
            expect(whole).toBe(typeof whole === "string" ? whole : "expected an error");
            expect(whole as string).toContain(`t.lackey:${lineNo}: malformed Lackey record`);
            expect(whole as string).toContain(JSON.stringify(bad));
          } else {
            const records = lines.filter((l) => /^(I  | [LSM] )/.test(l));
            const expected = records.flatMap((l) => {
              const [hex, size] = l.slice(3).split(",");
              const addr = BigInt("0x" + hex);
              const first = Number(addr >> 12n);
              const last = Number((addr + BigInt(size) - 1n) >> 12n);
              return Array.from({ length: last - first + 1 }, (_, i) => first + i);
            });
            if (records.length === 0) expect(whole).toMatch(/^t\.lackey: (no Lackey records|empty trace)/);
            else expect(typeof whole === "string" ? whole : whole.pages).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a text longer than the first-bytes check (SNIFF_BYTES) gives the same records however it is cut", () => {
    const text = Buffer.from(["==1== banner", ...Array.from({ length: 3000 }, (_, i) => ` L ${(i * 4093).toString(16)},8`)].join("\n") + "\n");
    expect(text.length).toBeGreaterThan(3 * SNIFF_BYTES);
    const whole = parseChunks([text], 4096);
    expect(whole.stats.records).toBe(3000);
    for (const cuts of [[1], [SNIFF_BYTES - 1], [SNIFF_BYTES], [SNIFF_BYTES + 1], [100, 200], [10, SNIFF_BYTES + 7, 2 * SNIFF_BYTES], [4000, 5000, 9000]]) {
      expect(parseChunks(splitAt(text, cuts), 4096)).toEqual(whole);
    }
  });

  it("byte-at-a-time pushing gives the same result as one push", () => {
    const buf = Buffer.from(SAMPLE);
    const chunks = Array.from(buf, (_, i) => buf.subarray(i, i + 1));
    const a = parseChunks(chunks);
    const b = parseChunks([buf]);
    expect(a).toEqual(b);
  });
});

describe("malformed records", () => {
  const cases: Array<[string, string]> = [
    [" L 7zz,8", "bad hex address"],
    [" L 0x10,8", "bad hex address"],
    [" S 1000", "expected ',SIZE' after the hex address"],
    [" S 1000,", "expected a decimal size after ','"],
    [" S 1000,4k", "bad size"],
    [" M 1000,4 extra", "unexpected text after the size"],
    ["I  ,3", "expected a hex address after the record kind"],
    [" L 10000000000000000000,8", "address 10000000000000000000 is wider than 64 bits"],
    [" L 1000,0", "size 0 (a record covers at least one byte)"],
    [" S 1000,65537", "size 65537 is larger than 65536 bytes (Lackey never writes more than 512)"],
  ];
  for (const [text, problem] of cases) {
    it(`"${text}" is rejected with FILE:LINE, "${problem}" and the text`, () => {
      expect(() => parseLackeyBuffer(`==1== hi\nI  0400d7d4,8\n${text}\r\n L 10,4\n`, "prog.lackey")).toThrow(
        `prog.lackey:3: malformed Lackey record: ${problem} (got ${JSON.stringify(text)})`,
      );
    });
  }

  it("the line number is right when the bad line straddles chunks deep in the file", () => {
    const good = " L 1000,4\n".repeat(1000);
    const buf = Buffer.from(`${good} S 12q4,8\n${good}`);
    const at = good.length + 4;
    expect(() => parseChunks([buf.subarray(0, at), buf.subarray(at)])).toThrow('t.lackey:1001: malformed Lackey record: bad hex address (got " S 12q4,8")');
  });

  it("cuts very long offending text in the message", () => {
    const long = ` L 10,4${"x".repeat(300)}`;
    let message = "";
    try {
      parseLackeyBuffer(long, "t");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^t:1: malformed Lackey record: bad size \(got " L 10,4x+\.\.\.\)$/);
    expect(message.length).toBeLessThan(160);
  });

  it("an over-long line that looks like a record is an error; an over-long other line is skipped", () => {
    expect(() => parseChunks([Buffer.from(` L ${"0".repeat(5000)}`), Buffer.from("1,4\n")])).toThrow("t.lackey:1: malformed Lackey record: record line is too long");
    const ok = parseChunks([Buffer.from(`==1== ${"x".repeat(5000)}`), Buffer.from("yy\n L 1000,4\n")]);
    expect(ok.pages).toEqual([1]);
    expect(ok.stats.skipped).toBe(1);
    expect(ok.stats.lines).toBe(2);
  });
});
