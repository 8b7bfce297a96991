/**
 * Where booted guests are remembered, so `memvirt vm stop` and `vm list` work from another
 * process: one folder per guest, `<state>/NAME/` holding `vm.json`, the serial log and QEMU's
 * stderr. `<state>` is `MEMVIRT_VM_STATE_DIR`, else `$XDG_RUNTIME_DIR/memvirt/vms`, else
 * `<tmpdir>/memvirt-<uid>/vms`; its top folder is made 0700 and must be this user's, so another
 * user cannot plant or read guests in a shared /tmp.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MemvirtError } from "../util/errors";

/** What `vm.json` holds about one guest. */
export interface VmRecord {
  name: string;
  pid: number;
  qmpPath: string;
  serialLogPath: string;
  qemuLogPath: string;
  memoryBytes: number;
  workload: string;
  /** ISO time QEMU was started. */
  startedAt: string;
  /** Seconds from QEMU's start to the guest's ready line; null while booting. */
  bootSeconds: number | null;
}

/**
 * @internal
 * A guest name: letters, digits, `-`, `_` and `.`, 1 to 64 characters, not starting with `.`. */
export const VM_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;

/**
 * Check a guest name (it becomes a folder name and part of QEMU's command line).
 *
 * @internal
 * @example
 * checkVmName("web-1") // "web-1"
 */
export function checkVmName(value: unknown, where = "name"): string {
  if (typeof value !== "string" || !VM_NAME_PATTERN.test(value)) {
    throw new MemvirtError("a guest name is 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'", { where, value });
  }
  return value;
}

/**
 * The state folder for guests (made if missing, 0700, checked to be this user's).
 *
 * @internal
 * @example
 * vmStateDir() // "/run/user/1000/memvirt/vms" or "/tmp/memvirt-1000/vms"
 */
export function vmStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  let top: string;
  let dir: string;
  if (env.MEMVIRT_VM_STATE_DIR) {
    top = dir = path.resolve(env.MEMVIRT_VM_STATE_DIR);
  } else if (env.XDG_RUNTIME_DIR && fs.existsSync(env.XDG_RUNTIME_DIR)) {
    top = path.join(env.XDG_RUNTIME_DIR, "memvirt");
    dir = path.join(top, "vms");
  } else {
    top = path.join(os.tmpdir(), `memvirt-${uid}`);
    dir = path.join(top, "vms");
  }
  fs.mkdirSync(top, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(top);
  if (!st.isDirectory() || st.uid !== uid) {
    throw new MemvirtError(`the guest state folder is not a folder of this user's (uid ${uid}); remove it or set MEMVIRT_VM_STATE_DIR`, { where: "vm state", value: top });
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(top, 0o700);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Read a guest's record, or undefined when there is none.
 *
 * @internal
 * @example
 * readVmRecord(path.join(vmStateDir(), "web-1"))?.pid
 */
export function readVmRecord(vmDir: string): VmRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(vmDir, "vm.json"), "utf8")) as VmRecord;
  } catch {
    return undefined;
  }
}

/**
 * Write a guest's record (atomically: a reader never sees half a file).
 *
 * @internal
 * @example
 * writeVmRecord(dir, record);
 */
export function writeVmRecord(vmDir: string, record: VmRecord): void {
  const file = path.join(vmDir, "vm.json");
  fs.writeFileSync(`${file}.part`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.part`, file);
}

/**
 * True when `pid` is a live (not zombie) process whose command line has the argument `marker`:
 * a pid the kernel reused for another program is not our guest.
 *
 * @internal
 * @example
 * isGuestProcess(record.pid, `file:${record.serialLogPath}`)
 */
export function isGuestProcess(pid: number, marker: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the parenthesised command name, which may itself hold ") ".
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(marker);
  } catch {
    return false;
  }
}

/**
 * True while `pid` exists and is not a zombie (whatever it runs).
 *
 * @internal
 * @example
 * pidAlive(process.pid) // true
 */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * The argument that marks a guest's QEMU process: its serial log, unique to its state folder.
 * @internal
 * @example
 * guestMarker({ serialLogPath: "/tmp/memvirt-0/vms/web/serial.log" }) // "file:/tmp/memvirt-0/vms/web/serial.log"
 */
export function guestMarker(record: Pick<VmRecord, "serialLogPath">): string {
  return `file:${record.serialLogPath}`;
}
