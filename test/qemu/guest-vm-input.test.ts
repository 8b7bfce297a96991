/**
 * Bad input to bootGuest/stopGuest, and guests that go wrong, without booting anything: a fake
 * QEMU (a shell script that writes to the serial file it is given, then hangs, exits or ignores
 * SIGTERM) stands in for qemu-system-x86_64 through MEMVIRT_QEMU. Every fake lives under a
 * private state folder that is on its command line, so afterAll can prove none is left.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { bootGuest, checkGuestMemory, checkKernelArgs, checkQmpPath, findQemu, listGuests, stopGuest, type BootGuestOptions } from "../../src/qemu/guest-vm";
import type { GuestImage } from "../../src/qemu/guest-image";
import { guestLab, type GuestLab } from "./guest-cleanup";

const labs: GuestLab[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});
afterAll(async () => {
  // Clean every lab before judging any, so one leak does not leave the others running.
  const leaks: number[] = [];
  for (const lab of labs) leaks.push(...(await lab.cleanup()));
  expect(leaks).toEqual([]);
});

/** A fake QEMU: MODE is ready (say ready, hang, ignore SIGTERM), hang, exit, or error. */
function fakeQemu(lab: GuestLab, mode: "ready" | "hang" | "exit" | "error" | "slow-error" | "panic"): string {
  const file = path.join(lab.dir, `fake-qemu-${mode}`);
  fs.writeFileSync(file, `#!/bin/sh
for a in "$@"; do case "$a" in file:*) serial=\${a#file:} ;; memvirt.workload=*) w=\${a#*memvirt.workload=}; w=\${w%% *} ;; esac; done
for a in "$@"; do case "$a" in *memvirt.workload=*) w=\${a#*memvirt.workload=}; w=\${w%% *} ;; esac; done
case ${mode} in
  exit) echo "qemu-system-x86_64: could not load kernel '/x/vmlinuz'" >&2; exit 1 ;;
  error) printf 'booting\\r\\nMEMVIRT-ERROR alloc exited before holding 64 MiB\\r\\nMEMVIRT-READY %s\\r\\n' "$w" > "$serial" ;;
  slow-error) printf 'MEMVIRT-ERROR al' > "$serial"; sleep 0.5; printf 'loc exited before holding 64 MiB\\r\\n' >> "$serial" ;;
  panic) printf '[    1.41] Kernel panic - not syncing: System is deadlocked on memory\\r\\n[    1.42] Kernel Offset: 0x0\\r\\n' > "$serial"; exit 0 ;;
  ready) trap '' TERM; printf 'MEMVIRT-READY %s\\r\\n' "$w" > "$serial" ;;
  hang) printf 'the last line the guest printed\\r\\n' > "$serial" ;;
esac
while :; do sleep 0.1; done
`, { mode: 0o755 });
  return file;
}

const fakeImage: GuestImage = {
  dir: "/nonexistent", kernelPath: "/nonexistent/vmlinuz", initrdPath: "/nonexistent/initrd.img", diskPath: "/nonexistent/disk.img",
  manifest: { format: 1, inputsSha256: "", kernel: { package: "", version: "", deb: "" }, busybox: { path: "", version: "", sha256: "" }, modules: [], diskMiB: 256, builtAt: "" },
  built: false,
};

function lab(): GuestLab {
  const l = guestLab("input");
  labs.push(l);
  return l;
}

function boot(l: GuestLab, mode: Parameters<typeof fakeQemu>[1], options: Partial<BootGuestOptions> = {}) {
  return bootGuest({ name: "g", memory: "128MiB", image: fakeImage, timeoutSeconds: 20, ...options, env: { ...l.env, MEMVIRT_QEMU: fakeQemu(l, mode), ...options.env } });
}

describe("bootGuest refuses bad input, one line naming it", () => {
  it("no QEMU on PATH, or MEMVIRT_QEMU pointing nowhere: says what to install", async () => {
    const l = lab();
    const env: NodeJS.ProcessEnv = { ...l.env, PATH: "/nonexistent/bin" };
    delete env.MEMVIRT_QEMU;
    await expect(bootGuest({ name: "g", image: fakeImage, env })).rejects.toThrow(
      "PATH: qemu-system-x86_64 not found; install Debian's qemu-system-x86 (npm test/npm start do this as root) (got \"/nonexistent/bin\")");
    expect(() => findQemu({ MEMVIRT_QEMU: "/nonexistent/qemu" })).toThrow(/^MEMVIRT_QEMU: qemu-system-x86_64 not found; install Debian's qemu-system-x86/);
  });

  it("memory without a unit, too small for the guest, or more than the machine has", () => {
    expect(() => checkGuestMemory("128", "--memory")).toThrow(/^--memory: a size string needs a unit/);
    expect(() => checkGuestMemory(128, "--memory")).toThrow(/^--memory: give the guest memory with a unit/);
    expect(() => checkGuestMemory("80MiB", "--memory")).toThrow('--memory: too small: the guest needs at least 96 MiB to boot (got "80MiB")');
    expect(() => checkGuestMemory("4GiB", "--memory", 1024 * 1024 * 1024)).toThrow('--memory: more than this machine has available (1 GiB) (got "4GiB")');
    expect(() => checkGuestMemory("100TiB")).toThrow(/more than this machine has available/);
    expect(() => checkGuestMemory("128.5MiB")).toThrow(/whole number/);
    expect(checkGuestMemory("128MiB")).toBe(128 * 1024 * 1024);
  });

  it("an unknown workload, listing the valid ones", async () => {
    const l = lab();
    await expect(boot(l, "ready", { workload: "stress" })).rejects.toThrow(/^workload: unknown workload; the workloads are idle, page-cache\[:SIZE\], alloc\[:SIZE\], repeat\[:NxSIZE\]/);
  });

  it("kernel arguments that are not plain words, or that memvirt sets itself", async () => {
    expect(() => checkKernelArgs(["nokaslr quiet"], "--kernel-args")).toThrow('--kernel-args: a kernel argument is one word of letters, digits and _.,:=+/- (e.g. nokaslr) (got "nokaslr quiet")');
    expect(() => checkKernelArgs(['a="b"'])).toThrow(/^kernelArgs: a kernel argument is one word/);
    expect(() => checkKernelArgs([""])).toThrow(/^kernelArgs: a kernel argument is one word/);
    expect(() => checkKernelArgs(["memvirt.workload=alloc"])).toThrow('kernelArgs: memvirt sets this kernel argument itself (got "memvirt.workload=alloc")');
    expect(() => checkKernelArgs(["console=tty0"])).toThrow(/memvirt sets this kernel argument itself/);
    expect(() => checkKernelArgs("nokaslr" as unknown as string[])).toThrow(/^kernelArgs: give the kernel arguments as a list of words/);
    const l = lab();
    await expect(boot(l, "ready", { kernelArgs: ["panic=0"] })).rejects.toThrow(/^kernelArgs: memvirt sets this kernel argument itself/);
    expect(l.leftovers()).toEqual([]);
  });

  it("kernel arguments reach the guest kernel's command line, after memvirt's own", async () => {
    const l = lab();
    const argsFile = path.join(l.dir, "append.txt");
    const fake = path.join(l.dir, "fake-qemu-append");
    fs.writeFileSync(fake, `#!/bin/sh
prev=
for a in "$@"; do case "$a" in file:*) serial=\${a#file:} ;; esac; [ "$prev" = -append ] && printf '%s' "$a" > ${JSON.stringify(argsFile)}; prev=$a; done
trap '' TERM; printf 'MEMVIRT-READY idle\\r\\n' > "$serial"
while :; do sleep 0.1; done
`, { mode: 0o755 });
    const g = await bootGuest({ name: "g", memory: "128MiB", image: fakeImage, timeoutSeconds: 20, kernelArgs: ["nokaslr", "loglevel=3"], env: { ...l.env, MEMVIRT_QEMU: fake } });
    l.track(g.pid);
    try {
      expect(fs.readFileSync(argsFile, "utf8")).toBe("console=ttyS0 quiet panic=-1 memvirt.workload=idle nokaslr loglevel=3");
    } finally {
      await stopGuest("g", { env: l.env, graceSeconds: 0.2 });
    }
  });

  it("QEMU starts under umask 077, so a QMP socket it makes in a shared folder is the user's alone", async () => {
    const l = lab();
    const umaskFile = path.join(l.dir, "umask.txt");
    const fake = path.join(l.dir, "fake-qemu-umask");
    fs.writeFileSync(fake, `#!/bin/sh
for a in "$@"; do case "$a" in file:*) serial=\${a#file:} ;; esac; done
umask > ${JSON.stringify(umaskFile)}
trap '' TERM; printf 'MEMVIRT-READY idle\\r\\n' > "$serial"
while :; do sleep 0.1; done
`, { mode: 0o755 });
    const g = await bootGuest({ name: "g", memory: "128MiB", image: fakeImage, timeoutSeconds: 20, env: { ...l.env, MEMVIRT_QEMU: fake } });
    l.track(g.pid);
    try {
      expect(fs.readFileSync(umaskFile, "utf8").trim()).toBe("0077");
    } finally {
      await stopGuest("g", { env: l.env, graceSeconds: 0.2 });
    }
  });

  it("a QMP path with a comma (QEMU's option syntax would split it)", async () => {
    const l = lab();
    await expect(checkQmpPath(path.join(l.dir, "a,b.sock"), "--qmp")).rejects.toThrow(/^--qmp: a QMP socket path may not contain a comma/);
  });

  it("a bad guest name", async () => {
    const l = lab();
    await expect(boot(l, "ready", { name: "../etc" })).rejects.toThrow(/^name: a guest name is 1 to 64 letters/);
  });

  it("a QMP path whose folder does not exist, or that exists and is not a socket, or a live socket", async () => {
    const l = lab();
    await expect(checkQmpPath(path.join(l.dir, "no", "such", "q.sock"), "--qmp")).rejects.toThrow(`--qmp: the socket's folder ${path.join(l.dir, "no", "such")} does not exist`);
    const file = path.join(l.dir, "file");
    fs.writeFileSync(file, "x");
    await expect(checkQmpPath(file, "--qmp")).rejects.toThrow(/^--qmp: already exists and is not a socket \(a regular file\); give a new path/);
    await expect(checkQmpPath(l.dir, "--qmp")).rejects.toThrow(/already exists and is not a socket \(a folder\)/);
    const live = path.join(l.dir, "live.sock");
    const server = net.createServer((c) => c.end());
    servers.push(server);
    await new Promise<void>((r) => server.listen(live, r));
    await expect(checkQmpPath(live, "--qmp")).rejects.toThrow(/^--qmp: a running program \(another QEMU\?\) is listening on this socket/);
    // The folder check comes before anything is started.
    await expect(boot(l, "ready", { qmpPath: file })).rejects.toThrow(/qmpPath: already exists and is not a socket/);
    expect(l.leftovers()).toEqual([]);
  });

  it("a stale socket nothing listens on is removed and the path reused", async () => {
    const l = lab();
    const stale = path.join(l.dir, "stale.sock");
    // A listener killed outright leaves its socket file behind, as a crashed QEMU does.
    spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, "SIGKILL"))`]);
    expect(fs.lstatSync(stale).isSocket()).toBe(true);
    expect(await checkQmpPath(stale)).toBe(stale);
    expect(fs.existsSync(stale)).toBe(false);
  });

  it("a second boot of a name whose first boot has only just made its folder", async () => {
    const l = lab();
    fs.mkdirSync(path.join(l.dir, "g"));
    await expect(boot(l, "ready")).rejects.toThrow('name: another boot of this name is under way (got "g")');
    // An old folder with no record is a crash, not a boot: it is replaced.
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(l.dir, "g"), old, old);
    const g = await boot(l, "ready");
    l.track(g.pid);
    await stopGuest("g", { env: l.env, graceSeconds: 0.2 });
  });

  it("a guest image that cannot be built: says what to install", async () => {
    const l = lab();
    await expect(bootGuest({ name: "g", env: { ...l.env, MEMVIRT_QEMU: fakeQemu(l, "ready"), MEMVIRT_BUSYBOX: "/nonexistent/busybox", MEMVIRT_GUEST_DIR: path.join(l.dir, "img") } }))
      .rejects.toThrow(/busybox not found; install Debian's busybox-static/);
  });
});

describe("bootGuest when the guest goes wrong kills QEMU", () => {
  it("a guest that never reports ready: a timeout naming the workload and the serial log", async () => {
    const l = lab();
    const t0 = Date.now();
    const err = await boot(l, "hang", { workload: "alloc:64MiB", timeoutSeconds: 1 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`timeoutSeconds: guest g did not report ready for workload alloc:64MiB within 1 s; QEMU was killed; its last serial lines are in ${path.join(l.dir, "g", "serial.log")} (got 1)`);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(fs.readFileSync(path.join(l.dir, "g", "serial.log"), "utf8")).toContain("the last line the guest printed");
    expect(l.leftovers()).toEqual([]);
    expect(listGuests(l.env).map((g) => g.running)).toEqual([false]);
  });

  it("a QEMU that exits: its own error", async () => {
    const l = lab();
    await expect(boot(l, "exit")).rejects.toThrow(/^name: QEMU exited before guest g was ready: qemu-system-x86_64: could not load kernel '\/x\/vmlinuz'/);
    expect(l.leftovers()).toEqual([]);
  });

  it("a workload that fails in the guest: the guest's MEMVIRT-ERROR line", async () => {
    const l = lab();
    await expect(boot(l, "error", { workload: "alloc" })).rejects.toThrow(/^workload: guest g failed to set up workload alloc:32MiB: alloc exited before holding 64 MiB/);
    expect(l.leftovers()).toEqual([]);
  });

  it("a line the guest is still writing is read only once it is complete", async () => {
    const l = lab();
    await expect(boot(l, "slow-error", { workload: "alloc" })).rejects.toThrow(/^workload: guest g failed to set up workload alloc:32MiB: alloc exited before holding 64 MiB \(serial log/);
    expect(l.leftovers()).toEqual([]);
  });

  it("a guest kernel that panics (QEMU exits 0 under -no-reboot): the panic line", async () => {
    const l = lab();
    await expect(boot(l, "panic")).rejects.toThrow('name: QEMU exited before guest g was ready: the guest kernel said "Kernel panic - not syncing: System is deadlocked on memory" (serial log: ');
  });

  it("an aborted boot (Ctrl-C in the CLI)", async () => {
    const l = lab();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    await expect(boot(l, "hang", { signal: abort.signal })).rejects.toThrow(/boot of guest g interrupted; QEMU was killed/);
    expect(l.leftovers()).toEqual([]);
  });
});

describe("stopGuest", () => {
  it("escalates to SIGKILL when QMP is not there and SIGTERM is ignored, and verifies the pid is gone", async () => {
    const l = lab();
    const g = await boot(l, "ready", { qmpPath: path.join(l.dir, "q.sock") });
    l.track(g.pid);
    expect(listGuests(l.env).map((x) => [x.name, x.running])).toEqual([["g", true]]);
    const r = await stopGuest("g", { env: l.env, graceSeconds: 0.5 });
    expect(r).toMatchObject({ name: "g", pid: g.pid, wasRunning: true, how: "SIGKILL" });
    expect(l.leftovers()).toEqual([]);
    expect(listGuests(l.env)).toEqual([]);
  });

  it("a guest that already exited: cleans its state; a pid reused by another program is never signalled", async () => {
    const l = lab();
    const g = await boot(l, "ready");
    l.track(g.pid);
    process.kill(g.pid, "SIGKILL");
    const until = Date.now() + 5000;
    while (l.leftovers().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // Point the record at this very process: alive, but not the guest (its marker is absent).
    const vmJson = path.join(l.dir, "g", "vm.json");
    fs.writeFileSync(vmJson, JSON.stringify({ ...JSON.parse(fs.readFileSync(vmJson, "utf8")), pid: process.pid }));
    expect(listGuests(l.env).map((x) => x.running)).toEqual([false]);
    expect(await stopGuest("g", { env: l.env })).toMatchObject({ wasRunning: false, how: "exited", pid: process.pid });
    expect(fs.existsSync(path.join(l.dir, "g"))).toBe(false);
  });

  it("an unknown guest", async () => {
    const l = lab();
    await expect(stopGuest("nosuch", { env: l.env, where: "--name" })).rejects.toThrow('--name: no guest of this name (memvirt vm list shows them) (got "nosuch")');
  });
});
