/**
 * A real QEMU for the tests, with no guest: `qemu-system-x86_64 -S` (CPUs never start) with a
 * QMP socket and, optionally, a file loaded into guest RAM by QEMU's generic loader device, so
 * the guest-physical memory has known contents. Every QEMU started here is killed by pid in
 * `stopAllQemu` (call it from afterAll and afterEach), and `leftoverQemuPids` lets a test
 * check that none survived.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** True when qemu-system-x86_64 runs here. */
export const hasQemu = spawnSync("qemu-system-x86_64", ["--version"], { stdio: "ignore" }).status === 0;

const started: Array<{ child: ChildProcess; dir: string }> = [];

/** A QEMU started by `startQemu`. */
export interface RealQemu {
  socketPath: string;
  pid: number;
  dir: string;
}

/**
 * Start QEMU paused (`-S`) with `memory` of RAM and a QMP socket; `load` files go into guest
 * RAM at their addresses. Resolves once the socket exists.
 *
 * @example
 * const q = await startQemu({ memory: "128M" });
 */
export async function startQemu(options: { memory: string; machine?: string; load?: Array<{ file: string; address: number }> }): Promise<RealQemu> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-qemu-test-"));
  const socketPath = path.join(dir, "qmp.sock");
  const args = ["-M", options.machine ?? "pc", "-m", options.memory, "-display", "none", "-nodefaults", "-S", "-qmp", `unix:${socketPath},server=on,wait=off`];
  for (const l of options.load ?? []) args.push("-device", `loader,file=${l.file},addr=0x${l.address.toString(16)},force-raw=on`);
  const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
  started.push({ child, dir });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(socketPath)) {
    if (child.exitCode !== null) throw new Error(`qemu exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`qemu made no socket in 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { socketPath, pid: child.pid!, dir };
}

/** Kill every QEMU this file started (SIGKILL, by pid) and remove their folders. */
export async function stopAllQemu(): Promise<void> {
  for (const { child, dir } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Pids of QEMU processes whose command line names `marker` (a socket path or folder) and are still alive. */
export function leftoverQemuPids(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const state = /State:\s+(\S)/.exec(fs.readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (cmd.startsWith("qemu-system") && cmd.includes(marker) && state !== "Z") out.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return out;
}
