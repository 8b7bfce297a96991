/**
 * A writer for the "newc" cpio format (SVR4 without checksums), the format the Linux kernel
 * unpacks an initramfs from. Written here rather than taken from Debian's `cpio` package because
 * it is a few lines and a fresh machine may not have `cpio`.
 *
 * Each entry is a 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the name with
 * its NUL padded to 4 bytes, then the data padded to 4 bytes; the archive ends with the entry
 * "TRAILER!!!".
 */

/**
 * One file, folder, symbolic link or character device in an archive.
 * @internal
 */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash, e.g. "bin/busybox". */
  name: string;
  kind: "file" | "dir" | "symlink" | "chardev";
  /** Permission bits (default 0755 for folders and files, 0777 for links, 0600 for devices). */
  mode?: number;
  /** A file's contents. */
  data?: Uint8Array;
  /** A symbolic link's target. */
  target?: string;
  /** A device's major and minor numbers. */
  device?: { major: number; minor: number };
}

const TYPE_BITS: Record<CpioEntry["kind"], number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000, chardev: 0o020000 };
const DEFAULT_MODE: Record<CpioEntry["kind"], number> = { file: 0o755, dir: 0o755, symlink: 0o777, chardev: 0o600 };

/**
 * Write entries as one newc cpio archive (uncompressed; gzip it for an initramfs). Entries are
 * written in the order given: put each folder before what it holds. Timestamps are 0 so the same
 * entries give the same bytes.
 *
 * @internal
 * @example
 * const archive = writeCpioNewc([
 *   { name: "bin", kind: "dir" },
 *   { name: "init", kind: "file", data: Buffer.from("#!/bin/sh\n") },
 *   { name: "bin/sh", kind: "symlink", target: "busybox" },
 * ]);
 */
export function writeCpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  const pad = () => {
    const n = (4 - (offset % 4)) % 4;
    if (n > 0) push(Buffer.alloc(n));
  };
  let ino = 1;
  const one = (name: string, mode: number, data: Buffer, device = { major: 0, minor: 0 }, nlink = 1) => {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    const fields = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, device.major, device.minor, nameBytes.length, 0];
    push(Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`, "ascii"));
    push(nameBytes);
    pad();
    push(data);
    pad();
  };
  for (const e of entries) {
    if (e.name === "" || e.name.startsWith("/")) throw new Error(`cpio entry name must be relative: "${e.name}"`);
    const mode = TYPE_BITS[e.kind] | (e.mode ?? DEFAULT_MODE[e.kind]);
    if (e.kind === "file") one(e.name, mode, Buffer.from(e.data ?? new Uint8Array(0)));
    else if (e.kind === "symlink") one(e.name, mode, Buffer.from(e.target ?? "", "utf8"));
    else if (e.kind === "chardev") one(e.name, mode, Buffer.alloc(0), e.device);
    else one(e.name, mode, Buffer.alloc(0), undefined, 2);
  }
  one("TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/**
 * One entry read back by `readCpioNewc`.
 * @internal
 */
export interface CpioReadEntry {
  name: string;
  /** The full mode, type bits included. */
  mode: number;
  data: Buffer;
}

/**
 * Read a newc cpio archive (uncompressed) back into its entries, trailer excluded: the image
 * tests use it to check what a built initramfs holds, in order.
 *
 * @internal
 * @example
 * readCpioNewc(writeCpioNewc([{ name: "init", kind: "file", data: Buffer.from("x") }]))[0].name // "init"
 */
export function readCpioNewc(archive: Buffer): CpioReadEntry[] {
  const out: CpioReadEntry[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    if (at + 110 > archive.length) throw new Error(`cpio archive truncated at byte ${at}`);
    const magic = archive.toString("ascii", at, at + 6);
    if (magic !== "070701") throw new Error(`not a newc cpio header at byte ${at} (magic "${magic}")`);
    const field = (i: number) => parseInt(archive.toString("ascii", at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString("utf8", at + 110, at + 110 + nameSize - 1);
    const dataAt = align(at + 110 + nameSize);
    if (name === "TRAILER!!!") return out;
    out.push({ name, mode, data: archive.subarray(dataAt, dataAt + size) });
    at = align(dataAt + size);
  }
}
