/**
 * `--out FILE`, shared by the commands that write tables: checked before any work (a run may
 * take minutes), never the same file as an input, and written through `OutputFile` (streamed,
 * atomic, cleaned up on Ctrl-C).
 */
import * as path from "node:path";
import { MemvirtError } from "../util/errors";
import { sameFile, sameFileAsFd } from "../util/fs";
import { checkOutputFile, openOutputFile, type OutputFile } from "../util/output-file";
import type { RowFormat } from "../util/row-stream";

/** A checked `--out`. */
export interface OutFlag {
  /** The path as given. */
  file: string;
  /** From the extension. */
  format: RowFormat;
}

/** An input the output must not overwrite. */
export interface OutInput {
  /** Its path. */
  path: string;
  /** What it is, for the message: "the experiment file", "the trace". */
  what: string;
}

/**
 * Check `--out` before the work: the extension (.csv or .json), the directory exists and takes
 * new files, the target is not a directory, and it is none of `inputs` (compared by device
 * and inode, so symlinks and hard links are caught), nor the file redirected to stdin when
 * `stdinIsInput`.
 *
 * @example
 * const out = checkOutFlag("results.csv", [{ path: "exp.json", what: "the experiment file" }]);
 * out.format // "csv"
 */
export function checkOutFlag(out: string, inputs: readonly OutInput[], options: { stdinIsInput?: boolean } = {}): OutFlag {
  const ext = path.extname(out).toLowerCase();
  if (ext !== ".csv" && ext !== ".json") throw new MemvirtError("must end in .csv or .json", { where: "--out", value: out });
  const { target } = checkOutputFile(out);
  for (const input of inputs) {
    if (sameFile(target, input.path)) throw new MemvirtError(`is ${input.what} itself; the results would overwrite it`, { where: "--out", value: out });
  }
  if (options.stdinIsInput && sameFileAsFd(target, 0)) throw new MemvirtError("is the file on stdin (the trace) itself; the results would overwrite it", { where: "--out", value: out });
  return { file: out, format: ext === ".csv" ? "csv" : "json" };
}

/**
 * Open `--out`, let `fn` write to it, and commit; on any error (or Ctrl-C) the temp file is
 * removed and an existing file stays as it was.
 *
 * @example
 * await writeOutFile(out, (file) => file.write("t,vm\n0,web\n"));
 */
export async function writeOutFile(out: OutFlag, fn: (file: OutputFile) => unknown | Promise<unknown>): Promise<void> {
  const file = openOutputFile(out.file);
  try {
    await fn(file);
    file.commit();
  } finally {
    file.abort();
  }
}
