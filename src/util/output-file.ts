/**
 * Output files that never cost the user what was there before.
 *
 *   open ──▶ .NAME.PID.N.tmp beside the target ──write (buffered, flushed as it grows)──▶
 *   commit: fsync the file ─▶ rename over the target ─▶ fsync the directory
 *   abort / failed write / SIGINT, SIGTERM, SIGHUP / process exit: the temp file is removed
 *
 * Invariants:
 * - the target is either the old file or the complete new one, never half of either;
 * - no `.tmp` file outlives the process, unless it dies by SIGKILL or a power cut;
 * - memory stays flat however much is written (the buffer is flushed every `bufferBytes`);
 * - a symlinked target is written through (the link stays a link, its file is replaced);
 * - a device or FIFO (`/dev/null`, `/dev/full`, a pipe) is written directly: there is nothing
 *   to replace, and renaming over a device node would destroy it.
 *
 * A failure is a one-line `MemvirtError` naming the file and the reason (`no space left on
 * device (ENOSPC)`), with exit code 1: the input was fine, the machine was not.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MemvirtError } from "./errors";

/** Exit code for an output the machine could not write (full disk, file too large...). */
export const EXIT_IO = 1;

/** An output being written: `write` as often as needed, then `commit` (or `abort`). */
export interface OutputFile {
  /** The path as the user gave it. */
  readonly file: string;
  /** The file that will be replaced (symlinks resolved). */
  readonly target: string;
  /**
   * Append text (UTF-8) or bytes; flushed to disk once the buffer holds `bufferBytes`. Bytes
   * are not copied: leave them unchanged until the next flush or `commit`.
   */
  write(data: string | Uint8Array): void;
  /** Finish: the target now holds everything written, durably. */
  commit(): void;
  /** Give up: remove the temporary file; the target is untouched. Safe to call twice. */
  abort(): void;
}

/** Options of `openOutputFile` and `checkOutputFile`. */
export interface OutputFileOptions {
  /** Where the path came from, for error messages (default "--out"). */
  where?: string;
  /** Characters buffered before a write to disk (default 1 MiB). */
  bufferBytes?: number;
}

/** What `--out FILE` refers to, once symlinks are followed. */
export interface OutputTarget {
  /** Absolute path of the file to write (symlinks resolved; the file may not exist yet). */
  target: string;
  /** "new": no such file yet; "file": a regular file to replace; "special": a device or FIFO. */
  kind: "new" | "file" | "special";
}

const MAX_SYMLINK_HOPS = 40;

/**
 * Follow `file` through symlinks to the file that would be written; a MemvirtError when its
 * directory does not exist or it is a directory.
 *
 * @example
 * resolveOutputTarget("results.csv") // { target: "/home/me/results.csv", kind: "new" }
 */
export function resolveOutputTarget(file: string, where = "--out"): OutputTarget {
  if (/[\\/]$/.test(file)) throw new MemvirtError("is a directory; give a file name", { where, value: file });
  let p = path.resolve(file);
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    const dir = path.dirname(p);
    let realDir: string;
    try {
      realDir = fs.realpathSync(dir);
    } catch {
      throw new MemvirtError(`output directory ${dir} does not exist`, { where, value: file });
    }
    if (!fs.statSync(realDir).isDirectory()) throw new MemvirtError(`${dir} is not a directory`, { where, value: file });
    p = path.join(realDir, path.basename(p));
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return { target: p, kind: "new" };
    }
    if (st.isSymbolicLink()) {
      p = path.resolve(realDir, fs.readlinkSync(p));
      continue;
    }
    if (st.isDirectory()) throw new MemvirtError("is a directory; give a file name", { where, value: file });
    return { target: p, kind: st.isFile() ? "file" : "special" };
  }
  throw new MemvirtError("too many levels of symbolic links", { where, value: file });
}

/**
 * Check, before a long run, that `file` can be written: its directory exists and takes new
 * files (a probe file is created and removed), it is not a directory, and a device is
 * writable. Returns the resolved target.
 *
 * @example
 * checkOutputFile("results/run.csv") // throws "--out: output directory … does not exist" when it does not
 */
export function checkOutputFile(file: string, options: OutputFileOptions = {}): OutputTarget {
  const where = options.where ?? "--out";
  const t = resolveOutputTarget(file, where);
  if (t.kind === "special") {
    try {
      fs.accessSync(t.target, fs.constants.W_OK);
    } catch (err) {
      throw new MemvirtError(`cannot write ${t.target}: ${describeFsError(err)}`, { where, value: file });
    }
    return t;
  }
  const { fd, tmp } = createTemp(t.target, file, where);
  fs.closeSync(fd);
  try { fs.unlinkSync(tmp); } catch { /* already gone */ }
  return t;
}

/**
 * Open `file` for writing: a temp file beside it (or the device itself), renamed over it by
 * `commit()`. Throws a MemvirtError naming the file when it cannot be created.
 *
 * @example
 * const out = openOutputFile("results.csv");
 * try { out.write("t,vm\n"); out.write("0,web\n"); out.commit(); } finally { out.abort(); }
 */
export function openOutputFile(file: string, options: OutputFileOptions = {}): OutputFile {
  const where = options.where ?? "--out";
  const bufferBytes = options.bufferBytes ?? 1 << 20;
  const t = resolveOutputTarget(file, where);
  return t.kind === "special" ? new DirectOutput(file, t.target, where, bufferBytes) : new AtomicOutput(file, t, where, bufferBytes);
}

/**
 * A one-line reason for a file-system error: "no space left on device (ENOSPC)".
 *
 * @example
 * describeFsError(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }))
 * // "no space left on device (ENOSPC)"
 */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === "object" && typeof e.code === "string") {
    const text = REASONS[e.code] ?? String(e.message).replace(/^[A-Z]+: /, "").replace(/, [a-z]+( '.*')?$/, "");
    return `${text} (${e.code})`;
  }
  return String((e as Error)?.message ?? e);
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EIO: "input/output error",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EPIPE: "the reader closed the pipe",
};

let tempCounter = 0;

/** Create `.NAME.PID.N.tmp` beside the target, exclusively (never reusing a stranger's file). */
function createTemp(target: string, file: string, where: string): { fd: number; tmp: string } {
  const dir = path.dirname(target);
  for (;;) {
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${tempCounter++}.tmp`);
    try {
      return { fd: fs.openSync(tmp, "wx"), tmp };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new MemvirtError(`cannot create files in ${dir}: ${describeFsError(err)}`, { where, value: file });
    }
  }
}

/** Buffering shared by both kinds of output: text is joined and written once it is big enough. */
abstract class BufferedOutput implements OutputFile {
  protected fd: number | undefined;
  protected finished = false;
  private chunks: Array<string | Uint8Array> = [];
  private buffered = 0;

  constructor(readonly file: string, readonly target: string, protected readonly where: string, private readonly bufferBytes: number) {}

  write(data: string | Uint8Array): void {
    if (this.finished) throw new MemvirtError(`output ${this.file} is already closed`, { where: this.where });
    this.chunks.push(data);
    this.buffered += data.length;
    if (this.buffered >= this.bufferBytes) this.flush();
  }

  /** Write out the buffer; on failure remove what was started and throw the one-line error. */
  protected flush(): void {
    if (this.buffered === 0 || this.fd === undefined) return;
    // Runs of text are joined into one write; bytes are written as they are (not copied).
    const parts: Uint8Array[] = [];
    let text: string[] = [];
    for (const chunk of this.chunks) {
      if (typeof chunk === "string") { text.push(chunk); continue; }
      if (text.length > 0) { parts.push(Buffer.from(text.join(""), "utf8")); text = []; }
      parts.push(chunk);
    }
    if (text.length > 0) parts.push(Buffer.from(text.join(""), "utf8"));
    this.chunks = [];
    this.buffered = 0;
    try {
      for (const bytes of parts) {
        for (let off = 0; off < bytes.length;) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Abort and throw the error naming the file. */
  protected fail(err: unknown): never {
    this.abort();
    throw new MemvirtError(`cannot write ${this.file}: ${describeFsError(err)}${this.keptNote()}`, { where: this.where, exitCode: EXIT_IO });
  }

  protected keptNote(): string {
    return "";
  }

  protected closeFd(): void {
    if (this.fd === undefined) return;
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    this.fd = undefined;
  }

  abstract commit(): void;
  abstract abort(): void;
}

/** A regular file: temp file + fsync + rename + directory fsync. */
class AtomicOutput extends BufferedOutput {
  private readonly tmp: string;
  private readonly existed: boolean;

  constructor(file: string, t: OutputTarget, where: string, bufferBytes: number) {
    super(file, t.target, where, bufferBytes);
    const { fd, tmp } = createTemp(t.target, file, where);
    this.fd = fd;
    this.tmp = tmp;
    this.existed = t.kind === "file";
    track(this);
    if (this.existed) {
      // The new file keeps the old one's permissions (a private 0600 file stays private).
      try { fs.fchmodSync(fd, fs.statSync(t.target).mode & 0o7777); } catch { /* best effort */ }
    }
  }

  protected override keptNote(): string {
    return this.existed ? "; the old file is unchanged" : "; nothing was written";
  }

  override commit(): void {
    if (this.finished) throw new MemvirtError(`output ${this.file} is already closed`, { where: this.where });
    this.flush();
    try {
      fs.fsyncSync(this.fd!);
      this.closeFd();
      fs.renameSync(this.tmp, this.target);
    } catch (err) {
      this.fail(err);
    }
    this.finished = true;
    untrack(this);
    fsyncDirectory(path.dirname(this.target));
  }

  override abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.closeFd();
    try { fs.unlinkSync(this.tmp); } catch { /* already gone */ }
    untrack(this);
  }
}

/** A device or FIFO: written in place; there is no old content to keep. */
class DirectOutput extends BufferedOutput {
  constructor(file: string, target: string, where: string, bufferBytes: number) {
    super(file, target, where, bufferBytes);
    try {
      this.fd = fs.openSync(target, "w");
    } catch (err) {
      throw new MemvirtError(`cannot write ${file}: ${describeFsError(err)}`, { where, exitCode: EXIT_IO });
    }
  }

  override commit(): void {
    if (this.finished) throw new MemvirtError(`output ${this.file} is already closed`, { where: this.where });
    this.flush();
    this.finished = true;
    this.closeFd();
  }

  override abort(): void {
    this.finished = true;
    this.closeFd();
  }
}

/** Make a rename durable: fsync the directory (not possible on every platform or file system). */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    /* Windows and some file systems cannot fsync a directory */
  } finally {
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* ignore */ }
  }
}

// Temp files still open. While there are any, a signal first removes them, then kills the
// process as the signal would have (so the shell sees 130 / 143). With none open the handlers
// are detached: a JS signal handler would otherwise delay Ctrl-C until a synchronous run ends.
const pending = new Set<AtomicOutput>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function onSignal(signal: NodeJS.Signals): void {
  for (const out of [...pending]) out.abort();
  detach();
  process.exitCode = 128 + (os.constants.signals[signal] ?? 0);
  process.kill(process.pid, signal);
}

function onExit(): void {
  for (const out of [...pending]) out.abort();
}

function track(out: AtomicOutput): void {
  if (pending.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on("exit", onExit);
  }
  pending.add(out);
}

function untrack(out: AtomicOutput): void {
  if (!pending.delete(out) || pending.size > 0) return;
  detach();
}

function detach(): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.removeListener("exit", onExit);
}
