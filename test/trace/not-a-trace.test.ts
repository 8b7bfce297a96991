import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { spawnSync } from "node:child_process";
import { LackeyParser, loadLackeyTrace, loadLackeyTraceSync, MemvirtError, parseLackeyBuffer, readLackey } from "../../src";

const dir = mkdtempSync(join(tmpdir(), "memvirt-not-a-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = "==1== Lackey\nI  0401ab70,3\n L 04222cac,4\n S 1fff000778,8\n";

/** Deterministic noise (xorshift32): no Math.random, the same bytes every run. */
function noise(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function file(name: string, data: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** The error of every way to read `path`: streamed from the file, from a stream, loaded synchronously. */
async function errorsOf(path: string): Promise<string[]> {
  const messages: string[] = [];
  const record = (e: unknown) => {
    expect(e).toBeInstanceOf(MemvirtError);
    messages.push((e as Error).message);
  };
  await readLackey(path, { onBatch: () => {} }).then(() => messages.push("no error"), record);
  await loadLackeyTrace(Readable.from([readFileSync(path)]), { fileName: path }).then(() => messages.push("no error"), record);
  try {
    loadLackeyTraceSync(path);
    messages.push("no error");
  } catch (e) {
    record(e);
  }
  return messages;
}

describe("inputs that are not traces are errors, never empty traces", () => {
  it("an empty file is an error naming it", async () => {
    const path = file("empty.lackey", "");
    for (const m of await errorsOf(path)) expect(m).toBe(`${path}: empty trace: no input (0 bytes), expected Lackey records such as " L 04222cac,4"`);
  });

  it("a closed, empty stdin is an error naming <stdin>", () => {
    const tsx = join(__dirname, "..", "..", "node_modules", ".bin", "tsx");
    const r = spawnSync(tsx, [join(__dirname, "fixtures", "read-stdin.ts")], { input: "", encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`<stdin>: empty trace: no input (0 bytes), expected Lackey records such as " L 04222cac,4"`);
  }, 20_000);

  it("text without a record line is an error giving the number of lines skipped", async () => {
    const readme = join(__dirname, "..", "..", "data", "traces", "README.md");
    const lines = readFileSync(readme, "utf8").split("\n").length - 1; // ends with a newline
    await expect(readLackey(readme, { onBatch: () => {} })).rejects.toThrow(
      `${readme}: no Lackey records (${lines} lines skipped, none of the form " L addr,size")`,
    );
    expect(() => parseLackeyBuffer("just one line", "one.txt")).toThrow('one.txt: no Lackey records (1 line skipped, none of the form " L addr,size")');
    expect(() => parseLackeyBuffer("\n\n", "blank.txt")).toThrow("blank.txt: no Lackey records (2 lines skipped");
  });

  it("random bytes are binary data, named with the file", async () => {
    const path = file("random.bin", noise(3000));
    for (const m of await errorsOf(path)) expect(m).toMatch(new RegExp(`^${path}: not a Lackey trace: binary data \\((a NUL byte|byte [0-9a-f]{2}) at offset \\d+`));
  });

  it("binary data is caught however the first bytes are cut into chunks", () => {
    const bytes = Buffer.concat([Buffer.from("==1== banner\n L 1000,4\n"), Buffer.from([0xc3, 0x28]), Buffer.from("\n L 2000,4\n")]);
    const whole = () => parseLackeyBuffer(bytes, "t");
    expect(whole).toThrow("t: not a Lackey trace: binary data (byte c3 at offset 23 is not UTF-8 text)");
    const parser = new LackeyParser(() => {}, { fileName: "t" });
    expect(() => {
      for (let i = 0; i < bytes.length; i++) parser.push(bytes.subarray(i, i + 1));
      parser.end();
    }).toThrow("t: not a Lackey trace: binary data (byte c3 at offset 23 is not UTF-8 text)");
  });

  it("UTF-16 text, with or without a byte-order mark, is named as UTF-16", async () => {
    for (const [name, data] of [
      ["le-bom.lackey", Buffer.from(`\ufeff${TEXT}`, "utf16le")],
      ["le.lackey", Buffer.from(TEXT, "utf16le")],
      ["be-bom.lackey", Buffer.from(`\ufeff${TEXT}`, "utf16le").swap16()],
    ] as const) {
      const path = file(name, data);
      for (const m of await errorsOf(path)) expect(m).toMatch(new RegExp(`^${path}: not a Lackey trace: UTF-16 text .*iconv -f UTF-16 -t UTF-8$`));
    }
  });

  it("non-ASCII UTF-8 in a banner line is text, not binary", () => {
    const t = parseLackeyBuffer(`==1== Command: sort données-é€😀.txt\n${TEXT}`, "t");
    expect(t.stats.records).toBe(3);
  });

  it("a gzip of garbage is binary data; garbage after the gzip magic is invalid gzip", async () => {
    const zipped = file("garbage.gz", gzipSync(noise(3000)));
    for (const m of await errorsOf(zipped)) expect(m).toMatch(new RegExp(`^${zipped}: not a Lackey trace: binary data`));
    const fake = file("fake.gz", Buffer.concat([Buffer.from([0x1f, 0x8b]), noise(500)]));
    for (const m of await errorsOf(fake)) expect(m).toMatch(new RegExp(`^${fake}: not valid gzip data \\([^)]+\\)$`));
  });

  it("a truncated gzip is one line saying so, naming the file", async () => {
    const big = gzipSync(Buffer.from(Array.from({ length: 20000 }, (_, i) => ` L ${(i * 4096).toString(16)},4\n`).join("")));
    for (const keep of [2, 20, big.length >> 1, big.length - 4]) {
      const path = file(`cut-${keep}.gz`, big.subarray(0, keep));
      for (const m of await errorsOf(path)) expect(m).toBe(`${path}: gzip data is truncated (unexpected end of file)`);
    }
  });
});

describe("a UTF-8 byte-order mark", () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);

  it("is dropped, so the first record counts", () => {
    const t = parseLackeyBuffer(Buffer.concat([bom, Buffer.from("I  0401ab70,3\n L 04222cac,4\n")]), "t");
    expect(Array.from(t.pages)).toEqual([0x401a, 0x4222]);
    expect(t.stats.skipped).toBe(0);
    expect(t.stats.bytes).toBe(3 + 28);
  });

  it("is dropped however the input is cut, from a gzip stream too", async () => {
    const data = Buffer.concat([bom, Buffer.from("I  0401ab70,3\n")]);
    for (let cut = 1; cut < data.length; cut++) {
      const parser = new LackeyParser(() => {}, { fileName: "t" });
      parser.push(data.subarray(0, 1));
      parser.push(data.subarray(1, cut));
      parser.push(data.subarray(cut));
      expect(parser.end().records).toBe(1);
    }
    const t = await loadLackeyTrace(Readable.from([gzipSync(data)]));
    expect(Array.from(t.pages)).toEqual([0x401a]);
  });

  it("alone is an empty trace", () => {
    expect(() => parseLackeyBuffer(bom, "t")).toThrow("t: empty trace: no input (only a byte-order mark)");
  });
});
