/**
 * Streaming a Lackey trace from a file, stdin (`-`) or any Readable, gzip or plain.
 *
 *   file / stdin ──chunks──▶ [gunzip if it starts 1f 8b] ──chunks──▶ LackeyParser ──batches──▶ onBatch
 *
 * Invariants: the whole trace is never in memory (1 MiB read chunks, one batch of accesses);
 * compression is detected from the first two bytes, so `.gz` files and gzip on stdin both work;
 * I/O and decompression failures become MemvirtErrors naming the file (a truncated gzip says so).
 * An input that holds no record (empty, a closed stdin, binary, UTF-16, text without records) is
 * an error naming the file, never an empty trace: see `LackeyParser`. The resolved stats give
 * the skipped-line count (`skipped`) and the accesses (`accesses`, ≥ `records`) for reports.
 */
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { MemvirtError } from "../util/errors";
import { gzipProblem } from "./gzip-error";
import { LackeyBatchHandler, LackeyParser, LackeyStats } from "./lackey-parser";

/** Where a trace comes from: a path (`-` for stdin), a Readable, or any async iterable of bytes. */
export type TraceSource = string | Readable | AsyncIterable<Uint8Array>;

/** Options of `readLackey`. */
export interface ReadLackeyOptions {
  /** Receives each batch of page accesses; the arrays are reused after it returns. */
  onBatch: LackeyBatchHandler;
  /** Accesses per batch (default 65536). */
  batchSize?: number;
  /** Name for error messages; default the path, "<stdin>" for `-`, "<stream>" otherwise. */
  fileName?: string;
  /** Stop after this many records. */
  maxRecords?: number;
  /** Width of the virtual address space (default 64): 48 for 4-level tables, 57 for 5-level. */
  addressBits?: number;
  /** Progress in source bytes (compressed bytes for gzip); total is NaN when unknown (stdin). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const READ_CHUNK_BYTES = 1 << 20;

/**
 * The display name of a trace source.
 *
 * @internal
 * @example
 * traceSourceName("-") // "<stdin>"
 */
export function traceSourceName(source: TraceSource): string {
  if (typeof source === "string") return source === "-" ? "<stdin>" : source;
  return "<stream>";
}

/**
 * Stream a Lackey trace through `onBatch`; resolves with the counts. Rejects with a MemvirtError
 * naming the file for I/O and gzip failures, malformed records (FILE:LINE), and inputs with no
 * records (with the number of lines skipped).
 *
 * @example
 * let accesses = 0;
 * const stats = await readLackey("data/traces/sort.lackey.gz", {
 *   onBatch: (pages, kinds, n) => { accesses += n; },
 * });
 * stats.accesses === accesses // true; stats.skipped: non-record lines
 */
export async function readLackey(source: TraceSource, options: ReadLackeyOptions): Promise<LackeyStats> {
  const fileName = options.fileName ?? traceSourceName(source);
  const parser = new LackeyParser(options.onBatch, { fileName, batchSize: options.batchSize, maxRecords: options.maxRecords, addressBits: options.addressBits });
  let raw: AsyncIterable<Uint8Array>;
  let total = NaN;
  let ownStream: Readable | undefined;
  if (typeof source === "string") {
    if (source === "-") raw = process.stdin;
    else {
      try {
        total = statSync(source).size;
      } catch (err) {
        throw ioError(err, fileName);
      }
      ownStream = createReadStream(source, { highWaterMark: READ_CHUNK_BYTES });
      raw = ownStream;
    }
  } else raw = source;

  let doneBytes = 0;
  const onProgress = options.onProgress;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of raw) {
      doneBytes += chunk.length;
      if (onProgress) onProgress(doneBytes, total);
      yield chunk;
    }
  }

  let gunzip: ReturnType<typeof createGunzip> | undefined;
  try {
    const input = counted();
    // Gather at least two bytes to look for the gzip magic (a stream may deliver 1-byte chunks).
    let head: Uint8Array | undefined;
    for (;;) {
      const r = await input.next();
      if (r.done) break;
      head = head === undefined ? r.value : Buffer.concat([head, r.value]);
      if (head.length >= 2) break;
    }
    if (head !== undefined) {
      if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
        gunzip = createGunzip({ chunkSize: 1 << 16 });
        const compressed = Readable.from(prepend(head, input), { objectMode: false });
        compressed.on("error", (err) => gunzip!.destroy(err));
        compressed.pipe(gunzip);
        for await (const chunk of gunzip) {
          parser.push(chunk as Buffer);
          if (parser.done) break;
        }
      } else {
        parser.push(head);
        if (!parser.done) {
          for await (const chunk of input) {
            parser.push(chunk);
            if (parser.done) break;
          }
        }
      }
    }
  } catch (err) {
    throw ioError(err, fileName);
  } finally {
    gunzip?.destroy();
    ownStream?.destroy();
  }
  return parser.end();
}

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

function ioError(err: unknown, fileName: string): Error {
  if (err instanceof MemvirtError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === "object" && "code" in e) {
    const what = e.code === "ENOENT" ? "trace file not found"
      : e.code === "EISDIR" ? "trace path is a directory"
      : e.code === "EACCES" ? "trace file is not readable"
      : gzipProblem(e) ?? `cannot read trace (${e.message})`;
    return new MemvirtError(what, { where: fileName });
  }
  return err as Error;
}
