import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { MemvirtError } from "../../src/util/errors";
import { SnapshotBuilder, snapshotFromMemory } from "../../src/contents/snapshot-builder";
import { PAGE_FILE, PAGE_ZERO, type PageSnapshot } from "../../src/contents/page-snapshot";
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_HEADER_BYTES } from "../../src/contents/snapshot-format";
import { readSnapshot, writeSnapshot } from "../../src/contents/snapshot-file";
import { XXH64_HASHER } from "../../src/contents/page-hash";
import { pageOf } from "./helpers";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-snapshot-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A process-like snapshot: four regions of different kinds, sparse pages, one file-backed page, a zero page. */
function processSnapshot(keepBytes: boolean): PageSnapshot {
  const b = new SnapshotBuilder({ name: "demo", keepBytes, source: { kind: "process", pid: 42, command: "demo" }, capturedAt: "2025-01-02T03:04:05.000Z" });
  b.beginRegion({ startAddress: 0x400000n, endAddress: 0x404000n, kind: "file", name: "/usr/bin/demo with space" });
  b.addPage(0, pageOf(1), PAGE_FILE);
  b.addPage(3, pageOf(2));
  b.beginRegion({ startAddress: 0x1000000n, endAddress: 0x1010000n, kind: "heap", name: "[heap]" });
  b.addPage(5, pageOf(0));
  b.beginRegion({ startAddress: 0x7f0000000000n, endAddress: 0x7f0000002000n, kind: "anon", name: "" });
  b.beginRegion({ startAddress: 0xffffffffff600000n, endAddress: 0xffffffffff601000n, kind: "other", name: "[vsyscall]" });
  b.addPage(0, pageOf(3));
  b.countSkipped({ swappedPages: 7, unreadablePages: 1 });
  return b.finish();
}

function expectSame(a: PageSnapshot, b: PageSnapshot): void {
  expect(b.pageCount).toBe(a.pageCount);
  expect(b.pageSizeBytes).toBe(a.pageSizeBytes);
  expect(b.info).toEqual(a.info);
  expect(b.regions).toEqual(a.regions);
  expect([...b.hashes]).toEqual([...a.hashes]);
  expect([...b.flags]).toEqual([...a.flags]);
  expect([...b.kinds]).toEqual([...a.kinds]);
  expect([...b.indexInRegion]).toEqual([...a.indexInRegion]);
  expect(b.bytes === undefined).toBe(a.bytes === undefined);
  // Buffer.equals, not toEqual: vitest compares megabytes element by element, for minutes.
  if (a.bytes !== undefined) expect(Buffer.from(a.bytes).equals(b.bytes!)).toBe(true);
  for (let i = 0; i < a.pageCount; i++) expect(b.address(i)).toBe(a.address(i));
}

describe("page snapshots: building", () => {
  it("keeps each page's hash, zero flag, kind, region and address; empty regions are dropped", () => {
    const s = processSnapshot(true);
    expect(s.pageCount).toBe(4);
    expect(s.regions.map((r) => [r.name, r.kind, r.firstPage, r.pageCount])).toEqual([
      ["/usr/bin/demo with space", "file", 0, 2], ["[heap]", "heap", 2, 1], ["[vsyscall]", "other", 3, 1],
    ]);
    expect([0, 1, 2, 3].map((i) => s.kind(i))).toEqual(["file", "file", "heap", "other"]);
    expect([0, 1, 2, 3].map((i) => s.address(i))).toEqual([0x400000n, 0x403000n, 0x1005000n, 0xffffffffff600000n]);
    expect(s.hash(0)).toBe(XXH64_HASHER.hash(pageOf(1)));
    expect(s.hash(2)).toBe(XXH64_HASHER.hash(pageOf(0)));
    expect([...s.flags]).toEqual([PAGE_FILE, 0, PAGE_ZERO, 0]);
    expect(s.zeroPages).toBe(1);
    expect(s.isZero(2) && !s.isZero(1)).toBe(true);
    expect(Buffer.from(s.page(3)!)).toEqual(Buffer.from(pageOf(3)));
    // hashWords is the same memory as hashes, low half first.
    expect(BigInt(s.hashWords[2]) | (BigInt(s.hashWords[3]) << 32n)).toBe(s.hash(1));
    expect(s.info.counts).toEqual({ swappedPages: 7, unreadablePages: 1 });
  });

  it("copies the bytes it keeps, so a capture may reuse its read buffer", () => {
    const b = new SnapshotBuilder({ keepBytes: true });
    b.beginRegion({ startAddress: 0n, endAddress: 8192n, kind: "anon", name: "" });
    const buffer = pageOf(5);
    b.addPage(0, buffer);
    buffer.fill(9);
    b.addPage(1, buffer);
    const s = b.finish();
    expect(Buffer.from(s.page(0)!)).toEqual(Buffer.from(pageOf(5)));
    expect(s.hash(0)).not.toBe(s.hash(1));
  });

  it("makes a guest-physical snapshot from a memory dump: every page, one region of kind physical", () => {
    const memory = Buffer.concat([pageOf(1), pageOf(0), pageOf(1), pageOf(2)]);
    const s = snapshotFromMemory(memory, { name: "guest.mem", source: { kind: "guest", memoryBytes: memory.length } });
    expect(s.pageCount).toBe(4);
    expect(s.regions).toEqual([{ startAddress: 0n, endAddress: BigInt(memory.length), kind: "physical", name: "guest-physical memory", firstPage: 0, pageCount: 4 }]);
    expect(s.zeroPages).toBe(1);
    expect(s.hash(0)).toBe(s.hash(2));
    expect(s.address(3)).toBe(3n * 4096n);
    expect(() => snapshotFromMemory(memory.subarray(0, 5000))).toThrow(/whole number of 4096-byte pages/);
  });

  it("refuses pages out of order or outside their region (a capture bug, not user input)", () => {
    const b = new SnapshotBuilder();
    b.beginRegion({ startAddress: 0n, endAddress: 8192n, kind: "anon", name: "" });
    b.addPage(1, pageOf(1));
    expect(() => b.addPage(1, pageOf(1))).toThrow(/not after 1/);
    expect(() => b.addPage(2, pageOf(1))).toThrow(/inside region/);
    expect(() => b.beginRegion({ startAddress: 4096n, endAddress: 8192n, kind: "anon", name: "" })).toThrow(/overlaps/);
  });
});

describe("page snapshots: the file format", () => {
  it("lays out the header and 8-byte-aligned sections as the module comment draws them", () => {
    const s = processSnapshot(false);
    const data = Buffer.concat(encodeSnapshot(s));
    expect(data.subarray(0, 8).toString("latin1")).toBe("MVPAGES\0");
    expect([8, 12, 16, 20, 24].map((o) => data.readUInt32LE(o))).toEqual([1, 4096, 4, 3, 0]);
    const m = data.readUInt32LE(28);
    const meta = JSON.parse(data.subarray(32, 32 + m).toString("utf8"));
    expect(meta.regionNames).toEqual(["/usr/bin/demo with space", "[heap]", "[vsyscall]"]);
    expect(meta.hash).toBe("xxh64");
    const pad = (n: number) => Math.ceil(n / 8) * 8;
    let at = SNAPSHOT_HEADER_BYTES + pad(m);
    expect(data.readBigUInt64LE(at + 16)).toBe(0xffffffffff600000n); // third region start
    at += 3 * 8;
    expect(data.readBigUInt64LE(at)).toBe(0x404000n); // first region end
    at += 3 * 8;
    expect([0, 4, 8].map((o) => data.readUInt32LE(at + o))).toEqual([2, 1, 1]); // pages per region
    at += pad(3 * 4);
    expect([...data.subarray(at, at + 3)]).toEqual([1, 2, 4]); // file, heap, other
    at += pad(3);
    expect(data.readBigUInt64LE(at + 8)).toBe(s.hash(1));
    at += 4 * 8;
    expect([0, 4, 8, 12].map((o) => data.readUInt32LE(at + o))).toEqual([0, 3, 5, 0]); // index in region
    at += pad(4 * 4);
    expect([...data.subarray(at, at + 4)]).toEqual([PAGE_FILE, 0, PAGE_ZERO, 0]);
    at += pad(4);
    expect(data.length).toBe(at);
    // With bytes the page bytes follow, and header flag bit 0 says so.
    const withBytes = Buffer.concat(encodeSnapshot(processSnapshot(true)));
    expect(withBytes.readUInt32LE(24)).toBe(1);
    expect(withBytes.length).toBe(data.length + 4 * 4096);
    expect(withBytes.subarray(-4096)).toEqual(Buffer.from(pageOf(3)));
  });

  for (const [label, name] of [["plain", "s.mvpages"], ["gzip", "s.mvpages.gz"]] as const) {
    for (const keepBytes of [false, true]) {
      it(`round-trips a ${label} file ${keepBytes ? "with" : "without"} bytes through writeSnapshot and readSnapshot`, async () => {
        const s = processSnapshot(keepBytes);
        const file = path.join(dir, `${keepBytes}-${name}`);
        const written = await writeSnapshot(file, s);
        const raw = fs.readFileSync(file);
        expect(written).toBe(raw.length);
        expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(label === "gzip");
        const back = readSnapshot(file);
        expect(back.name).toBe(file);
        expectSame(s, back);
      });
    }
  }

  it("writes megabytes of binary pages intact through OutputFile's buffer (every byte value, past its 1 MiB flushes)", async () => {
    const b = new SnapshotBuilder({ keepBytes: true });
    const pages = 600; // 2.3 MiB of bytes
    b.beginRegion({ startAddress: 0n, endAddress: BigInt(pages * 4096), kind: "anon", name: "" });
    const page = new Uint8Array(4096);
    for (let i = 0; i < pages; i++) {
      for (let j = 0; j < 4096; j++) page[j] = (i * 7 + j) & 0xff;
      b.addPage(i, page);
    }
    const s = b.finish();
    const file = path.join(dir, "big.mvpages");
    await writeSnapshot(file, s);
    expect(fs.readFileSync(file).equals(Buffer.concat(encodeSnapshot(s)))).toBe(true);
    expectSame(s, readSnapshot(file));
  });

  it("replaces an existing file only once the new one is complete, and leaves no temp file", async () => {
    const file = path.join(dir, "replace.mvpages");
    fs.writeFileSync(file, "old");
    await writeSnapshot(file, processSnapshot(false));
    expect(readSnapshot(file).pageCount).toBe(4);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    await expect(writeSnapshot(path.join(dir, "no-such-dir", "x.mvpages"), processSnapshot(false))).rejects.toThrow(/^--out: output directory .* does not exist/);
  });
});

describe("page snapshots: the reader refuses bad files with one line naming the file", () => {
  const good = Buffer.concat(encodeSnapshot(processSnapshot(true)));
  const errorFor = (data: Uint8Array, name = "f.mvpages"): string => {
    try {
      decodeSnapshot(data, name);
    } catch (err) {
      expect(err).toBeInstanceOf(MemvirtError);
      const message = (err as Error).message;
      expect(message).not.toContain("\n");
      return message;
    }
    throw new Error("decoded");
  };
  const edit = (fn: (b: Buffer) => void) => {
    const copy = Buffer.from(good);
    fn(copy);
    return copy;
  };

  it("a bad magic", () => {
    expect(errorFor(Buffer.from("# a markdown file, not a snapshot\n"), "README.md")).toBe('README.md: not a memvirt page snapshot (it starts "# a mark", not "MVPAGES")');
    expect(errorFor(edit((b) => { b[0] = 0x4e; }))).toMatch(/^f\.mvpages: not a memvirt page snapshot/);
  });

  it("another format version", () => {
    expect(errorFor(edit((b) => b.writeUInt32LE(2, 8)))).toBe("f.mvpages: snapshot format version 2; this memvirt reads version 1");
  });

  it("truncation anywhere, and data after the end", () => {
    expect(errorFor(good.subarray(0, 0))).toBe("f.mvpages: truncated: 0 bytes, shorter than the 32-byte header");
    expect(errorFor(good.subarray(0, 5))).toBe("f.mvpages: truncated: 5 bytes, shorter than the 32-byte header");
    expect(errorFor(good.subarray(0, 20))).toBe("f.mvpages: truncated: 20 bytes, shorter than the 32-byte header");
    for (const cut of [32, 100, good.length - 4096, good.length - 1]) {
      expect(errorFor(good.subarray(0, cut))).toBe(`f.mvpages: truncated: the header promises ${good.length} bytes (4 pages, 3 regions, with bytes), the file has ${cut}`);
    }
    expect(errorFor(Buffer.concat([good, Buffer.alloc(3)]))).toBe(`f.mvpages: 3 bytes of unexpected data after the snapshot's ${good.length} bytes`);
  });

  it("a corrupt header, metadata, region or zero flag", () => {
    expect(errorFor(edit((b) => b.writeUInt32LE(3000, 12)))).toBe("f.mvpages: corrupt header: page size 3000 is not a power of two from 16 B to 1 GiB");
    expect(errorFor(edit((b) => b.writeUInt32LE(5, 24)))).toBe("f.mvpages: corrupt header: unknown flags 0x5");
    expect(errorFor(edit((b) => { b[32] = 0x7b + 1; }))).toBe("f.mvpages: corrupt metadata: not valid JSON");
    const m = good.readUInt32LE(28);
    const pad = (n: number) => Math.ceil(n / 8) * 8;
    const kinds = 32 + pad(m) + 3 * 8 * 2 + pad(12);
    expect(errorFor(edit((b) => { b[kinds] = 99; }))).toBe("f.mvpages: corrupt region 0: kind code 99");
    const flags = kinds + 8 + 4 * 8 + 16;
    expect(errorFor(edit((b) => { b[flags] |= PAGE_ZERO; }))).toBe("f.mvpages: corrupt page 0: its zero flag disagrees with its bytes");
    const index = kinds + 8 + 4 * 8;
    expect(errorFor(edit((b) => b.writeUInt32LE(4, index + 4)))).toBe("f.mvpages: corrupt page 1: index 4 in region 0 (4 pages) is out of order or outside it");
  });

  it("from a file: missing, truncated gzip, or gzip of something else", () => {
    expect(() => readSnapshot(path.join(dir, "missing.mvpages"))).toThrow(/missing\.mvpages: cannot read: no such file or directory \(ENOENT\)$/);
    const gz = gzipSync(good);
    const cut = path.join(dir, "cut.mvpages.gz");
    fs.writeFileSync(cut, gz.subarray(0, gz.length - 100));
    expect(() => readSnapshot(cut)).toThrow(`${cut}: gzip data is truncated (unexpected end of file)`);
    const other = path.join(dir, "other.gz");
    fs.writeFileSync(other, gzipSync("hello"));
    expect(() => readSnapshot(other)).toThrow(`${other}: not a memvirt page snapshot (it starts "hello", not "MVPAGES")`);
    expect(gunzipSync(gz).equals(good)).toBe(true);
  });
});
