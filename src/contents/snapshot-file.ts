/**
 * Snapshot files on disk: `readSnapshot` (plain or gzip, recognised by its first two bytes)
 * and `writeSnapshot` (gzip when the name ends in `.gz`), written through `OutputFile`, so the
 * target is either the old file or the complete new one.
 */
import * as fs from "node:fs";
import { once } from "node:events";
import { createGzip, gunzipSync } from "node:zlib";
import { MemvirtError } from "../util/errors";
import { describeFsError, openOutputFile } from "../util/output-file";
import { gzipProblem } from "../trace/gzip-error";
import type { PageSnapshot } from "./page-snapshot";
import { decodeSnapshot, encodeSnapshot } from "./snapshot-format";

/**
 * Read a snapshot file (plain or gzip). Errors are one line naming the file: it is missing or
 * unreadable, not a snapshot, of another format version, truncated, or corrupt.
 *
 * @example
 * const snap = readSnapshot("data/snapshots/python-1.mvpages.gz");
 * snap.pageCount
 */
export function readSnapshot(file: string): PageSnapshot {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new MemvirtError(`cannot read: ${describeFsError(err)}`, { where: file });
  }
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = gunzipSync(data);
    } catch (err) {
      throw new MemvirtError(gzipProblem(err) ?? `cannot decompress: ${(err as Error).message}`, { where: file });
    }
  }
  return decodeSnapshot(data, file);
}

/** Options of `writeSnapshot`. */
export interface WriteSnapshotOptions {
  /** Compress with gzip (default: when the file name ends in `.gz`). */
  gzip?: boolean;
  /** Where the path came from, for errors (default "--out"). */
  where?: string;
}

/**
 * Write `snap` to `file` atomically (a temp file renamed over it once complete). Returns the
 * bytes written (compressed, if gzip).
 *
 * @example
 * await writeSnapshot("python.mvpages.gz", snap); // gzip, from the name
 */
export async function writeSnapshot(file: string, snap: PageSnapshot, options: WriteSnapshotOptions = {}): Promise<number> {
  const gzip = options.gzip ?? file.endsWith(".gz");
  const out = openOutputFile(file, { where: options.where ?? "--out" });
  let written = 0;
  const write = (chunk: Uint8Array) => {
    out.write(chunk);
    written += chunk.length;
  };
  try {
    const parts = encodeSnapshot(snap);
    if (!gzip) parts.forEach(write);
    else {
      const z = createGzip({ level: 6 });
      // A failed write (full disk) must reject this promise, not escape from the event.
      z.on("data", (chunk: Buffer) => {
        try { write(chunk); } catch (err) { z.destroy(err as Error); }
      });
      const done = once(z, "end");
      done.catch(() => {}); // awaited below; this only keeps an early rejection from being "unhandled"
      for (const part of parts) {
        if (!z.write(part)) await once(z, "drain");
      }
      z.end();
      await done;
    }
    out.commit();
    return written;
  } finally {
    out.abort();
  }
}
