/**
 * captureVm against an independent reading of the same guest memory: sha256 per 4 KiB page
 * (node:crypto, not the snapshot's XXH64) over a raw pmemsave dump, which must agree exactly on
 * the page count, the zero pages and which pages hold equal contents. Against a fake QMP server
 * always, and against one real QEMU (no guest: `-S`, with known bytes loaded into its RAM) when
 * qemu-system-x86_64 is installed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { captureVm, defaultTempDir, guestRamLayout } from "../../src/qemu/capture-vm";
import { QmpClient, withQmp } from "../../src/qemu/qmp-client";
import type { PageSnapshot } from "../../src/contents/page-snapshot";
import { XXH64_HASHER } from "../../src/contents/page-hash";
import { MemvirtError } from "../../src/util/errors";
import { pcMtree, startFakeQemu, type FakeQemu, rejection } from "./qmp-fake-server";
import { hasQemu, leftoverQemuPids, startQemu, stopAllQemu, type RealQemu } from "./qmp-real-qemu";

const PAGE = 4096;
const MiB = 2 ** 20;
const fakes: FakeQemu[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});
afterAll(async () => {
  await stopAllQemu();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  expect(leftoverQemuPids("memvirt-qemu-test-")).toEqual([]);
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-capture-test-"));
  dirs.push(d);
  return d;
}

/** The independent reading: per page, is it zero, and the sha256 of its bytes. */
function independentReading(memory: Uint8Array): { pages: number; zeroPages: number; distinct: number; firstEqual: number[] } {
  const zero = Buffer.alloc(PAGE);
  const seen = new Map<string, number>();
  const firstEqual: number[] = [];
  let zeroPages = 0;
  for (let i = 0; i < memory.length / PAGE; i++) {
    const page = memory.subarray(i * PAGE, (i + 1) * PAGE);
    if (zero.equals(page)) zeroPages++;
    const digest = createHash("sha256").update(page).digest("hex");
    if (!seen.has(digest)) seen.set(digest, i);
    firstEqual.push(seen.get(digest)!);
  }
  return { pages: memory.length / PAGE, zeroPages, distinct: seen.size, firstEqual };
}

/** The same figures from a snapshot: page i's class is the first page with its hash. */
function snapshotReading(snap: PageSnapshot) {
  const seen = new Map<bigint, number>();
  const firstEqual: number[] = [];
  for (let i = 0; i < snap.pageCount; i++) {
    if (!seen.has(snap.hash(i))) seen.set(snap.hash(i), i);
    firstEqual.push(seen.get(snap.hash(i))!);
  }
  return { pages: snap.pageCount, zeroPages: snap.zeroPages, distinct: seen.size, firstEqual };
}

/** 300 pages: zero pages, runs of repeated contents, and unique pages (their index written in). */
function fakeGuestMemory(): Uint8Array {
  const m = new Uint8Array(300 * PAGE);
  for (let i = 0; i < 300; i++) {
    const page = m.subarray(i * PAGE, (i + 1) * PAGE);
    if (i % 5 === 0) continue; // zero
    if (i % 5 === 1) page.fill(0xab); // one repeated content
    else if (i % 5 === 2) page.fill(i % 3 + 1); // three more
    else new DataView(page.buffer, page.byteOffset).setUint32(100, i); // unique, mostly zero bytes
  }
  return m;
}

describe("captureVm on a fake QEMU", () => {
  it("agrees exactly with an independent sha256 reading of the same memory (pages, zero pages, equal contents)", async () => {
    const memory = fakeGuestMemory();
    const f = await startFakeQemu({ memory });
    fakes.push(f);
    const snap = await captureVm({ qmpPath: f.socketPath, chunkBytes: 64 * PAGE });
    const theirs = independentReading(memory);
    expect(snapshotReading(snap)).toEqual(theirs);
    expect(theirs).toMatchObject({ pages: 300, zeroPages: 60, distinct: 1 + 1 + 3 + 120 });
    // Hashes are XXH64 of the page bytes, in guest-physical order, one region of kind physical.
    for (const i of [0, 1, 3, 299]) expect(snap.hash(i)).toBe(XXH64_HASHER.hash(memory.subarray(i * PAGE, (i + 1) * PAGE)));
    expect(snap.regions).toEqual([{ startAddress: 0n, endAddress: 300n * 4096n, kind: "physical", name: "pc.ram", firstPage: 0, pageCount: 300 }]);
    expect(snap.info.source).toMatchObject({ kind: "guest", qmp: f.socketPath, memoryBytes: 300 * PAGE, qemu: "7.2.0 (fake)" });
  });

  it("dumps in chunks (val, size) into a 0600 file in a 0700 folder, and removes them", async () => {
    const memory = fakeGuestMemory();
    const f = await startFakeQemu({ memory });
    fakes.push(f);
    const base = tmp();
    await captureVm({ qmpPath: f.socketPath, chunkBytes: 128 * PAGE, tempDir: base });
    const dumps = f.commands.filter((c) => c.execute === "pmemsave").map((c) => [c.arguments!.val, c.arguments!.size]);
    expect(dumps).toEqual([[0, 128 * PAGE], [128 * PAGE, 128 * PAGE], [256 * PAGE, 44 * PAGE]]);
    expect(f.modes).toEqual([{ file: 0o600, dir: 0o700 }, { file: 0o600, dir: 0o700 }, { file: 0o600, dir: 0o700 }]);
    expect(f.dumps.every((d) => d.startsWith(base))).toBe(true);
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("puts its chunks in /dev/shm by default when it is writable (RAM, no disk writes), and removes them", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    await captureVm({ qmpPath: f.socketPath });
    let shm = false;
    try { fs.accessSync("/dev/shm", fs.constants.W_OK); shm = true; } catch { /* no tmpfs here */ }
    const expected = shm ? "/dev/shm" : os.tmpdir();
    expect(path.dirname(path.dirname(f.dumps[0]))).toBe(expected);
    expect(path.basename(path.dirname(f.dumps[0]))).toMatch(/^memvirt-capture-vm-/);
    expect(fs.existsSync(path.dirname(f.dumps[0]))).toBe(false);
  });

  it("passes QEMU's pmemsave error through in one line, and leaves no temp file", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), errors: { pmemsave: "Could not open '/x': Permission denied" } });
    fakes.push(f);
    const base = tmp();
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: base }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toBe(`--qmp: QEMU refused pmemsave: Could not open '/x': Permission denied (got ${JSON.stringify(f.socketPath)})`);
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("refuses a dump cut short, naming how much came, and leaves no temp file", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), shortBy: PAGE });
    fakes.push(f);
    const base = tmp();
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: base, chunkBytes: 100 * PAGE }));
    expect(err.message).toMatch(/^--qmp: pmemsave wrote 405504 of 409600 bytes \(got ".*"\)$/);
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("with pause, stops the guest around the dump and resumes it; a paused guest is left paused", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    await captureVm({ qmpPath: f.socketPath, pause: true });
    const order = f.commands.map((c) => c.execute).filter((c) => ["stop", "cont", "pmemsave"].includes(c));
    expect(order).toEqual(["stop", "pmemsave", "cont"]);
    f.commands.length = 0;
    await withQmp(f.socketPath, (q) => q.execute("stop"));
    await captureVm({ qmpPath: f.socketPath, pause: true });
    expect(f.commands.map((c) => c.execute)).not.toContain("cont");
  });

  it("with pause false, never stops the guest", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    await captureVm({ qmpPath: f.socketPath, pause: false });
    expect(f.commands.map((c) => c.execute)).not.toContain("stop");
  });

  it("pauses by default: a running guest's dump is one instant unless asked otherwise", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    const snap = await captureVm({ qmpPath: f.socketPath });
    expect(f.commands.map((c) => c.execute).filter((c) => ["stop", "cont", "pmemsave"].includes(c))).toEqual(["stop", "pmemsave", "cont"]);
    expect(snap.info.source).toMatchObject({ paused: true, consistent: true });
  });

  it("marks a snapshot of a running guest as not one instant, and a paused or stopped guest's as one", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    expect((await captureVm({ qmpPath: f.socketPath, pause: false })).info.source).toMatchObject({ paused: false, consistent: false });
    expect((await captureVm({ qmpPath: f.socketPath, pause: true })).info.source).toMatchObject({ paused: true, consistent: true });
    const g = await startFakeQemu({ memory: fakeGuestMemory(), stopped: true });
    fakes.push(g);
    expect((await captureVm({ qmpPath: g.socketPath, pause: false })).info.source).toMatchObject({ paused: false, consistent: true });
  });

  it("when aborted during a paused dump, waits for the pmemsave under way, resumes the guest and leaves no temp folder", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), delayMs: { pmemsave: 300 } });
    fakes.push(f);
    const base = tmp();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    const err = await rejection(captureVm({ qmpPath: f.socketPath, pause: true, tempDir: base, chunkBytes: 100 * PAGE, signal: abort.signal }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(/^--qmp: capture interrupted; the guest runs as before and no temp dump is left \(got ".*"\)$/);
    expect(f.commands.map((c) => c.execute).filter((c) => ["stop", "cont", "pmemsave"].includes(c))).toEqual(["stop", "pmemsave", "cont"]);
    expect(fs.readdirSync(base)).toEqual([]);
    expect(await withQmp(f.socketPath, (q) => q.execute("query-status"))).toMatchObject({ running: true });
  });

  it("when aborted during a dump of a running guest, waits for the pmemsave under way before removing its folder", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), delayMs: { pmemsave: 300 } });
    fakes.push(f);
    const base = tmp();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    const err = await rejection(captureVm({ qmpPath: f.socketPath, pause: false, tempDir: base, chunkBytes: 100 * PAGE, signal: abort.signal }));
    expect(err.message).toMatch(/^--qmp: capture interrupted/);
    expect(f.modes).toEqual([{ file: 0o600, dir: 0o700 }]); // the folder was still there when QEMU wrote
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("when QEMU exits during a dump, says so in one line and leaves no temp folder", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), delayMs: { pmemsave: 300 } });
    const base = tmp();
    setTimeout(() => void f.close(), 100);
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: base, chunkBytes: 100 * PAGE }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(/^--qmp: the QMP connection closed during pmemsave \(did QEMU exit\?\) \(got ".*"\)$/);
    await new Promise((r) => setTimeout(r, 400)); // the fake's late pmemsave finds the folder gone
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("when aborted while connecting, stops before dumping anything", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), delayMs: { qmp_capabilities: 300 } });
    fakes.push(f);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: tmp(), signal: abort.signal }));
    expect(err.message).toMatch(/^--qmp: capture interrupted/);
    expect(f.commands.map((c) => c.execute)).not.toContain("pmemsave");
  });

  it("refuses to keep the bytes of a guest twice the size of the memory available, before dumping anything", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    await expect(captureVm({ qmpPath: f.socketPath, keepBytes: true, availableMemoryBytes: 2 * 300 * PAGE - 1 })).rejects.toThrow(
      /^keepBytes: keeping the bytes of a 1\.17 MiB guest takes about twice that in memory, more than the 2\.34 MiB available; capture hashes only \(without keepBytes\) \(got true\)$/,
    );
    expect(f.commands.map((c) => c.execute)).not.toContain("pmemsave");
    expect((await captureVm({ qmpPath: f.socketPath, keepBytes: true, availableMemoryBytes: 2 * 300 * PAGE })).bytes!.length).toBe(300 * PAGE);
  });

  it("refuses to start when already aborted, before connecting", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(captureVm({ qmpPath: "/nonexistent", signal: abort.signal })).rejects.toThrow(/^--qmp: capture interrupted/);
  });

  it("says which temp folder is full when QEMU's pmemsave runs out of space, and leaves no temp file", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory(), errors: { pmemsave: "writing memory to '/x' failed: No space left on device" } });
    fakes.push(f);
    const base = tmp();
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: base }));
    expect(err.message).toBe(`--qmp: QEMU refused pmemsave: writing memory to '/x' failed: No space left on device: ${base} is full; give a smaller --chunk or free space there (got ${JSON.stringify(f.socketPath)})`);
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it("names a temp folder it cannot make its private folder in, in one line", async () => {
    const f = await startFakeQemu({ memory: fakeGuestMemory() });
    fakes.push(f);
    const missing = path.join(tmp(), "gone");
    const err = await rejection(captureVm({ qmpPath: f.socketPath, tempDir: missing }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(new RegExp(`^--qmp: cannot make a private temp folder in ${missing} for QEMU's dump: .+ \\(got ".*"\\)$`));
    expect(f.commands.map((c) => c.execute)).not.toContain("pmemsave");
  });

  it("falls back from /dev/shm to the OS temp folder when /dev/shm has no room for a chunk", () => {
    const shm = tmp();
    expect(defaultTempDir(64 * MiB, shm, () => 64 * MiB)).toBe(shm);
    expect(defaultTempDir(64 * MiB, shm, () => 64 * MiB - 1)).toBe(os.tmpdir());
    expect(defaultTempDir(64 * MiB, path.join(shm, "none"), () => 1e12)).toBe(os.tmpdir());
  });

  it("refuses guest RAM that is not whole pages, and records hot-plugged memory it did not capture", async () => {
    const f = await startFakeQemu({ memory: new Uint8Array(6 * 1024), mtree: 'FlatView #0\n AS "memory", root: system\n  0000000000000000-00000000000017ff (prio 0, ram): pc.ram\n' });
    fakes.push(f);
    await expect(captureVm({ qmpPath: f.socketPath })).rejects.toThrow(/^--qmp: guest RAM range pc\.ram at 0x0 is not whole 4096-byte pages \(got ".*"\)$/);
    expect(f.commands.map((c) => c.execute)).not.toContain("pmemsave");
    const g = await startFakeQemu({ memory: fakeGuestMemory(), pluggedMemoryBytes: 2 * MiB });
    fakes.push(g);
    expect((await captureVm({ qmpPath: g.socketPath })).info.source).toMatchObject({ memoryBytes: 300 * PAGE, pluggedMemoryBytes: 2 * MiB });
  });

  it("refuses a chunk that is not whole pages", async () => {
    await expect(captureVm({ qmpPath: "/nonexistent", chunkBytes: 1000 })).rejects.toThrow(/^chunkBytes: a chunk is a positive multiple of the 4096-byte page \(got 1000\)$/);
  });
});

describe("guestRamLayout: where guest RAM lies (the PCI hole)", () => {
  it("reads a small pc guest as one range from 0, the BIOS window included", () => {
    expect(guestRamLayout(128 * MiB, pcMtree(128 * MiB))).toEqual([{ startAddress: 0, sizeBytes: 128 * MiB, name: "pc.ram" }]);
  });

  it("splits a 4 GiB pc guest at the hole: 3 GiB from 0, 1 GiB from 4 GiB (QEMU 7.2's own map)", () => {
    const mtree = [
      "FlatView #1",
      ' AS "memory", root: system',
      " Root memory region: system",
      "  0000000000000000-00000000000bffff (prio 0, ram): pc.ram",
      "  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom",
      "  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000",
      "  0000000000100000-00000000bfffffff (prio 0, ram): pc.ram @0000000000100000",
      "  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic",
      "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios",
      "  0000000100000000-000000013fffffff (prio 0, ram): pc.ram @00000000c0000000",
    ].join("\r\n");
    expect(guestRamLayout(4 * 1024 * MiB, mtree)).toEqual([
      { startAddress: 0, sizeBytes: 3 * 1024 * MiB, name: "pc.ram" },
      { startAddress: 4 * 1024 * MiB, sizeBytes: 1024 * MiB, name: "pc.ram@0xc0000000" },
    ]);
  });

  it("reads a KVM guest's map, whose lines end in the accelerator's name (and [RO] where read-only)", () => {
    const mtree = [
      "FlatView #0",
      ' AS "memory", root: system',
      " Root memory region: system",
      "  0000000000000000-000000000009ffff (prio 0, ram): pc.ram KVM",
      "  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem",
      "  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom KVM",
      "  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000 KVM",
      "  0000000000100000-0000000007ffffff (prio 0, ram): pc.ram @0000000000100000 KVM",
      "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios KVM",
      "  0000000100000000-0000000100000fff (prio 0, ram): small.ram [RO] KVM",
    ].join("\n");
    expect(guestRamLayout(128 * MiB, mtree)).toEqual([{ startAddress: 0, sizeBytes: 128 * MiB, name: "pc.ram" }]);
  });

  it("takes the block that is the guest's RAM, not a device's larger RAM (a 256 MiB video BAR beside 128 MiB)", () => {
    const mtree = pcMtree(128 * MiB).replace("  00000000fffc0000", "  00000000e0000000-00000000efffffff (prio 1, ram): vga.vram\r\n  00000000fffc0000");
    expect(mtree).toContain("vga.vram");
    expect(guestRamLayout(128 * MiB, mtree)).toEqual([{ startAddress: 0, sizeBytes: 128 * MiB, name: "pc.ram" }]);
  });

  it("refuses a map whose RAM does not add up to base-memory, and a map with no RAM", () => {
    expect(() => guestRamLayout(256 * MiB, pcMtree(128 * MiB), { where: "--qmp", value: "/s" })).toThrow(
      /^--qmp: guest RAM block pc\.ram covers 134217728 bytes in 1 range\(s\) of the memory map, but base-memory is 268435456; capture-vm will not guess where the rest lies \(got "\/s"\)$/,
    );
    expect(() => guestRamLayout(128 * MiB, 'FlatView #0\n AS "memory", root: system\n  0000000000000000-0000000000000007 (prio 0, i/o): x\n')).toThrow(/shows no RAM/);
    expect(() => guestRamLayout(128 * MiB, "FlatView #0\n AS \"I/O\", root: io\n")).toThrow(/no flat view of the "memory" address space/);
  });
});

describe.skipIf(!hasQemu)(`captureVm on a real QEMU${hasQemu ? "" : " (skipped: no qemu-system-x86_64)"}`, () => {
  let qemu: RealQemu;
  let loaded: Buffer;
  const LOAD_AT = 0x200000;
  const PATTERN = "memvirt-q2-same!";

  beforeAll(async () => {
    // 64 identical pages, 32 distinct ones, then 8 zero pages, loaded at 2 MiB by QEMU itself.
    const parts = [Buffer.alloc(64 * PAGE, PATTERN)];
    for (let i = 0; i < 32; i++) parts.push(Buffer.alloc(PAGE, i + 1));
    parts.push(Buffer.alloc(8 * PAGE));
    loaded = Buffer.concat(parts);
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "load.bin"), loaded);
    qemu = await startQemu({ memory: "128M", load: [{ file: path.join(dir, "load.bin"), address: LOAD_AT }] });
  });

  it("agrees exactly with an independent sha256 reading of QEMU's own full pmemsave", async () => {
    const snap = await captureVm({ qmpPath: qemu.socketPath, chunkBytes: 16 * MiB });
    const raw = path.join(tmp(), "raw.mem");
    await withQmp(qemu.socketPath, (q) => q.execute("pmemsave", { val: 0, size: 128 * MiB, filename: raw }));
    const memory = fs.readFileSync(raw);
    expect(memory.length).toBe(128 * MiB);
    const theirs = independentReading(memory);
    expect(snapshotReading(snap)).toEqual(theirs);
    expect(snap.pageCount).toBe(32_768);
    // The loaded bytes are where they were put: 64 pattern pages, 32 distinct pages.
    expect(memory.subarray(LOAD_AT, LOAD_AT + loaded.length).equals(loaded)).toBe(true);
    const patternHash = XXH64_HASHER.hash(Buffer.alloc(PAGE, PATTERN));
    expect([...snap.hashes].filter((h) => h === patternHash).length).toBe(64);
    expect(snap.info.source).toMatchObject({ kind: "guest", memoryBytes: 128 * MiB, pluggedMemoryBytes: 0 });
  });

  it("tells a second capture that another client holds QEMU's QMP (QEMU serves one), and captures once it has left", async () => {
    const first = await QmpClient.connect(qemu.socketPath);
    try {
      const t0 = Date.now();
      const err = await rejection(captureVm({ qmpPath: qemu.socketPath, connect: { timeoutMs: 1000 } }));
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err).toBeInstanceOf(MemvirtError);
      expect(err.message).toMatch(/^--qmp: no QMP greeting within 1 s \(is it QEMU's QMP socket\? QEMU serves one client at a time: is another connected\?\) \(got ".*"\)$/);
      expect(await first.execute("query-status")).toMatchObject({ running: false }); // the first is served still
    } finally {
      first.close();
    }
    expect((await captureVm({ qmpPath: qemu.socketPath, chunkBytes: 64 * MiB })).pageCount).toBe(32_768);
  });

  it("reads a real q35 guest of 3 GiB as 2 GiB from 0 and 1 GiB from 4 GiB", async () => {
    const q = await startQemu({ memory: "3G", machine: "q35" });
    const mtree = await withQmp(q.socketPath, (qmp) => qmp.execute<string>("human-monitor-command", { "command-line": "info mtree -f" }));
    expect(guestRamLayout(3 * 1024 * MiB, mtree)).toEqual([
      { startAddress: 0, sizeBytes: 2048 * MiB, name: "pc.ram" },
      { startAddress: 4096 * MiB, sizeBytes: 1024 * MiB, name: "pc.ram@0x80000000" },
    ]);
  });
});
