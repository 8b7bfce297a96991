/**
 * Boot, stop and list memvirt guests: Debian's kernel and memvirt's initramfs under
 * `qemu-system-x86_64` with software emulation (TCG; no KVM needed), headless, with a QMP socket
 * and a virtio balloon (`balloon0`).
 *
 *   bootGuest ─ check input ─ build/reuse the image ─ spawn QEMU detached ─ wait for
 *               "MEMVIRT-READY <workload>" on the serial log ─ handle (pid, qmp, boot seconds)
 *   stopGuest ─ QMP quit ─ SIGTERM ─ SIGKILL, each after a grace period ─ the pid is gone
 *
 * A guest outlives the process that booted it (the CLI returns once it is ready); its state
 * folder (vm-state.ts) lets any process of the same user stop or list it.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { MemvirtError } from "../util/errors";
import { describeFsError } from "../util/output-file";
import { MiB, formatBytes, parseBytes } from "../util/units";
import { buildGuestImage, type GuestImage } from "./guest-image";
import { parseGuestWorkload, readyLine, workloadKernelArgs } from "./guest-workloads";
import { QmpClient } from "./qmp-client";
import { checkVmName, guestMarker, isGuestProcess, pidAlive, readVmRecord, vmStateDir, writeVmRecord, type VmRecord } from "./vm-state";

/**
 * The smallest guest memory. Debian's 6.1 kernel with this initramfs panics ("System is
 * deadlocked on memory") at 80 MiB and boots at 88 MiB under QEMU 7.2; 96 MiB leaves a margin.
 * An idle 128 MiB guest has about 58 MiB available for a workload.
 */
export const MIN_GUEST_MEMORY_BYTES = 96 * MiB;
const QEMU = "qemu-system-x86_64";

/** Options of `bootGuest`. */
export interface BootGuestOptions {
  /** The guest's name (unique among running guests of this user). */
  name: string;
  /** Guest memory with a unit, e.g. "128MiB" (default), at least 96 MiB. */
  memory?: string | number;
  /** A workload (guest-workloads.ts), default "idle". */
  workload?: string;
  /** The QMP socket to create (default `<state>/NAME/qmp.sock`); its folder must exist. */
  qmpPath?: string;
  /** Give up (and kill QEMU) when the guest is not ready after this many seconds (default 90). */
  timeoutSeconds?: number;
  /** Print a `MEMVIRT-MEMINFO {json}` line every this many seconds (default 0: off). */
  meminfoPeriodSeconds?: number;
  /**
   * Extra words for the guest kernel's command line, e.g. ["nokaslr"] (default none): letters,
   * digits and `_.,:=+/-` only; memvirt's own words (console=, panic=, quiet, memvirt.*) are refused.
   */
  kernelArgs?: readonly string[];
  /** A built image (default: `buildGuestImage()`, built or reused). */
  image?: GuestImage;
  /** Environment for MEMVIRT_QEMU, MEMVIRT_VM_STATE_DIR, MEMVIRT_GUEST_DIR, PATH (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Aborting kills QEMU and rejects (the CLI aborts on Ctrl-C, so no guest is left half-booted). */
  signal?: AbortSignal;
  /** Names used in errors for each option (default the option names; the CLI gives its flags). */
  where?: Partial<Record<"name" | "memory" | "workload" | "qmpPath" | "timeoutSeconds" | "kernelArgs", string>>;
}

/** A running guest. */
export interface GuestHandle extends VmRecord {
  /** The guest's state folder. */
  stateDir: string;
  /** Seconds from QEMU's start to the ready line. */
  bootSeconds: number;
}

/** One guest as `listGuests` sees it. */
export interface GuestListing extends VmRecord {
  running: boolean;
  stateDir: string;
}

/**
 * Find qemu-system-x86_64: `MEMVIRT_QEMU`, else on PATH. One line saying what to install if absent.
 *
 * @internal
 * @example
 * findQemu() // "/usr/bin/qemu-system-x86_64"
 */
export function findQemu(env: NodeJS.ProcessEnv = process.env): string {
  const missing = () => new MemvirtError(`${QEMU} not found; install Debian's qemu-system-x86 (npm test/npm start do this as root)`, { where: env.MEMVIRT_QEMU ? "MEMVIRT_QEMU" : "PATH", value: env.MEMVIRT_QEMU || env.PATH || "" });
  const executable = (f: string) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (env.MEMVIRT_QEMU) {
    if (executable(env.MEMVIRT_QEMU)) return env.MEMVIRT_QEMU;
    throw missing();
  }
  for (const dir of (env.PATH ?? "").split(":")) {
    if (dir !== "" && executable(path.join(dir, QEMU))) return path.join(dir, QEMU);
  }
  throw missing();
}

function memAvailableBytes(): number {
  try {
    const m = /^MemAvailable:\s+([0-9]+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux: fall back */ }
  return os.freemem();
}

/**
 * Check a guest memory size: with a unit, whole MiB, at least 96 MiB, at most what the machine
 * has available now.
 *
 * @internal
 * @example
 * checkGuestMemory("128MiB") // 134217728
 */
export function checkGuestMemory(value: unknown, where = "memory", availableBytes = memAvailableBytes()): number {
  if (typeof value === "number") throw new MemvirtError("give the guest memory with a unit, e.g. \"128MiB\"", { where, value });
  const bytes = parseBytes(value, where);
  if (bytes % MiB !== 0) throw new MemvirtError("guest memory is a whole number of MiB", { where, value });
  if (bytes < MIN_GUEST_MEMORY_BYTES) throw new MemvirtError(`too small: the guest needs at least ${formatBytes(MIN_GUEST_MEMORY_BYTES)} to boot`, { where, value });
  if (bytes > availableBytes) throw new MemvirtError(`more than this machine has available (${formatBytes(Math.floor(availableBytes / MiB) * MiB)})`, { where, value });
  return bytes;
}

function connects(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/**
 * Check a QMP socket path before QEMU creates it: its folder exists; the path is free, or a
 * stale socket nothing listens on (removed). A regular file, a folder, or a live socket is refused.
 *
 * @internal
 * @example
 * await checkQmpPath("/tmp/guest.qmp") // "/tmp/guest.qmp"
 */
export async function checkQmpPath(value: string, where = "qmpPath"): Promise<string> {
  const file = path.resolve(value);
  const dir = path.dirname(file);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch (err) {
    throw new MemvirtError(`the socket's folder ${dir} ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read: ${describeFsError(err)}`}`, { where, value });
  }
  if (!dirStat.isDirectory()) throw new MemvirtError(`the socket's folder ${dir} is not a folder`, { where, value });
  // sun_path holds 108 bytes with its NUL.
  if (Buffer.byteLength(file) > 107) throw new MemvirtError("a unix socket path must be at most 107 bytes; choose a shorter one", { where, value });
  // QEMU's option syntax splits -qmp unix:PATH,server=on at commas.
  if (file.includes(",")) throw new MemvirtError("a QMP socket path may not contain a comma (QEMU's -qmp option splits at commas); choose another", { where, value });
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch {
    return file;
  }
  if (!st.isSocket()) throw new MemvirtError(`already exists and is not a socket (${st.isDirectory() ? "a folder" : st.isFile() ? "a regular file" : "not a socket"}); give a new path`, { where, value });
  if (await connects(file)) throw new MemvirtError("a running program (another QEMU?) is listening on this socket; give a new path or stop it", { where, value });
  try {
    fs.rmSync(file, { force: true });
  } catch (err) {
    throw new MemvirtError(`is a stale socket this user cannot remove (${describeFsError(err)}); give a new path`, { where, value });
  }
  return file;
}

function lastLines(file: string, n: number): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-n).join(" | ");
  } catch {
    return "";
  }
}

/**
 * Send `signal` to `pid` if it is still our guest, and wait up to `seconds` for it to be gone.
 * @internal
 */
async function signalAndWait(pid: number, marker: string, signal: NodeJS.Signals | null, seconds: number): Promise<boolean> {
  if (signal !== null && isGuestProcess(pid, marker)) {
    try {
      process.kill(pid, signal);
    } catch { /* gone already */ }
  }
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return true;
    await sleep(50);
  }
  return !pidAlive(pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Check extra guest kernel command-line words: plain words only (no quotes or spaces, which
 * QEMU's -append would pass on as they are), and none of the words memvirt sets itself.
 *
 * @example
 * checkKernelArgs(["nokaslr"]) // ["nokaslr"]
 * checkKernelArgs(["console=tty0"], "--kernel-args") // throws: memvirt sets console= itself
 */
export function checkKernelArgs(words: readonly string[], where = "kernelArgs"): string[] {
  if (!Array.isArray(words)) throw new MemvirtError("give the kernel arguments as a list of words, e.g. [\"nokaslr\"]", { where, value: String(words) });
  for (const word of words) {
    if (typeof word !== "string" || !/^[A-Za-z0-9_.,:=+/-]+$/.test(word)) {
      throw new MemvirtError("a kernel argument is one word of letters, digits and _.,:=+/- (e.g. nokaslr)", { where, value: String(word) });
    }
    if (/^(memvirt\.|console=|panic=|quiet$)/.test(word)) throw new MemvirtError("memvirt sets this kernel argument itself", { where, value: word });
  }
  return [...words];
}

/**
 * Boot a guest and resolve once its workload reports ready. QEMU keeps running after this
 * process exits; stop it with `stopGuest(name)` (or `memvirt vm stop --name NAME`).
 *
 * @example
 * const guest = await bootGuest({ name: "web", memory: "128MiB", workload: "idle", qmpPath: "/tmp/web.qmp" });
 * console.log(guest.pid, guest.qmpPath, guest.bootSeconds);
 * await stopGuest("web");
 */
export async function bootGuest(options: BootGuestOptions): Promise<GuestHandle> {
  const env = options.env ?? process.env;
  const w = { name: "name", memory: "memory", workload: "workload", qmpPath: "qmpPath", timeoutSeconds: "timeoutSeconds", kernelArgs: "kernelArgs", ...options.where };
  const name = checkVmName(options.name, w.name);
  const memoryBytes = checkGuestMemory(options.memory ?? "128MiB", w.memory);
  const workload = parseGuestWorkload(options.workload ?? "idle", w.workload);
  const timeoutSeconds = options.timeoutSeconds ?? 90;
  if (!(typeof timeoutSeconds === "number" && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new MemvirtError("a timeout is a positive number of seconds", { where: w.timeoutSeconds, value: timeoutSeconds });
  }
  const meminfo = options.meminfoPeriodSeconds ?? 0;
  if (!(Number.isInteger(meminfo) && meminfo >= 0)) throw new MemvirtError("the meminfo period is a whole number of seconds (0 for off)", { where: "meminfoPeriodSeconds", value: meminfo });
  const kernelArgs = checkKernelArgs(options.kernelArgs ?? [], w.kernelArgs);
  const qemu = findQemu(env);

  const stateRoot = vmStateDir(env);
  const stateDir = path.join(stateRoot, name);
  const old = readVmRecord(stateDir);
  if (old && isGuestProcess(old.pid, guestMarker(old))) {
    throw new MemvirtError(`a guest with this name is already running (pid ${old.pid}); stop it with memvirt vm stop --name ${name}`, { where: w.name, value: name });
  }
  const qmpPath = options.qmpPath !== undefined ? await checkQmpPath(options.qmpPath, w.qmpPath) : path.join(stateDir, "qmp.sock");
  const image = options.image ?? buildGuestImage({ env });

  // A stale folder (its QEMU is gone) is replaced; mkdir without recursive is the lock
  // against a second boot of the same name racing this one. A folder with no record yet is
  // such a boot between its mkdir and its first write, unless it is old (a crash).
  const under = (() => {
    try {
      return old === undefined && Date.now() - fs.statSync(stateDir).mtimeMs < 60_000;
    } catch {
      return false;
    }
  })();
  if (under) throw new MemvirtError("another boot of this name is under way", { where: w.name, value: name });
  fs.rmSync(stateDir, { recursive: true, force: true });
  try {
    fs.mkdirSync(stateDir, { mode: 0o700 });
  } catch {
    throw new MemvirtError("another boot of this name is under way", { where: w.name, value: name });
  }
  const serialLogPath = path.join(stateDir, "serial.log");
  const qemuLogPath = path.join(stateDir, "qemu.log");
  const args = [
    "-name", `memvirt-${name}`,
    "-display", "none", "-no-reboot", "-nodefaults", "-no-user-config",
    "-accel", "tcg", "-smp", "1",
    "-m", `${memoryBytes / MiB}M`,
    "-kernel", image.kernelPath, "-initrd", image.initrdPath,
    "-append", ["console=ttyS0", "quiet", "panic=-1", ...workloadKernelArgs(workload, meminfo), ...kernelArgs].join(" "),
    "-serial", `file:${serialLogPath}`,
    "-qmp", `unix:${qmpPath},server=on,wait=off`,
    "-device", "virtio-balloon-pci,id=balloon0",
  ];
  if (workload.needsDisk) {
    args.push("-drive", `file=${image.diskPath},format=raw,if=none,id=disk0,readonly=on`, "-device", "virtio-blk-pci,drive=disk0");
  }
  const errFd = fs.openSync(qemuLogPath, "w", 0o600);
  const started = Date.now();
  // QEMU creates the QMP socket with the caller's umask: under 002 the whole group could connect,
  // read all guest memory and run monitor commands. A shell sets umask 077, then execs QEMU (same
  // pid, QEMU's own command line), so the socket is the user's alone wherever it is made.
  const child = spawn("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', qemu, ...args], { detached: true, stdio: ["ignore", "ignore", errFd] });
  fs.closeSync(errFd);
  let exited: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  child.on("error", (err) => (spawnError = err));
  const record: VmRecord = {
    name, pid: child.pid ?? -1, qmpPath, serialLogPath, qemuLogPath, memoryBytes, workload: workload.text,
    startedAt: new Date(started).toISOString(), bootSeconds: null,
  };
  const kill = async () => {
    if (record.pid > 0) {
      await signalAndWait(record.pid, guestMarker(record), "SIGKILL", 10);
    }
  };
  try {
    if (child.pid === undefined) {
      await sleep(0);
      throw new MemvirtError(`cannot start ${qemu}: ${spawnError?.message ?? "spawn failed"}`, { where: "MEMVIRT_QEMU", value: qemu });
    }
    writeVmRecord(stateDir, record);
    fs.writeFileSync(path.join(stateDir, "pid"), `${child.pid}\n`);
    const ready = readyLine(workload);
    const deadline = started + timeoutSeconds * 1000;
    for (;;) {
      let serial = "";
      try {
        serial = fs.readFileSync(serialLogPath, "utf8");
      } catch { /* QEMU has not created it yet */ }
      // The UART writes a character at a time: judge complete lines only.
      serial = serial.slice(0, serial.lastIndexOf("\n") + 1);
      // An error first: it may come with a ready line after it.
      const error = /^MEMVIRT-ERROR .*$/m.exec(serial);
      if (error) throw new MemvirtError(`guest ${name} failed to set up workload ${workload.text}: ${error[0].slice(14).trim()} (serial log: ${serialLogPath})`, { where: w.workload, value: workload.text });
      if (serial.split("\n").some((l) => l.trim() === ready)) break;
      if (options.signal?.aborted) throw new MemvirtError(`boot of guest ${name} interrupted; QEMU was killed`, { where: w.name, value: name });
      if (exited || spawnError) {
        // QEMU's own complaint, else the guest kernel's panic (-no-reboot turns it into an exit).
        const panic = /Kernel panic[^\r\n]*/.exec(serial)?.[0];
        const why = spawnError?.message ?? (lastLines(qemuLogPath, 3) || (panic ? `the guest kernel said "${panic.trim()}"` : `exit ${exited!.code ?? exited!.signal}`));
        throw new MemvirtError(`QEMU exited before guest ${name} was ready: ${why} (serial log: ${serialLogPath})`, { where: w.name, value: name });
      }
      if (Date.now() > deadline) {
        throw new MemvirtError(`guest ${name} did not report ready for workload ${workload.text} within ${timeoutSeconds} s; QEMU was killed; its last serial lines are in ${serialLogPath}`, { where: w.timeoutSeconds, value: timeoutSeconds });
      }
      await sleep(100);
    }
  } catch (err) {
    await kill();
    throw err;
  }
  record.bootSeconds = (Date.now() - started) / 1000; // ms resolution; a fake QEMU is ready in a few ms
  writeVmRecord(stateDir, record);
  child.unref();
  return { ...record, bootSeconds: record.bootSeconds, stateDir };
}

/** Options of `stopGuest`. */
export interface StopGuestOptions {
  /** Seconds to wait after QMP quit, then after SIGTERM, before SIGKILL (default 10). */
  graceSeconds?: number;
  env?: NodeJS.ProcessEnv;
  where?: string;
}

/** What `stopGuest` did. */
export interface StopResult {
  name: string;
  pid: number;
  /** False when the guest had already exited (its state is cleaned up all the same). */
  wasRunning: boolean;
  /** How it ended: "quit" (QMP), "SIGTERM", "SIGKILL", or "exited" (before we came). */
  how: "quit" | "SIGTERM" | "SIGKILL" | "exited";
  seconds: number;
}

/**
 * Stop a guest: QMP `quit`, then SIGTERM, then SIGKILL, each after `graceSeconds`; resolves
 * once its process is gone, and removes its state folder and QMP socket.
 *
 * @example
 * await stopGuest("web") // { name: "web", pid: 1234, wasRunning: true, how: "quit", seconds: 0.2 }
 */
export async function stopGuest(name: string, options: StopGuestOptions = {}): Promise<StopResult> {
  const where = options.where ?? "name";
  checkVmName(name, where);
  const grace = options.graceSeconds ?? 10;
  const stateDir = path.join(vmStateDir(options.env ?? process.env), name);
  const record = readVmRecord(stateDir);
  if (record === undefined) throw new MemvirtError("no guest of this name (memvirt vm list shows them)", { where, value: name });
  const marker = guestMarker(record);
  const started = Date.now();
  let how: StopResult["how"] = "exited";
  const wasRunning = isGuestProcess(record.pid, marker);
  if (wasRunning) {
    how = "quit";
    let quitSent = false;
    try {
      const qmp = await QmpClient.connect(record.qmpPath, { timeoutMs: 3000, where: "qmp" });
      try {
        await qmp.execute("quit", undefined, { timeoutMs: 3000 }).catch(() => undefined);
        quitSent = true;
      } finally {
        qmp.close();
      }
    } catch { /* no QMP: fall through to signals */ }
    let gone = quitSent && (await signalAndWait(record.pid, marker, null, grace));
    if (!gone) {
      how = "SIGTERM";
      gone = await signalAndWait(record.pid, marker, "SIGTERM", grace);
    }
    if (!gone) {
      how = "SIGKILL";
      gone = await signalAndWait(record.pid, marker, "SIGKILL", grace);
    }
    if (!gone) throw new MemvirtError(`guest ${name}'s QEMU (pid ${record.pid}) survived SIGKILL`, { where, value: name });
  }
  fs.rmSync(record.qmpPath, { force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
  return { name, pid: record.pid, wasRunning, how, seconds: Math.round((Date.now() - started) / 10) / 100 };
}

/**
 * The guests this user booted (state folders), running or not, by name.
 *
 * @example
 * listGuests().filter((g) => g.running).map((g) => g.name)
 */
export function listGuests(env: NodeJS.ProcessEnv = process.env): GuestListing[] {
  const root = vmStateDir(env);
  const out: GuestListing[] = [];
  for (const name of fs.readdirSync(root).sort()) {
    const stateDir = path.join(root, name);
    const record = readVmRecord(stateDir);
    if (record === undefined) continue;
    out.push({ ...record, running: isGuestProcess(record.pid, guestMarker(record)), stateDir });
  }
  return out;
}
