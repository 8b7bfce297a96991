/**
 * Small file helpers for outputs: write a whole file atomically, and tell whether two paths
 * are one file (so results never overwrite their own input).
 *
 * Streaming writes, signal clean-up and the durability rules live in `output-file.ts`.
 */
import * as fs from "node:fs";
import { openOutputFile, type OutputFileOptions } from "./output-file";

/**
 * Write `data` to `file` atomically (temp file, fsync, rename in the same directory): a reader
 * never sees a half-written file, and a failed write leaves the old file intact.
 *
 * @internal
 * @example
 * writeFileAtomic("results.csv", "t,vm\n0,web\n");
 */
export function writeFileAtomic(file: string, data: string, options: OutputFileOptions = {}): void {
  const out = openOutputFile(file, options);
  try {
    out.write(data);
    out.commit();
  } finally {
    out.abort();
  }
}

/**
 * True when `a` and `b` name the same existing file: through symlinks, `..`, and hard links
 * (same device and inode). False when either does not exist.
 *
 * @internal
 * @example
 * sameFile("exp.json", "link-to-exp.json") // true
 */
export function sameFile(a: string, b: string): boolean {
  const sa = statOrUndefined(a);
  const sb = statOrUndefined(b);
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * True when the file at `file` is the one open on descriptor `fd` (e.g. stdin redirected from
 * it: `memvirt translate --trace - --out t.csv < t.csv`).
 *
 * @internal
 * @example
 * sameFileAsFd("trace.csv", 0)
 */
export function sameFileAsFd(file: string, fd: number): boolean {
  const s = statOrUndefined(file);
  if (s === undefined) return false;
  try {
    const f = fs.fstatSync(fd);
    return f.isFile() && f.dev === s.dev && f.ino === s.ino;
  } catch {
    return false;
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
