/**
 * `memvirt vm boot|stop|list`: real QEMU guests (src/qemu/guest-vm.ts).
 *
 *   memvirt vm boot --name N [--memory 128MiB] [--workload W] [--qmp PATH] [--timeout S] [--meminfo S] [--kernel-args WORDS] [--json]
 *   memvirt vm stop --name N [--json]
 *   memvirt vm list [--json]
 *
 * `boot` returns once the guest's workload reports ready and leaves QEMU running on its own.
 */
import type { Command } from "commander";
import { MemvirtError } from "../../util/errors";
import { formatBytes } from "../../util/units";
import { bootGuest, listGuests, stopGuest } from "../../qemu/guest-vm";
import { guestImageDir } from "../../qemu/guest-image";
import { action, emit, parseIntFlag } from "../io";
import { trackRepeatedFlags } from "../flag-rules";

interface BootFlags {
  name?: string;
  memory: string;
  workload: string;
  qmp?: string;
  timeout: string;
  meminfo: string;
  kernelArgs?: string;
  json?: boolean;
}

function parseSecondsFlag(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(text) || !(n > 0)) throw new MemvirtError("expected a positive number of seconds", { where: flag, value: text });
  return n;
}

function needName(name: string | undefined): string {
  if (name === undefined) throw new MemvirtError("which guest? give --name NAME", { where: "--name" });
  return name;
}

/**
 * Register `memvirt vm` and its subcommands.
 *
 * @example
 * registerVm(program);
 */
export function registerVm(program: Command): void {
  const vm = program
    .command("vm")
    .description("real QEMU guests (software emulation, no KVM): boot one headless with a QMP socket and a virtio balloon, stop it, list them");

  vm.command("boot")
    .description("boot a guest (Debian's kernel, a busybox initramfs) and return once its workload reports ready; QEMU keeps running")
    .option("--name <name>", "the guest's name (unique among your running guests)")
    .option("--memory <size>", "guest memory, at least 96MiB (an idle 128MiB guest has about 58MiB free for a workload)", "128MiB")
    .option("--workload <w>", "idle, page-cache[:SIZE], alloc[:SIZE], repeat[:NxSIZE], or several joined by +", "idle")
    .option("--qmp <path>", "the QMP unix socket to create (default: in the guest's state folder)")
    .option("--timeout <seconds>", "kill the guest if it is not ready after this long", "90")
    .option("--meminfo <seconds>", "the guest prints MEMVIRT-MEMINFO {json} on its serial log every S seconds (0: off)", "0")
    .option("--kernel-args <words>", "extra words for the guest kernel's command line, e.g. nokaslr (space-separated)")
    .option("--json", "machine-readable result on stdout")
    .action(action(async (opts: BootFlags) => {
      const name = needName(opts.name);
      const timeoutSeconds = parseSecondsFlag("--timeout", opts.timeout);
      const meminfoPeriodSeconds = parseIntFlag("--meminfo", opts.meminfo);
      if (meminfoPeriodSeconds < 0) throw new MemvirtError("expected 0 (off) or a positive number of seconds", { where: "--meminfo", value: opts.meminfo });
      // Ctrl-C during the boot kills the half-booted guest rather than leaving it behind.
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const g = await bootGuest({
          name, memory: opts.memory, workload: opts.workload, qmpPath: opts.qmp, timeoutSeconds, meminfoPeriodSeconds,
          kernelArgs: opts.kernelArgs === undefined ? [] : opts.kernelArgs.split(/\s+/).filter((word) => word !== ""),
          signal: abort.signal,
          where: { name: "--name", memory: "--memory", workload: "--workload", qmpPath: "--qmp", timeoutSeconds: "--timeout", kernelArgs: "--kernel-args" },
        });
        const data = { name: g.name, pid: g.pid, qmp: g.qmpPath, memoryBytes: g.memoryBytes, workload: g.workload, bootSeconds: g.bootSeconds, serialLog: g.serialLogPath, stateDir: g.stateDir };
        emit(opts, data, () => [
          `guest ${g.name} ready in ${g.bootSeconds.toFixed(1)} s: pid ${g.pid}, ${formatBytes(g.memoryBytes)}, workload ${g.workload}`,
          `  qmp:    ${g.qmpPath}`,
          `  serial: ${g.serialLogPath}`,
          `  stop:   memvirt vm stop --name ${g.name}`,
        ].join("\n"));
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    }));

  vm.command("stop")
    .description("stop a guest: QMP quit, then SIGTERM, then SIGKILL; returns once its QEMU is gone")
    .option("--name <name>", "the guest to stop")
    .option("--json", "machine-readable result on stdout")
    .action(action(async (opts: { name?: string; json?: boolean }) => {
      const r = await stopGuest(needName(opts.name), { where: "--name" });
      emit(opts, r, () => (r.wasRunning ? `guest ${r.name} (pid ${r.pid}) stopped by ${r.how} in ${r.seconds.toFixed(1)} s` : `guest ${r.name} (pid ${r.pid}) had already exited; its state is removed`));
    }));

  vm.command("list")
    .description("the guests you booted, running or exited")
    .option("--json", "machine-readable list on stdout")
    .action(action(async (opts: { json?: boolean }) => {
      const guests = listGuests().map((g) => ({ name: g.name, running: g.running, pid: g.pid, memoryBytes: g.memoryBytes, workload: g.workload, qmp: g.qmpPath, bootSeconds: g.bootSeconds, startedAt: g.startedAt, serialLog: g.serialLogPath }));
      emit(opts, guests, () => guests.length === 0
        ? `no guests (image cache: ${guestImageDir()})`
        : guests.map((g) => `${g.name.padEnd(16)} ${g.running ? "running" : "exited "} pid ${String(g.pid).padEnd(8)} ${formatBytes(g.memoryBytes).padEnd(9)} ${g.workload.padEnd(16)} ${g.qmp}`).join("\n"));
    }));

  for (const sub of vm.commands) trackRepeatedFlags(sub);
}
