/**
 * Benchmarks for the Lackey trace reader.
 *
 * - parse throughput (MB/s) on a generated in-memory trace shaped like real lackey output
 *   (mostly `I` lines, loads/stores near a stack, ~14 bytes per line); target >= 100 MB/s;
 * - streaming throughput from a file (plain and gzip);
 * - peak RSS growth while streaming traces of growing length: flat, because input is streamed.
 */
import { mkdtempSync, rmSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { LackeyParser } from "../../src/trace/lackey-parser";
import { readLackey } from "../../src/trace/read-lackey";
import { Rng } from "../../src/util/rng";
import { report, runBench, throughput } from "./harness";

/** One chunk of realistic lackey text (about `bytes` long), deterministic per seed. */
function makeChunk(bytes: number, rng: Rng): Buffer {
  const lines: string[] = [];
  let size = 0;
  let pc = 0x4016b0;
  while (size < bytes) {
    const r = rng.next();
    let line: string;
    if (r < 0.6) {
      pc += 1 + rng.int(7);
      line = `I  ${pc.toString(16).padStart(8, "0")},${1 + rng.int(7)}`;
    } else if (r < 0.98) {
      const kind = r < 0.8 ? "L" : r < 0.93 ? "S" : "M";
      const addr = rng.next() < 0.5 ? 0x1fff000000 + rng.int(1 << 16) : 0x4222000 + rng.int(1 << 20);
      line = ` ${kind} ${addr.toString(16).padStart(8, "0")},${1 << rng.int(4)}`;
    } else {
      line = "==8826== ";
    }
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join("\n") + "\n");
}

/** A Readable producing `totalBytes` of trace from one repeated chunk (never held whole). */
function traceStream(chunk: Buffer, totalBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) this.push(null);
      else {
        this.push(chunk);
        sent += chunk.length;
      }
    },
  });
}

runBench(async () => {
  const MiB = 1 << 20;
  let sink = 0;
  const onBatch = (pages: Float64Array, _kinds: Uint8Array, n: number) => {
    sink += pages[n - 1];
  };
  // Memory first, before the 50 MiB of benchmark chunks exist: peak RSS while streaming traces
  // of growing length from one repeated 1 MiB chunk. Flat means the reader holds no history.
  {
    const chunk = makeChunk(MiB, new Rng(2));
    const measure = async (bytes: number) => {
      let peak = process.memoryUsage.rss();
      const t0 = performance.now();
      const stats = await readLackey(traceStream(chunk, bytes), {
        onBatch: (p, k, n) => {
          onBatch(p, k, n);
          const rss = process.memoryUsage.rss();
          if (rss > peak) peak = rss;
        },
      });
      return { stats, peak, seconds: (performance.now() - t0) / 1000 };
    };
    await measure(16 * MiB); // warm up: JIT, stream buffers
    const baseline = process.memoryUsage.rss();
    report("trace: RSS before streaming (after a 16 MiB warm-up)", baseline / MiB, "MiB");
    for (const sizeMiB of [64, 256, 1024]) {
      const { stats, peak, seconds } = await measure(sizeMiB * MiB);
      report(`trace: stream ${sizeMiB} MiB (${(stats.records / 1e6).toFixed(1)}M records): peak RSS - baseline`, (peak - baseline) / MiB, "MiB");
      report(`trace: stream ${sizeMiB} MiB: throughput`, stats.bytes / 1e6 / seconds, "MB/s");
    }
  }

  const rng = new Rng(1);
  const chunks = Array.from({ length: 50 }, () => makeChunk(MiB, rng));
  const totalBytes = chunks.reduce((s, c) => s + c.length, 0);

  await throughput("trace: Lackey parse, in memory, 1 MiB chunks", totalBytes / 1e6, () => {
    const parser = new LackeyParser(onBatch, { fileName: "bench" });
    for (const c of chunks) parser.push(c);
    parser.end();
  }, "MB/s", "≥ 100", 3000);

  const records = (() => {
    const parser = new LackeyParser(() => {}, { fileName: "bench" });
    for (const c of chunks) parser.push(c);
    return parser.end().records;
  })();
  await throughput("trace: Lackey parse, in memory (records)", records, () => {
    const parser = new LackeyParser(onBatch, { fileName: "bench" });
    for (const c of chunks) parser.push(c);
    parser.end();
  }, "records/s", undefined, 2000);

  // Streaming from files: plain and gzip.
  const dir = mkdtempSync(join(tmpdir(), "memvirt-bench-"));
  try {
    const plain = join(dir, "bench.lackey");
    const gz = join(dir, "bench.lackey.gz");
    {
      const out = createWriteStream(plain);
      for (const c of chunks) if (!out.write(c)) await once(out, "drain");
      out.end();
      await once(out, "finish");
      const gzip = createGzip({ level: 6 });
      const gzOut = createWriteStream(gz);
      gzip.pipe(gzOut);
      for (const c of chunks) if (!gzip.write(c)) await once(gzip, "drain");
      gzip.end();
      await once(gzOut, "finish");
    }
    for (const [label, file] of [["plain file", plain], ["gzip file", gz]] as const) {
      const runs = 3;
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) await readLackey(file, { onBatch });
      const seconds = (performance.now() - t0) / 1000;
      report(`trace: readLackey from a ${label} (uncompressed MB/s)`, (runs * totalBytes) / 1e6 / seconds, "MB/s");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (sink === 0.5) console.log(sink);
});
