/**
 * The newc cpio writer, checked against busybox's own cpio (an independent reader) and by the
 * format's fixed layout.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readCpioNewc, writeCpioNewc, type CpioEntry } from "../../src/qemu/cpio-newc";

const busybox = fs.existsSync("/bin/busybox") ? "/bin/busybox" : undefined;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const entries: CpioEntry[] = [
  { name: "bin", kind: "dir" },
  { name: "bin/tool", kind: "file", data: Buffer.from("#!/bin/sh\necho hi\n"), mode: 0o755 },
  { name: "bin/sh", kind: "symlink", target: "/bin/busybox" },
  { name: "data", kind: "file", data: Buffer.from("abc"), mode: 0o644 },
  { name: "empty", kind: "file", mode: 0o600 },
  { name: "dev", kind: "dir" },
  { name: "dev/console", kind: "chardev", device: { major: 5, minor: 1 } },
];

describe("writeCpioNewc", () => {
  it("writes newc headers aligned to 4 bytes, entries in the order given, then the trailer", () => {
    const archive = writeCpioNewc(entries);
    expect(archive.toString("ascii", 0, 6)).toBe("070701");
    expect(archive.length % 4).toBe(0);
    expect(archive.includes(Buffer.from("TRAILER!!!\0"))).toBe(true);
    const back = readCpioNewc(archive);
    expect(back.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    expect(back[1].data.toString()).toBe("#!/bin/sh\necho hi\n");
    expect(back[1].mode).toBe(0o100755);
    expect(back[2].mode & 0o170000).toBe(0o120000);
    expect(back[2].data.toString()).toBe("/bin/busybox");
    expect(back[6].mode).toBe(0o020600);
  });

  it("gives the same bytes for the same entries (timestamps are 0)", () => {
    expect(writeCpioNewc(entries).equals(writeCpioNewc(entries))).toBe(true);
  });

  it("refuses absolute names", () => {
    expect(() => writeCpioNewc([{ name: "/init", kind: "file" }])).toThrow(/relative/);
  });

  it.skipIf(busybox === undefined)("is read back by busybox cpio: files with their bytes and modes, links with their targets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-cpio-"));
    dirs.push(dir);
    const regular = entries.filter((e) => e.kind !== "chardev");
    const r = spawnSync(busybox!, ["cpio", "-i", "-d"], { cwd: dir, input: writeCpioNewc(regular) });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(fs.readFileSync(path.join(dir, "bin/tool"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(fs.statSync(path.join(dir, "bin/tool")).mode & 0o777).toBe(0o755);
    expect(fs.readFileSync(path.join(dir, "data"), "utf8")).toBe("abc");
    expect(fs.statSync(path.join(dir, "empty")).size).toBe(0);
    expect(fs.readlinkSync(path.join(dir, "bin/sh"))).toBe("/bin/busybox");
  });
});
