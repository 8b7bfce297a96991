/**
 * capturePages against a fake /proc made of plain (sparse) files, so every branch runs without
 * root and with exactly known pages. The real /proc is exercised by test/cli/capture-pages.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { capturePages } from "../../src/contents/capture-process";
import { PAGE_FILE, PAGE_ZERO } from "../../src/contents/page-snapshot";
import { XXH64_HASHER } from "../../src/contents/page-hash";
import { pageOf } from "./helpers";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-fakeproc-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const PRESENT = 1n << 63n;
const SWAPPED = 1n << 62n;
const FILE = 1n << 61n;

interface FakePage {
  address: number;
  /** pagemap entry bits (PRESENT, SWAPPED, FILE); a PFN is added to present pages. */
  entry: bigint;
  /** Contents in mem (omitted: the page is beyond mem's end, so it cannot be read). */
  content?: number;
}

/** A fake /proc/PID: maps, pagemap and mem as sparse files. */
function fakeProcess(pid: number, maps: string[], pages: FakePage[], options: { memEnd?: number } = {}): string {
  const procDir = fs.mkdtempSync(path.join(root, "proc-"));
  const dir = path.join(procDir, String(pid));
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "maps"), maps.map((l) => `${l}\n`).join(""));
  fs.writeFileSync(path.join(dir, "comm"), "fake\n");
  const pagemap = fs.openSync(path.join(dir, "pagemap"), "w");
  const mem = fs.openSync(path.join(dir, "mem"), "w");
  for (const p of pages) {
    const entry = Buffer.alloc(8);
    entry.writeBigUInt64LE(p.entry | (p.entry & PRESENT ? 0x1234n : 0n));
    fs.writeSync(pagemap, entry, 0, 8, (p.address / 4096) * 8);
    if (p.content !== undefined) fs.writeSync(mem, pageOf(p.content), 0, 4096, p.address);
  }
  if (options.memEnd !== undefined) fs.ftruncateSync(mem, options.memEnd);
  fs.closeSync(pagemap);
  fs.closeSync(mem);
  return procDir;
}

const MAPS = [
  "00400000-00404000 r--p 00000000 08:01 42 /usr/bin/fake",
  "00600000-00602000 rw-p 00000000 00:00 0                [heap]",
  "00700000-00703000 rw-p 00000000 00:00 0",
  "10000000-30000000 rw-p 00000000 00:00 0",
  "7f000000-7f002000 rw-p 00000000 00:00 0                [stack]",
];
const PAGES: FakePage[] = [
  { address: 0x400000, entry: PRESENT | FILE, content: 1 },
  { address: 0x401000, entry: 0n, content: 9 }, // not present: never read, though mem has bytes there
  { address: 0x402000, entry: SWAPPED }, // swapped out: counted, not read
  { address: 0x403000, entry: PRESENT, content: 0 }, // a zero page
  { address: 0x600000, entry: PRESENT, content: 2 },
  { address: 0x601000, entry: PRESENT, content: 2 },
  { address: 0x700000, entry: PRESENT, content: 3 },
  { address: 0x702000, entry: PRESENT | SWAPPED, content: 4 }, // present wins
  // Both sides of a pagemap chunk boundary (65,536 pages into the mapping).
  { address: 0x10000000 + 65535 * 4096, entry: PRESENT, content: 5 },
  { address: 0x10000000 + 65536 * 4096, entry: PRESENT, content: 6 },
  // A run of two present pages whose second lies past mem's end: read short, then unreadable.
  { address: 0x7f000000, entry: PRESENT, content: 7 },
  { address: 0x7f001000, entry: PRESENT },
];

describe("capturePages on a fake /proc", () => {
  it("stores exactly the present pages with their kind, position, hash, zero and file flags; counts swapped and unreadable ones", () => {
    const procDir = fakeProcess(321, MAPS, PAGES, { memEnd: 0x7f001000 });
    const progress: Array<[number, number]> = [];
    const snap = capturePages(321, { procDir, pageSizeBytes: 4096, keepBytes: true, onProgress: (d, t) => progress.push([d, t]) });
    expect(snap.info.source).toEqual({ kind: "process", pid: 321, command: "fake" });
    expect(snap.info.counts).toEqual({ swappedPages: 1, unreadablePages: 1 });
    expect(progress).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
    const pages = Array.from({ length: snap.pageCount }, (_, i) => [Number(snap.address(i)).toString(16), snap.kind(i), snap.flags[i]]);
    expect(pages).toEqual([
      ["400000", "file", PAGE_FILE], ["403000", "file", PAGE_ZERO],
      ["600000", "heap", 0], ["601000", "heap", 0],
      ["700000", "anon", 0], ["702000", "anon", 0],
      [(0x10000000 + 65535 * 4096).toString(16), "anon", 0], [(0x10000000 + 65536 * 4096).toString(16), "anon", 0],
      ["7f000000", "stack", 0],
    ]);
    const contents = [1, 0, 2, 2, 3, 4, 5, 6, 7];
    contents.forEach((c, i) => {
      expect(snap.hash(i)).toBe(XXH64_HASHER.hash(pageOf(c)));
      expect(Buffer.from(snap.page(i)!).equals(pageOf(c))).toBe(true);
    });
    expect(snap.zeroPages).toBe(1);
    expect(snap.regions.map((r) => r.name)).toEqual(["/usr/bin/fake", "[heap]", "", "", "[stack]"]);
  });

  it("keeps no bytes unless asked", () => {
    const procDir = fakeProcess(322, MAPS.slice(0, 2), PAGES.slice(0, 6));
    const snap = capturePages(322, { procDir, pageSizeBytes: 4096 });
    expect(snap.bytes).toBeUndefined();
    expect(snap.pageCount).toBe(4);
  });

  it("says there is no such process, naming --pid and the value", () => {
    expect(() => capturePages(999, { procDir: root })).toThrow(`--pid: no such process (no ${path.join(root, "999")}) (got 999)`);
    expect(() => capturePages(0)).toThrow("--pid: a process id is a positive integer (got 0)");
  });

  it("says a process without mappings is a kernel thread or a zombie", () => {
    const procDir = fakeProcess(323, [], []);
    expect(() => capturePages(323, { procDir })).toThrow("--pid: the process has no memory mappings (a kernel thread, or a zombie) (got 323)");
  });

  it("names the file and line of a maps line it cannot parse", () => {
    const procDir = fakeProcess(324, ["garbage"], []);
    expect(() => capturePages(324, { procDir })).toThrow(`${path.join(procDir, "324", "maps")}:1: not a /proc/PID/maps line (got "garbage")`);
  });

  it("says the process is gone when its pagemap disappears, or when it exits during the capture", () => {
    const procDir = fakeProcess(325, MAPS.slice(0, 2), PAGES.slice(0, 6));
    fs.rmSync(path.join(procDir, "325", "pagemap"));
    expect(() => capturePages(325, { procDir, pageSizeBytes: 4096 })).toThrow(/^--pid: no such process \(.*325\/pagemap is gone\) \(got 325\)$/);
    const exiting = fakeProcess(326, MAPS.slice(0, 2), PAGES.slice(0, 6));
    expect(() => capturePages(326, { procDir: exiting, pageSizeBytes: 4096, onProgress: () => fs.rmSync(path.join(exiting, "326"), { recursive: true, force: true }) }))
      .toThrow("--pid: the process exited during the capture (got 326)");
  });
});
