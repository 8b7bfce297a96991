/**
 * Benchmarks for capturing real QEMU guests (issue 16).
 *
 * - Capture time per GiB of guest memory, split into QEMU's pmemsave (QEMU writes a chunk to a
 *   temp file), memvirt's reading + hashing of it, and the rest (truncating the temp file
 *   between chunks, QMP), with the temp file in /dev/shm (the default) and on disk: on a 1 GiB QEMU with no guest (`-S`) whose
 *   RAM holds 512 MiB of random bytes (loaded by QEMU's loader device) and 512 MiB of zeros,
 *   about the zero share of an idle Linux guest (15,3xx of 32,768 pages).
 * - Hashing throughput on the dump itself, in MB/s: memvirt's snapshot builder (zero check +
 *   XXH64 per 4 KiB page, read from the file 1 MiB at a time) and plain XXH64 per page, against
 *   Debian's `xxhsum -H64` on the same file (one stream, process start included, file in the
 *   page cache), median of 5.
 * - When Q1's guest image boots here (`bootGuest`), the capture of a real idle 128 MiB guest.
 *
 * QEMU processes are killed by pid at the end, and on failure.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { xxh64 } from "@node-rs/xxhash";
import { captureVm } from "../../src/qemu/capture-vm";
import { withQmp } from "../../src/qemu/qmp-client";
import { SnapshotBuilder } from "../../src/contents/snapshot-builder";
import { report, runBench } from "./harness";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PAGE = 4096;

/** Median of `runs` wall-clock timings of `cmd args`, or undefined when it fails. */
function timeCommand(cmd: string, args: string[], runs: number): number | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    if (r.error || r.status !== 0) return undefined;
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Seconds to read `file` page by page through `perPage`, median of `runs`. */
function timeFilePages(file: string, runs: number, perPage: (page: Buffer, index: number) => void): number {
  const buffer = Buffer.allocUnsafeSlow(MiB);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const fd = fs.openSync(file, "r");
    const t0 = performance.now();
    let index = 0;
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      for (let off = 0; off + PAGE <= n; off += PAGE) perPage(buffer.subarray(off, off + PAGE), index++);
    }
    times.push((performance.now() - t0) / 1000);
    fs.closeSync(fd);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function startQemu(dir: string, memory: string, load?: string): Promise<{ child: ChildProcess; socket: string }> {
  const socket = path.join(dir, "qmp.sock");
  const args = ["-m", memory, "-display", "none", "-nodefaults", "-S", "-qmp", `unix:${socket},server=on,wait=off`];
  if (load) args.push("-device", `loader,file=${load},addr=0x1000000,force-raw=on`);
  const child = spawn("qemu-system-x86_64", args, { stdio: "ignore" });
  for (let i = 0; i < 400 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  if (!fs.existsSync(socket)) throw new Error("qemu made no QMP socket in 20 s");
  return { child, socket };
}

runBench(async () => {
  if (spawnSync("qemu-system-x86_64", ["--version"], { stdio: "ignore" }).status !== 0) {
    report("qemu-capture: capture time per GiB", Number.NaN, "s/GiB", undefined, "qemu-system-x86_64 not found: apt-get install qemu-system-x86");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-bench-qemu-"));
  const children: ChildProcess[] = [];
  try {
    // 512 MiB of random bytes, loaded at 16 MiB into a 1 GiB guest.
    const load = path.join(dir, "random.bin");
    const chunk = Buffer.allocUnsafeSlow(64 * MiB);
    const fd = fs.openSync(load, "w");
    for (let i = 0; i < 8; i++) fs.writeSync(fd, randomFillSync(chunk));
    fs.closeSync(fd);
    const q = await startQemu(dir, "1G", load);
    children.push(q.child);

    let gib = 1;
    await captureVm({ qmpPath: q.socket }); // warm-up: JIT, QEMU's first reads of guest RAM
    for (const [label, tempDir] of [["default temp dir (/dev/shm when writable)", undefined], ["temp dir on disk (/tmp)", dir]] as const) {
      let pmemsaveSeconds = 0;
      let hashSeconds = 0;
      const t0 = performance.now();
      const snap = await captureVm({ qmpPath: q.socket, tempDir, onTiming: (phase, s) => { if (phase === "pmemsave") pmemsaveSeconds += s; else hashSeconds += s; } });
      const total = (performance.now() - t0) / 1000;
      gib = (snap.pageCount * PAGE) / GiB;
      const note = `${label}; 1 GiB guest, ${snap.zeroPages.toLocaleString("en-US")} of ${snap.pageCount.toLocaleString("en-US")} pages zero, 64 MiB chunks`;
      report(`qemu-capture: captureVm total, ${tempDir === undefined ? "default temp" : "/tmp"}`, total / gib, "s/GiB", undefined, note);
      report("qemu-capture:   of which QEMU pmemsave (to the temp file)", pmemsaveSeconds / gib, "s/GiB");
      report("qemu-capture:   of which read + zero check + XXH64", hashSeconds / gib, "s/GiB");
      report("qemu-capture:   of which the rest (temp file truncation, QMP)", (total - pmemsaveSeconds - hashSeconds) / gib, "s/GiB");
    }

    // The dump as one file, for hashing both ways.
    const dump = path.join(dir, "guest.mem");
    await withQmp(q.socket, (qmp) => qmp.execute("pmemsave", { val: 0, size: GiB, filename: dump }));
    const mb = (gib * GiB) / 1e6;
    timeCommand("cat", [dump], 1); // into the page cache
    const builder = timeFilePages(dump, 3, (() => {
      let b: SnapshotBuilder | undefined;
      return (page: Buffer, i: number) => {
        if (i === 0) {
          b = new SnapshotBuilder();
          b.beginRegion({ startAddress: 0n, endAddress: BigInt(GiB), kind: "physical", name: "" });
        }
        b!.addPage(i, page);
      };
    })());
    report("qemu-capture: snapshot builder on the dump (zero check + XXH64)", mb / builder, "MB/s", undefined, "median of 3, read from the file 1 MiB at a time");
    let sink = 0n;
    const plain = timeFilePages(dump, 3, (page) => { sink ^= xxh64(page); });
    report("qemu-capture: XXH64 per 4 KiB page on the dump", mb / plain, "MB/s", undefined, "median of 3, every page hashed (zeros too)");
    const theirs = timeCommand("xxhsum", ["-H64", dump], 5);
    if (theirs === undefined) report("qemu-capture: xxhsum -H64 on the dump", Number.NaN, "MB/s", undefined, "xxhsum not found: apt-get install xxhash");
    else {
      report("qemu-capture: xxhsum -H64 on the dump (one stream)", mb / theirs, "MB/s", undefined, "median of 5, process start included");
      report("qemu-capture: memvirt XXH64 per page / xxhsum -H64", theirs / plain, "x");
    }
    if (sink === 1n) console.log(sink);
  } finally {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await gone;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // A real idle guest (Q1's image), when it boots here.
  try {
    const { bootGuest, stopGuest } = await import("../../src/qemu/guest-vm");
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-bench-vmstate-"));
    const env = { ...process.env, MEMVIRT_VM_STATE_DIR: state };
    try {
      const guest = await bootGuest({ name: "bench-capture", memory: "128MiB", workload: "idle", env });
      try {
        const t0 = performance.now();
        const snap = await captureVm({ qmpPath: guest.qmpPath, pause: true });
        const s = (performance.now() - t0) / 1000;
        report("qemu-capture: captureVm of an idle 128 MiB guest", s, "s", undefined, `${snap.zeroPages.toLocaleString("en-US")} of ${snap.pageCount.toLocaleString("en-US")} pages zero; ${(s / (128 / 1024)).toFixed(2)} s/GiB; boot took ${guest.bootSeconds} s`);
      } finally {
        await stopGuest("bench-capture", { env });
      }
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  } catch (err) {
    report("qemu-capture: captureVm of an idle 128 MiB guest", Number.NaN, "s", undefined, `no guest: ${(err as Error).message.split("\n")[0]}`);
  }
});
