/**
 * Benchmarks for real page contents (issue 13).
 *
 * - Real pages hashed, in GB/s: the pages of this very process (read through /proc/self, which
 *   needs no root), hashed one 4 KiB page per call with @node-rs/xxhash's XXH64 (the hash
 *   snapshots store) and XXH3-64 (measured, not chosen: slower per page in this package), and
 *   through the snapshot builder (zero check + XXH64).
 * - Debian's `xxhsum` on the same bytes in the same run: one file holding them, hashed by
 *   `xxhsum -H1` (XXH64) and `-H3` (XXH3), timed from process start to exit (the file is in the
 *   page cache). Target: memvirt at least half xxhsum's XXH64 rate. xxhsum hashes one stream;
 *   memvirt makes one call per page, as a scanner must.
 * - The capture itself (/proc/self → snapshot) and the sharing report, in pages/s.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { xxh3, xxh64 } from "@node-rs/xxhash";
import { capturePages } from "../../src/contents/capture-process";
import { SnapshotBuilder } from "../../src/contents/snapshot-builder";
import { computeSharing } from "../../src/contents/sharing-report";
import { report, runBench, throughput } from "./harness";

/** Wall-clock seconds of `cmd args`, median and range over `runs` runs. */
function timeCommand(cmd: string, args: string[], runs: number): { median: number; min: number; max: number } | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    const seconds = (performance.now() - t0) / 1000;
    if (r.error || r.status !== 0) return undefined;
    times.push(seconds);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

runBench(async () => {
  const pageSize = 4096;
  // Real pages: this process's resident memory (Node, V8 heap, libraries), bytes kept.
  const t0 = performance.now();
  const self = capturePages(process.pid, { keepBytes: true });
  const captureSeconds = (performance.now() - t0) / 1000;
  const bytes = self.bytes!;
  const pages = Array.from({ length: self.pageCount }, (_, i) => bytes.subarray(i * pageSize, (i + 1) * pageSize));
  const gb = bytes.length / 1e9;
  report(`contents: real pages (this process, ${self.zeroPages.toLocaleString("en-US")} zero)`, self.pageCount, "pages", undefined, `${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
  report("contents: capturePages(/proc/self) with bytes", self.pageCount / captureSeconds, "pages/s", undefined, "one run");

  let sink = 0n;
  const ours = await throughput("contents: XXH64 per 4 KiB page (@node-rs/xxhash)", gb, () => {
    for (const p of pages) sink ^= xxh64(p);
  }, "GB/s");
  await throughput("contents: XXH3-64 per 4 KiB page (@node-rs/xxhash)", gb, () => {
    for (const p of pages) sink ^= xxh3.xxh64(p);
  }, "GB/s", undefined, 1000);
  await throughput("contents: snapshot builder (zero check + XXH64)", gb, () => {
    const b = new SnapshotBuilder();
    b.beginRegion({ startAddress: 0n, endAddress: BigInt(pages.length * pageSize), kind: "anon", name: "" });
    pages.forEach((p, i) => b.addPage(i, p));
    sink ^= b.finish().hash(0);
  }, "GB/s");

  // xxhsum on the same bytes, written once to a file (then in the page cache).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-bench-xxh-"));
  try {
    const file = path.join(dir, "pages.bin");
    fs.writeFileSync(file, bytes);
    timeCommand("cat", [file], 1); // warm the page cache
    const h1 = timeCommand("xxhsum", ["-H1", file], 7);
    if (h1 === undefined) {
      report("contents: xxhsum -H1 on the same bytes", Number.NaN, "GB/s", undefined, "xxhsum not found: apt-get install xxhash");
    } else {
      const h3 = timeCommand("xxhsum", ["-H3", file], 7)!;
      const theirs = gb / h1.median;
      report("contents: xxhsum -H1 (XXH64) on the same bytes, one file", theirs, "GB/s", undefined, `median of 7, runs ${(gb / h1.max).toFixed(2)}–${(gb / h1.min).toFixed(2)}, process start included`);
      report("contents: xxhsum -H3 (XXH3) on the same bytes, one file", gb / h3.median, "GB/s", undefined, `median of 7, runs ${(gb / h3.max).toFixed(2)}–${(gb / h3.min).toFixed(2)}`);
      report("contents: memvirt XXH64 per page / xxhsum -H1", ours / theirs, "x", "≥ 0.5");
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // The sharing report on hash-only pages: one million, 1 in 4 a duplicate.
  const n = 1_000_000;
  const b = new SnapshotBuilder({ name: "synthetic" });
  b.beginRegion({ startAddress: 0n, endAddress: BigInt(n * pageSize), kind: "anon", name: "" });
  for (let i = 0; i < n; i++) b.addPageHash(i, BigInt(i % 750_000) * 0x9e3779b97f4a7c15n + 1n);
  const synthetic = b.finish();
  await throughput("contents: computeSharing on hash-only pages", n, () => {
    sink ^= BigInt(computeSharing([synthetic]).overall.savablePages);
  }, "pages/s", undefined, 2000);
  if (sink === 1n) console.log(sink);
});
