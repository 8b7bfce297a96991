/**
 * `memvirt vm boot|stop|list` as a user runs them, with a fake QEMU (a shell script): a guest
 * booted by one CLI process (which returns while the guest keeps running), listed and stopped
 * by others; bad input as one line and exit 2; Ctrl-C and a guest that never gets ready. The guests live under a private state folder on QEMU's command line, so
 * afterAll kills any leftover by pid and proves none remains.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { guestLab } from "../qemu/guest-cleanup";
import { cliArgv, type CliResult } from "./run-cli";

const lab = guestLab("cli");
afterAll(async () => {
  expect(await lab.cleanup()).toEqual([]);
}, 30_000);

function vm(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  const argv = cliArgv(["vm", ...args]);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { ...lab.env, NODE_NO_WARNINGS: "1", ...env }, timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function oneLineError(r: CliResult): string {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe("memvirt vm", () => {
  // A real boot is in test/qemu/guest-vm.test.ts (the suite keeps real boots few); here a fake
  // QEMU that says ready shows what the CLI adds: it returns while the guest runs on, detached,
  // and other processes list and stop it.
  it("boots a guest that outlives the command, lists it, and stops it from other processes", () => {
    const fake = path.join(lab.dir, "fake-qemu-ready");
    fs.writeFileSync(fake, `#!/bin/sh
for a in "$@"; do case "$a" in file:*) serial=\${a#file:} ;; esac; done
printf 'MEMVIRT-READY idle\\r\\n' > "$serial"
while :; do sleep 0.1; done
`, { mode: 0o755 });
    const env = { MEMVIRT_QEMU: fake };
    const qmp = path.join(lab.dir, "cli.sock");
    const boot = vm(["boot", "--name", "cli", "--memory", "128MiB", "--workload", "idle", "--qmp", qmp, "--timeout", "90", "--json"], env);
    expect(boot.stderr).toBe("");
    expect(boot.code).toBe(0);
    const g = JSON.parse(boot.stdout) as { name: string; pid: number; qmp: string; bootSeconds: number; workload: string };
    lab.track(g.pid);
    expect(g).toMatchObject({ name: "cli", qmp, workload: "idle" });
    expect(g.bootSeconds).toBeGreaterThan(0);
    // The CLI has exited; the guest runs on.
    expect(lab.leftovers()).toEqual([g.pid]);

    const list = vm(["list", "--json"]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ name: string; running: boolean; pid: number }>).map((x) => [x.name, x.running, x.pid])).toEqual([["cli", true, g.pid]]);
    expect(vm(["list"]).stdout).toMatch(/^cli +running pid \d+ +128 MiB +idle /);

    const again = oneLineError(vm(["boot", "--name", "cli", "--qmp", path.join(lab.dir, "other.sock")], env));
    expect(again).toBe(`memvirt: error: --name: a guest with this name is already running (pid ${g.pid}); stop it with memvirt vm stop --name cli (got "cli")`);

    // No QMP socket on the fake: stop falls back to SIGTERM.
    const stop = vm(["stop", "--name", "cli", "--json"]);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ name: "cli", pid: g.pid, wasRunning: true, how: "SIGTERM" });
    expect(lab.leftovers()).toEqual([]);
    expect(JSON.parse(vm(["list", "--json"]).stdout)).toEqual([]);
    expect(vm(["list"]).stdout).toMatch(/^no guests/);
  }, 60_000);

  it("bad input: one line naming the flag, exit 2", () => {
    expect(oneLineError(vm(["boot"]))).toBe("memvirt: error: --name: which guest? give --name NAME");
    expect(oneLineError(vm(["boot", "--name", "x", "--memory", "128"]))).toMatch(/^memvirt: error: --memory: a size string needs a unit/);
    expect(oneLineError(vm(["boot", "--name", "x", "--memory", "16MiB"]))).toBe('memvirt: error: --memory: too small: the guest needs at least 96 MiB to boot (got "16MiB")');
    expect(oneLineError(vm(["boot", "--name", "x", "--workload", "nope"]))).toMatch(/^memvirt: error: --workload: unknown workload; the workloads are idle, page-cache/);
    expect(oneLineError(vm(["boot", "--name", "x", "--timeout", "0"]))).toBe('memvirt: error: --timeout: expected a positive number of seconds (got "0")');
    expect(oneLineError(vm(["boot", "--name", "x", "--qmp", path.join(lab.dir, "missing", "q.sock")]))).toBe(`memvirt: error: --qmp: the socket's folder ${path.join(lab.dir, "missing")} does not exist (got "${path.join(lab.dir, "missing", "q.sock")}")`);
    const file = path.join(lab.dir, "plain");
    fs.writeFileSync(file, "");
    expect(oneLineError(vm(["boot", "--name", "x", "--qmp", file]))).toMatch(/^memvirt: error: --qmp: already exists and is not a socket \(a regular file\)/);
    expect(oneLineError(vm(["boot", "--name", "x", "--name", "y"]))).toBe("memvirt: error: --name: given 2 times; give it once");
    expect(oneLineError(vm(["boot", "--name", "x", "--kernel-args", "nokaslr memvirt.meminfo=1"]))).toBe('memvirt: error: --kernel-args: memvirt sets this kernel argument itself (got "memvirt.meminfo=1")');
    expect(oneLineError(vm(["stop", "--name", "nosuch"]))).toBe('memvirt: error: --name: no guest of this name (memvirt vm list shows them) (got "nosuch")');
    expect(lab.leftovers()).toEqual([]);
  }, 60_000);

  it("no QEMU installed: one line saying what to install", () => {
    const r = vm(["boot", "--name", "x"], { PATH: "/nonexistent/bin", MEMVIRT_QEMU: "" });
    expect(oneLineError(r)).toBe('memvirt: error: PATH: qemu-system-x86_64 not found; install Debian\'s qemu-system-x86 (npm test/npm start do this as root) (got "/nonexistent/bin")');
  });

  it("a guest that never reports ready: a timeout naming the workload and the serial log, and QEMU is killed", () => {
    const fake = path.join(lab.dir, "fake-qemu");
    fs.writeFileSync(fake, "#!/bin/sh\nwhile :; do sleep 0.1; done\n", { mode: 0o755 });
    const r = vm(["boot", "--name", "slow", "--workload", "page-cache:8MiB", "--timeout", "1"], { MEMVIRT_QEMU: fake });
    expect(oneLineError(r)).toBe(`memvirt: error: --timeout: guest slow did not report ready for workload page-cache:8MiB within 1 s; QEMU was killed; its last serial lines are in ${path.join(lab.dir, "slow", "serial.log")} (got 1)`);
    expect(lab.leftovers()).toEqual([]);
    expect(vm(["list"]).stdout).toMatch(/^slow +exited /);
  }, 60_000);

  it("Ctrl-C during a boot kills the half-booted guest and says so", async () => {
    const fake = path.join(lab.dir, "fake-qemu-int");
    fs.writeFileSync(fake, "#!/bin/sh\nwhile :; do sleep 0.1; done\n", { mode: 0o755 });
    const argv = cliArgv(["vm", "boot", "--name", "int", "--timeout", "60"]);
    const child = spawn(argv[0], argv.slice(1), { env: { ...lab.env, NODE_NO_WARNINGS: "1", MEMVIRT_QEMU: fake }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    // Wait until the fake QEMU runs, then interrupt the CLI as a terminal would.
    const until = Date.now() + 20_000;
    while (lab.leftovers().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(lab.leftovers()).toHaveLength(1);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code).toBe(2);
    expect(stderr).toBe('memvirt: error: --name: boot of guest int interrupted; QEMU was killed (got "int")\n');
    expect(lab.leftovers()).toEqual([]);
  }, 60_000);
});
