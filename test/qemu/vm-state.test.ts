/**
 * The guest state folder holds each guest's QMP socket (by default) and serial log: another
 * local user must not be able to plant it, reach into it or read it. vmStateDir refuses a top
 * folder that is not this user's own folder (another owner, a symlink) and makes it 0700.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { guestMarker, isGuestProcess, vmStateDir } from "../../src/qemu/vm-state";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-vm-state-test-"));
  dirs.push(d);
  return d;
}
const isRoot = process.getuid?.() === 0;
const uid = process.getuid?.() ?? 0;

/** vmStateDir with the OS temp folder at `tmpdir` (the default branch: <tmpdir>/memvirt-<uid>/vms). */
function withTmpdir<T>(tmpdir: string, fn: () => T): T {
  const old = process.env.TMPDIR;
  process.env.TMPDIR = tmpdir;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = old;
  }
}

describe("vmStateDir", () => {
  it("makes <tmp>/memvirt-<uid>/vms private (0700), and takes the group's and others' bits off an existing top folder", () => {
    const t = tmp();
    const dir = withTmpdir(t, () => vmStateDir({}));
    expect(dir).toBe(path.join(t, `memvirt-${uid}`, "vms"));
    expect(fs.statSync(path.dirname(dir)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    fs.chmodSync(path.dirname(dir), 0o777);
    withTmpdir(t, () => vmStateDir({}));
    expect(fs.statSync(path.dirname(dir)).mode & 0o777).toBe(0o700);
  });

  it("refuses a top folder planted as a symlink (another user pointing it elsewhere), in one line", () => {
    const t = tmp();
    const elsewhere = tmp();
    fs.symlinkSync(elsewhere, path.join(t, `memvirt-${uid}`));
    expect(() => withTmpdir(t, () => vmStateDir({}))).toThrow(/^vm state: the guest state folder is not a folder of this user's \(uid \d+\); remove it or set MEMVIRT_VM_STATE_DIR \(got ".*memvirt-\d+"\)$/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it.skipIf(!isRoot)(`refuses a top folder another user owns${isRoot ? "" : " (skipped: needs root to chown)"}`, () => {
    const t = tmp();
    const top = path.join(t, `memvirt-${uid}`);
    fs.mkdirSync(top, { mode: 0o777 });
    fs.chownSync(top, 65534, 65534);
    expect(() => withTmpdir(t, () => vmStateDir({}))).toThrow(/not a folder of this user's/);
    expect(() => vmStateDir({ MEMVIRT_VM_STATE_DIR: top })).toThrow(/not a folder of this user's/);
    expect(fs.readdirSync(top)).toEqual([]);
  });
});

describe("isGuestProcess", () => {
  it("is true only for a live process whose command line holds the marker (a reused pid is not our guest)", () => {
    expect(isGuestProcess(process.pid, process.argv[1])).toBe(true);
    expect(isGuestProcess(process.pid, guestMarker({ serialLogPath: "/nonexistent/serial.log" }))).toBe(false);
    expect(isGuestProcess(-1, "x")).toBe(false);
    expect(isGuestProcess(2 ** 22 + 1, "x")).toBe(false);
  });
});
