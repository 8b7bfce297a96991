/**
 * `captureVm`: a page snapshot of a running QEMU guest's physical memory, through QMP.
 *
 *   query-memory-size-summary ─▶ base-memory (the guest's RAM, in bytes)
 *   info mtree -f             ─▶ where that RAM lies in guest-physical addresses
 *   pmemsave val,size,file    ─▶ one chunk (64 MiB by default) into a private temp file
 *                                ─▶ read back page by page into SnapshotBuilder ─▶ deleted
 *
 * Memory is never held whole: one chunk in a temp file and one read buffer at a time, so a
 * multi-GiB guest costs a 64 MiB temp file (in /dev/shm when there is one: RAM, no disk
 * writes). The temp directory is private (0700, from mkdtemp), the file 0600, both removed on
 * every exit path; QEMU writes the file, so it must run as this user (or be able to write into
 * `tempDir`).
 *
 * Where guest RAM lies (x86): below 4 GiB the PCI hole takes the top of the address space, so a
 * guest with more RAM than fits below it has the rest remapped above 4 GiB (i440fx `pc` keeps
 * 3 GiB low once RAM reaches 3.5 GiB; q35 keeps 2 GiB low once it reaches 2.75 GiB). Reading
 * [0, base-memory) blindly would read the hole and miss the top. So the ranges come from
 * QEMU's own flat memory map (`info mtree -f`): the RAM block in the "memory" address space
 * that covers exactly base-memory (not a device's RAM, such as a large video BAR), its ranges merged where the offset into the block runs on (the
 * legacy VGA/BIOS window 0xa0000–0xfffff is read as the guest sees it: device or ROM bytes, not
 * the RAM beneath), and the total must equal base-memory or the capture is refused.
 * Hot-plugged memory (DIMMs, `plugged-memory`) is not captured; the snapshot records its size.
 *
 * The guest's CPUs are stopped for the dump (QMP `stop`, then `cont`; about 1 s per GiB) unless
 * `pause` is false: the pages of a running guest change between chunks (and within one), so
 * such a snapshot is no single instant. `source.consistent` says which it is (true when paused,
 * or when the guest was stopped already).
 *
 * Aborting (`signal`: the CLI aborts on Ctrl-C) stops between QMP answers, waits for a pmemsave
 * already under way, resumes a guest it paused and removes the temp folder before rejecting,
 * so an interrupted capture leaves neither a stopped guest nor a dump in /dev/shm.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MemvirtError } from "../util/errors";
import { formatBytes } from "../util/units";
import { describeFsError } from "../util/output-file";
import { SnapshotBuilder } from "../contents/snapshot-builder";
import type { PageSnapshot } from "../contents/page-snapshot";
import { QmpClient, type QmpConnectOptions } from "./qmp-client";

/** Options of `captureVm`. */
export interface CaptureVmOptions {
  /** The QMP socket of the running QEMU (`-qmp unix:PATH,server=on,wait=off`). */
  qmpPath: string;
  /** The snapshot's name (default "guest at PATH"). */
  name?: string;
  /** Bytes per pmemsave (default 64 MiB; a multiple of the page size). */
  chunkBytes?: number;
  /** Bytes per page (default 4096, x86's base page). */
  pageSizeBytes?: number;
  /** Keep every page's bytes too (default false: hashes only). */
  keepBytes?: boolean;
  /** Stop the guest's CPUs during the dump for a consistent picture (default true). */
  pause?: boolean;
  /** Where the private temp directory is made (default /dev/shm when writable, else the OS temp dir). */
  tempDir?: string;
  /** Called after each chunk: bytes done, bytes in all. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Connection options (timeout, the flag errors name: default "--qmp"). */
  connect?: QmpConnectOptions;
  /** Called after each pmemsave and after hashing its chunk, with seconds spent (for benchmarks). */
  onTiming?: (phase: "pmemsave" | "hash", seconds: number) => void;
  /** Aborting ends the capture early (see the module comment); it rejects with a one-line MemvirtError. */
  signal?: AbortSignal;
  /** @internal Memory this process may use (default MemAvailable): `keepBytes` needs twice the guest's. */
  availableMemoryBytes?: number;
}

/** One range of guest RAM in guest-physical addresses. */
export interface GuestRamRange {
  /** Its first guest-physical byte. */
  startAddress: number;
  /** Its length in bytes. */
  sizeBytes: number;
  /** The RAM block's name (`pc.ram`) and, above its first range, the offset into it. */
  name: string;
}

const DEFAULT_CHUNK = 64 * 2 ** 20;
const READ_BYTES = 1 << 20;

/**
 * Capture the guest-physical memory of the QEMU at `options.qmpPath` into a snapshot: one
 * region of kind `physical` per RAM range, every page hashed (XXH64), zero pages found by
 * comparing bytes. Errors are one line naming the socket (`--qmp`): see QmpClient, plus a RAM
 * layout capture-vm cannot read, and a pmemsave that wrote too little.
 *
 * @example
 * const snap = await captureVm({ qmpPath: "/tmp/guest.qmp" });
 * console.log(snap.pageCount, snap.zeroPages); // 32768 … for a 128 MiB guest
 */
export async function captureVm(options: CaptureVmOptions): Promise<PageSnapshot> {
  const where = options.connect?.where ?? "--qmp";
  const pageSizeBytes = options.pageSizeBytes ?? 4096;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const pause = options.pause ?? true;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < pageSizeBytes || chunkBytes % pageSizeBytes !== 0) {
    throw new MemvirtError(`a chunk is a positive multiple of the ${pageSizeBytes}-byte page`, { where: "chunkBytes", value: chunkBytes });
  }
  const interrupted = () => new MemvirtError("capture interrupted; the guest runs as before and no temp dump is left", { where, value: options.qmpPath });
  if (options.signal?.aborted) throw interrupted();
  const qmp = await QmpClient.connect(options.qmpPath, options.connect);
  let dir: string | undefined;
  let resume = false;
  let inflight: Promise<unknown> = Promise.resolve();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(interrupted());
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort(); // aborted while connecting: no abort event comes now
  });
  aborted.catch(() => { /* raced below */ });
  // A command QEMU is running goes on after an abort: remember it, to wait for it before cleaning up.
  const run = <T>(command: string, args?: Record<string, unknown>): Promise<T> => {
    const p = qmp.execute<T>(command, args);
    inflight = p.catch(() => undefined);
    return Promise.race([p, aborted]);
  };
  try {
    const capturedAt = new Date().toISOString();
    const summary = await run<{ "base-memory": number; "plugged-memory"?: number }>("query-memory-size-summary");
    const baseBytes = summary["base-memory"];
    // Kept bytes are held per page, then copied into one buffer: twice the guest's memory at the end.
    const availableBytes = options.availableMemoryBytes ?? memAvailableBytes();
    if (options.keepBytes && Number.isFinite(baseBytes) && 2 * baseBytes > availableBytes) {
      throw new MemvirtError(`keeping the bytes of a ${formatBytes(baseBytes)} guest takes about twice that in memory, more than the ${formatBytes(availableBytes)} available; capture hashes only (without keepBytes)`, { where: "keepBytes", value: true });
    }
    const mtree = await run<string>("human-monitor-command", { "command-line": "info mtree -f" });
    const ranges = guestRamLayout(baseBytes, String(mtree), { where, value: options.qmpPath });
    for (const r of ranges) {
      if (r.startAddress % pageSizeBytes !== 0 || r.sizeBytes % pageSizeBytes !== 0) throw new MemvirtError(`guest RAM range ${r.name} at 0x${r.startAddress.toString(16)} is not whole ${pageSizeBytes}-byte pages`, { where, value: options.qmpPath });
    }
    const status = await run<{ running: boolean }>("query-status");
    const builder = new SnapshotBuilder({
      name: options.name ?? `guest at ${options.qmpPath}`,
      pageSizeBytes,
      keepBytes: options.keepBytes ?? false,
      capturedAt,
      source: {
        kind: "guest",
        qmp: options.qmpPath,
        qemu: `${qmp.version.major}.${qmp.version.minor}.${qmp.version.micro}${qmp.version.package ? ` (${qmp.version.package})` : ""}`,
        memoryBytes: baseBytes,
        pluggedMemoryBytes: summary["plugged-memory"] ?? 0,
        ranges: ranges.map((r) => ({ startAddress: r.startAddress, sizeBytes: r.sizeBytes, name: r.name })),
        paused: pause,
        // One instant only when the CPUs stood still throughout the dump.
        consistent: pause || !status.running,
      },
    });
    const parent = options.tempDir ?? defaultTempDir(Math.min(chunkBytes, baseBytes));
    try {
      dir = fs.mkdtempSync(path.join(parent, "memvirt-capture-vm-")); // 0700
    } catch (err) {
      throw new MemvirtError(`cannot make a private temp folder in ${parent} for QEMU's dump: ${describeFsError(err)}`, { where, value: options.qmpPath });
    }
    const file = path.join(dir, "chunk.mem");
    if (pause && status.running) {
      await run("stop");
      resume = true;
    }
    const buffer = Buffer.allocUnsafeSlow(Math.max(READ_BYTES, pageSizeBytes));
    let done = 0;
    for (const range of ranges) {
      builder.beginRegion({ startAddress: BigInt(range.startAddress), endAddress: BigInt(range.startAddress + range.sizeBytes), kind: "physical", name: range.name });
      for (let offset = 0; offset < range.sizeBytes; offset += chunkBytes) {
        const size = Math.min(chunkBytes, range.sizeBytes - offset);
        fs.writeFileSync(file, "", { mode: 0o600 }); // QEMU truncates and writes it: private from the start
        const t0 = performance.now();
        await run("pmemsave", { val: range.startAddress + offset, size, filename: file }).catch((err: unknown) => {
          if (!(err instanceof MemvirtError) || !/No space left/i.test(err.message)) throw err;
          const problem = err.message.slice(`${where}: `.length).replace(/ \(got .*\)$/, "");
          throw new MemvirtError(`${problem}: ${parent} is full; give a smaller --chunk or free space there`, { where, value: options.qmpPath });
        });
        const t1 = performance.now();
        options.onTiming?.("pmemsave", (t1 - t0) / 1000);
        addChunk(builder, file, size, offset / pageSizeBytes, buffer, pageSizeBytes, where, options.qmpPath);
        options.onTiming?.("hash", (performance.now() - t1) / 1000);
        done += size;
        options.onProgress?.(done, baseBytes);
      }
    }
    return builder.finish();
  } finally {
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    // QEMU answers in order: `cont` (or, without one, the pmemsave under way) settles before the folder goes.
    if (resume) await qmp.execute("cont", undefined, { timeoutMs: 10_000 }).catch(() => { /* QEMU went away: nothing to resume */ });
    await Promise.race([inflight, new Promise((r) => setTimeout(r, 10_000).unref())]);
    qmp.close();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Where chunks go by default: /dev/shm (tmpfs: a chunk costs RAM, not disk writes; measured
 * 2× faster than /tmp on ext4 for a 1 GiB guest) when it is a writable folder with room for a
 * chunk (a container's /dev/shm is often 64 MiB), else os.tmpdir().
 *
 * @internal
 * @example
 * defaultTempDir(64 * 2 ** 20) // "/dev/shm"
 */
export function defaultTempDir(chunkBytes: number, shm = "/dev/shm", freeBytes: (dir: string) => number = statfsFreeBytes): string {
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    if (fs.statSync(shm).isDirectory() && freeBytes(shm) >= chunkBytes) return shm;
  } catch { /* not Linux, or no tmpfs there */ }
  return os.tmpdir();
}

function statfsFreeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

function memAvailableBytes(): number {
  try {
    const m = /^MemAvailable:\s+([0-9]+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return os.freemem();
}

/** Read one pmemsave chunk from `file` and add its pages, numbered from `firstIndex`. */
function addChunk(builder: SnapshotBuilder, file: string, size: number, firstIndex: number, buffer: Buffer, pageSizeBytes: number, where: string, qmpPath: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    throw new MemvirtError(`cannot read QEMU's dump ${file}: ${describeFsError(err)}`, { where, value: qmpPath });
  }
  try {
    let index = firstIndex;
    let read = 0;
    while (read < size) {
      const want = Math.min(buffer.length, size - read);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, buffer, got, want - got, read + got);
        if (n === 0) throw new MemvirtError(`pmemsave wrote ${read + got} of ${size} bytes`, { where, value: qmpPath });
        got += n;
      }
      for (let off = 0; off < want; off += pageSizeBytes) builder.addPage(index++, buffer.subarray(off, off + pageSizeBytes));
      read += want;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Where `baseMemoryBytes` of guest RAM lie in guest-physical memory, read from `info mtree -f`
 * (see the module comment). Throws a one-line MemvirtError (naming `context`) when the map
 * shows no RAM or RAM of another size than base-memory.
 *
 * @example
 * guestRamLayout(4 * 2 ** 30, mtreeText)
 * // [{ startAddress: 0, sizeBytes: 3 GiB, name: "pc.ram" }, { startAddress: 4 GiB, sizeBytes: 1 GiB, name: "pc.ram@0xc0000000" }]
 */
export function guestRamLayout(baseMemoryBytes: number, mtree: string, context: { where?: string; value?: unknown } = {}): GuestRamRange[] {
  const fail = (problem: string): never => {
    throw new MemvirtError(problem, context);
  };
  if (!Number.isSafeInteger(baseMemoryBytes) || baseMemoryBytes <= 0) fail(`QEMU reports base-memory ${baseMemoryBytes}, not a positive size`);
  // The flat view of the CPUs' address space ("memory"), not a device's bus-master view.
  const views = mtree.split(/^FlatView #\d+/m);
  const view = views.find((v) => /^\s*AS "memory"/m.test(v)) ?? fail("QEMU's memory map (info mtree -f) has no flat view of the \"memory\" address space");
  // After the name and offset, QEMU may add " [RO]" and, under KVM, the accelerator (" KVM").
  const line = /^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, ram\): (\S+)(?: @([0-9a-f]+))?(?: .*)?$/gim;
  const byBlock = new Map<string, Array<{ start: number; end: number; offset: number }>>();
  for (const m of view.matchAll(line)) {
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16) + 1;
    const list = byBlock.get(m[3]) ?? [];
    list.push({ start, end, offset: m[4] === undefined ? 0 : parseInt(m[4], 16) });
    byBlock.set(m[3], list);
  }
  const total = (list: Array<{ start: number; end: number }>) => list.reduce((s, r) => s + r.end - r.start, 0);
  // Merge pieces whose offset into the block runs on with the address (a ROM window on top of RAM).
  const mergedOf = (list: Array<{ start: number; end: number; offset: number }>) => {
    const merged: Array<{ start: number; end: number; offset: number }> = [];
    for (const p of [...list].sort((a, b) => a.start - b.start)) {
      const last = merged.at(-1);
      if (last !== undefined && p.start - p.offset === last.start - last.offset) last.end = p.end;
      else merged.push({ ...p });
    }
    return merged;
  };
  // The block that covers exactly base-memory is the guest's RAM; a device's RAM (a large video
  // BAR, ivshmem) may be bigger, so size alone does not decide. Else the largest, for the error.
  let block = "";
  let merged: Array<{ start: number; end: number; offset: number }> = [];
  for (const [name, list] of byBlock) {
    const m = mergedOf(list);
    const exact = total(m) === baseMemoryBytes;
    if (exact || (total(merged) !== baseMemoryBytes && total(m) > total(merged))) { block = name; merged = m; }
    if (exact) break;
  }
  if (merged.length === 0) fail("QEMU's memory map (info mtree -f) shows no RAM in the \"memory\" address space");
  const covered = total(merged);
  if (covered !== baseMemoryBytes) {
    fail(`guest RAM block ${block} covers ${covered} bytes in ${merged.length} range(s) of the memory map, but base-memory is ${baseMemoryBytes}; capture-vm will not guess where the rest lies`);
  }
  return merged.map((r) => ({ startAddress: r.start, sizeBytes: r.end - r.start, name: r.offset === 0 ? block : `${block}@0x${r.offset.toString(16)}` }));
}
