/**
 * Atomic file output: write to a temporary file beside the target, then rename over it, so a
 * reader never sees a half-written result and a failed run leaves the old file intact.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MemvirtError } from "./errors";

/**
 * Write `data` to `file` atomically (temp file + rename in the same directory).
 *
 * @example
 * writeFileAtomic("results.csv", "t,vm\n0,web\n");
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new MemvirtError("output directory does not exist", { where: "--out", value: file });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw new MemvirtError(`cannot write output: ${(err as Error).message}`, { where: "--out", value: file });
  }
}
