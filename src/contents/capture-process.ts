/**
 * `capturePages`: the resident pages of a live Linux process, read through `/proc`.
 *
 *   /proc/PID/maps     the mappings, in address order, each with its kind (file, anon, heap...)
 *   /proc/PID/pagemap  8 bytes per virtual page: bit 63 present in RAM, bit 62 swapped out,
 *                      bit 61 a page-cache or shared-anonymous page
 *   /proc/PID/mem      the pages' bytes, read at their virtual addresses
 *
 * Only present pages are stored (hashed; zero pages found by comparing bytes; the bytes kept
 * on request); swapped-out pages are counted, not read, since reading would swap them back in.
 * Reading another process's pagemap and mem needs root (the kernel checks ptrace access). The
 * process keeps running during the capture, so the snapshot is not atomic: a page written
 * meanwhile is seen either before or after the write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MemvirtError } from "../util/errors";
import { describeFsError } from "../util/output-file";
import { PAGE_FILE, type PageSnapshot } from "./page-snapshot";
import { SnapshotBuilder } from "./snapshot-builder";
import { parseProcMaps } from "./proc-maps";

/** Options of `capturePages`. */
export interface CaptureOptions {
  /** Keep every page's bytes, not only its hash (default false). */
  keepBytes?: boolean;
  /** Where procfs is mounted (default "/proc"); tests point it at a fake tree of plain files. */
  procDir?: string;
  /** The kernel's page size (default: read from `/proc/self/smaps`, else 4096). */
  pageSizeBytes?: number;
  /** Called after each mapping: mappings done, mappings in all. */
  onProgress?: (done: number, total: number) => void;
  /** What to name in errors about the process (default "--pid"). */
  where?: string;
}

const PAGEMAP_CHUNK_PAGES = 1 << 16; // 512 KiB of pagemap per read
const MEM_RUN_BYTES = 1 << 20; // consecutive present pages read from mem in one go
const PRESENT = 0x8000_0000; // bit 63 of the entry: bit 31 of its high word
const SWAPPED = 0x4000_0000; // bit 62
const FILE_OR_SHARED = 0x2000_0000; // bit 61

/**
 * Capture the resident pages of process `pid` into a snapshot. A one-line MemvirtError (naming
 * `--pid`) when there is no such process, when this is not root and the kernel refuses, when
 * pagemap or mem cannot be read, or when the process exits during the capture.
 *
 * @example
 * const snap = capturePages(1234, { keepBytes: false });
 * console.log(snap.pageCount, snap.zeroPages);
 */
export function capturePages(pid: number, options: CaptureOptions = {}): PageSnapshot {
  const where = options.where ?? "--pid";
  if (!Number.isSafeInteger(pid) || pid < 1) throw new MemvirtError("a process id is a positive integer", { where, value: pid });
  const procDir = options.procDir ?? "/proc";
  const dir = path.join(procDir, String(pid));
  const fail = (problem: string): never => {
    throw new MemvirtError(problem, { where, value: pid });
  };
  const unreadable = (file: string, err: unknown): never => {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === "ENOENT" || code === "ESRCH") fail(`no such process (${file} is gone)`);
    let hint = "";
    if (code === "EACCES" || code === "EPERM") {
      hint = process.getuid?.() === 0
        ? "; the kernel refused even root (a process marked non-dumpable, or a ptrace restriction such as Yama or an LSM)"
        : "; not root: reading another process's pages needs root, run capture-pages as root";
    }
    return fail(`cannot read ${file}: ${describeFsError(err)}${hint}`);
  };
  if (!fs.existsSync(dir)) fail(`no such process (no ${dir})`);
  const mapsFile = path.join(dir, "maps");
  let mapsText = "";
  try {
    mapsText = fs.readFileSync(mapsFile, "utf8");
  } catch (err) {
    unreadable(mapsFile, err);
  }
  const maps = parseProcMaps(mapsText, mapsFile);
  if (maps.length === 0) fail("the process has no memory mappings (a kernel thread, or a zombie)");
  let command = "";
  try { command = fs.readFileSync(path.join(dir, "comm"), "utf8").trim(); } catch { /* optional */ }

  const pageSizeBytes = options.pageSizeBytes ?? kernelPageSize(procDir);
  const builder = new SnapshotBuilder({
    name: `pid ${pid}${command ? ` (${command})` : ""}`,
    pageSizeBytes,
    keepBytes: options.keepBytes ?? false,
    source: { kind: "process", pid, command },
    capturedAt: new Date().toISOString(),
  });
  const pagemapFile = path.join(dir, "pagemap");
  const memFile = path.join(dir, "mem");
  let pagemapFd: number | undefined;
  let memFd: number | undefined;
  try {
    try { pagemapFd = fs.openSync(pagemapFile, "r"); } catch (err) { unreadable(pagemapFile, err); }
    try { memFd = fs.openSync(memFile, "r"); } catch (err) { unreadable(memFile, err); }
    const entries = Buffer.allocUnsafeSlow(PAGEMAP_CHUNK_PAGES * 8);
    const words = new Uint32Array(entries.buffer, entries.byteOffset, PAGEMAP_CHUNK_PAGES * 2);
    const run = Buffer.allocUnsafeSlow(Math.max(MEM_RUN_BYTES, pageSizeBytes));
    const runPages = run.length / pageSizeBytes;
    const single = Buffer.allocUnsafeSlow(pageSizeBytes);
    const size = BigInt(pageSizeBytes);
    const present: number[] = [];
    const presentFlags: number[] = [];
    let swapped = 0;
    let unreadablePages = 0;
    maps.forEach((map, m) => {
      builder.beginRegion({ startAddress: map.startAddress, endAddress: map.endAddress, kind: map.kind, name: map.path });
      const firstPage = map.startAddress / size;
      const pages = Number((map.endAddress - map.startAddress) / size);
      for (let chunk = 0; chunk < pages; chunk += PAGEMAP_CHUNK_PAGES) {
        const n = Math.min(PAGEMAP_CHUNK_PAGES, pages - chunk);
        let got = 0;
        try {
          got = readFully(pagemapFd!, entries, n * 8, (firstPage + BigInt(chunk)) * 8n);
        } catch (err) {
          unreadable(pagemapFile, err);
        }
        // A short read: the mapping went away meanwhile; its missing pages are not present.
        present.length = 0;
        presentFlags.length = 0;
        for (let j = 0; j < Math.floor(got / 8); j++) {
          const hi = words[2 * j + 1];
          if (hi & PRESENT) {
            present.push(chunk + j);
            presentFlags.push(hi & FILE_OR_SHARED ? PAGE_FILE : 0);
          } else if (hi & SWAPPED) swapped++;
        }
        // Read runs of consecutive present pages from mem in one go.
        for (let k = 0; k < present.length;) {
          let len = 1;
          while (k + len < present.length && len < runPages && present[k + len] === present[k] + len) len++;
          const address = map.startAddress + BigInt(present[k]) * size;
          let ok = 0;
          try {
            ok = Math.floor(readFully(memFd!, run, len * pageSizeBytes, address) / pageSizeBytes);
          } catch {
            ok = 0; // EIO (a device mapping, or unmapped meanwhile): retried page by page below
          }
          for (let j = 0; j < len; j++) {
            const page = j < ok ? run.subarray(j * pageSizeBytes, (j + 1) * pageSizeBytes) : readPage(memFd!, single, address + BigInt(j) * size);
            if (page === undefined) unreadablePages++;
            else builder.addPage(present[k + j], page, presentFlags[k + j]);
          }
          k += len;
        }
      }
      options.onProgress?.(m + 1, maps.length);
    });
    builder.countSkipped({ swappedPages: swapped, unreadablePages });
  } finally {
    if (pagemapFd !== undefined) fs.closeSync(pagemapFd);
    if (memFd !== undefined) fs.closeSync(memFd);
  }
  if (!fs.existsSync(dir)) fail("the process exited during the capture");
  return builder.finish();
}

/** Read up to `length` bytes at `position` (a bigint: kernel addresses exceed 2^53); fewer at end of data. */
function readFully(fd: number, buffer: Buffer, length: number, position: bigint): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + BigInt(done));
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** One page from mem, or undefined when the kernel will not give it (EIO, or gone). */
function readPage(fd: number, buffer: Buffer, address: bigint): Buffer | undefined {
  try {
    return readFully(fd, buffer, buffer.length, address) === buffer.length ? buffer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The kernel's page size, from the first `KernelPageSize:` line of `/proc/self/smaps`
 * (Node has no `sysconf`); 4096 when that cannot be read.
 *
 * @example
 * kernelPageSize() // 4096 on x86-64
 */
export function kernelPageSize(procDir = "/proc"): number {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(procDir, "self", "smaps"), "r");
    const head = Buffer.alloc(16384);
    const n = fs.readSync(fd, head, 0, head.length, null);
    const m = /KernelPageSize:\s+(\d+) kB/.exec(head.toString("latin1", 0, n));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* no procfs: assume the common size */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return 4096;
}
