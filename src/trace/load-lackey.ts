/**
 * Loading a whole (small) Lackey trace into memory, for replay as a workload and for tests.
 *
 * A loaded trace is two parallel typed arrays: 8 + 1 bytes per record. Use `readLackey` to
 * stream traces that are too large to hold.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { MemvirtError } from "../util/errors";
import { gzipProblem } from "./gzip-error";
import { LackeyParser, LackeyStats } from "./lackey-parser";
import { readLackey, TraceSource, traceSourceName } from "./read-lackey";

/**
 * A trace held in memory: access i touched page `pages[i]` with kind `kinds[i]`. A record whose
 * range crosses a page boundary is one access per page, so `pages.length === stats.accesses`,
 * which is at least `stats.records`.
 */
export interface LackeyTrace {
  readonly fileName: string;
  readonly pages: Float64Array;
  readonly kinds: Uint8Array;
  readonly stats: LackeyStats;
}

/** Options of the loaders. */
export interface LoadLackeyOptions {
  /** Stop after this many records. */
  maxRecords?: number;
  /** Width of the virtual address space (default 64): 48 for 4-level tables, 57 for 5-level. */
  addressBits?: number;
}

/** Grows two typed arrays as batches arrive. */
class TraceBuilder {
  pages = new Float64Array(1024);
  kinds = new Uint8Array(1024);
  length = 0;
  add = (pages: Float64Array, kinds: Uint8Array, n: number): void => {
    if (this.length + n > this.pages.length) {
      let size = this.pages.length * 2;
      while (size < this.length + n) size *= 2;
      const p = new Float64Array(size);
      p.set(this.pages.subarray(0, this.length));
      const k = new Uint8Array(size);
      k.set(this.kinds.subarray(0, this.length));
      this.pages = p;
      this.kinds = k;
    }
    this.pages.set(pages.subarray(0, n), this.length);
    this.kinds.set(kinds.subarray(0, n), this.length);
    this.length += n;
  };
  finish(fileName: string, stats: LackeyStats): LackeyTrace {
    return { fileName, pages: this.pages.slice(0, this.length), kinds: this.kinds.slice(0, this.length), stats };
  }
}

/**
 * Parse a whole trace held in a buffer (plain text; see `loadLackeyTraceSync` for gzip); a
 * string is taken as UTF-8 text. Throws like `LackeyParser` for input that is not a trace.
 *
 * @example
 * const t = parseLackeyBuffer(Buffer.from("I  0400d7d4,8\n M 0421d9c8,4\n"), "tiny.lackey");
 * t.pages // Float64Array [0x400d, 0x421d]; t.kinds // [FETCH, WRITE]
 */
export function parseLackeyBuffer(buf: Uint8Array | string, fileName = "<buffer>", options: LoadLackeyOptions = {}): LackeyTrace {
  const builder = new TraceBuilder();
  const parser = new LackeyParser(builder.add, { fileName, maxRecords: options.maxRecords, addressBits: options.addressBits });
  parser.push(typeof buf === "string" ? Buffer.from(buf, "utf8") : buf);
  return builder.finish(fileName, parser.end());
}

/**
 * Load a trace file (plain or gzip) synchronously. For small traces, e.g. in config loading.
 *
 * @example
 * const t = loadLackeyTraceSync("data/traces/sort.lackey.gz");
 * t.stats.records // record lines; t.pages.length === t.stats.accesses (pages touched)
 */
export function loadLackeyTraceSync(file: string, options: LoadLackeyOptions = {}): LackeyTrace {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MemvirtError(code === "ENOENT" ? "trace file not found" : `cannot read trace (${(err as Error).message})`, { where: file });
  }
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = gunzipSync(data);
    } catch (err) {
      throw new MemvirtError(gzipProblem(err) ?? `not valid gzip data (${(err as Error).message})`, { where: file });
    }
  }
  return parseLackeyBuffer(data, file, options);
}

/**
 * Load a trace from a file, stdin or stream, streaming the parse; the records are kept.
 *
 * @example
 * const t = await loadLackeyTrace("data/traces/sort.lackey.gz", { maxRecords: 100000 });
 */
export async function loadLackeyTrace(source: TraceSource, options: LoadLackeyOptions & { fileName?: string } = {}): Promise<LackeyTrace> {
  const builder = new TraceBuilder();
  const fileName = options.fileName ?? traceSourceName(source);
  const stats = await readLackey(source, { onBatch: builder.add, maxRecords: options.maxRecords, addressBits: options.addressBits, fileName });
  return builder.finish(fileName, stats);
}
