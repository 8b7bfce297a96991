/**
 * Real QEMU guests (issue 16): the guest image build, cached and uncached, and boot-to-ready of
 * one guest (idle, 128 MiB, software emulation), with the stop time. Guests live under a private
 * state folder and are killed by pid on every path.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildGuestImage } from "../../src/qemu/guest-image";
import { bootGuest, stopGuest } from "../../src/qemu/guest-vm";
import { report, runBench } from "./harness";

const BOOTS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

runBench(async () => {
  const image = buildGuestImage({ log: (l) => process.stderr.write(`${l}\n`) });

  const cachedMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    buildGuestImage();
    cachedMs.push(performance.now() - t0);
  }
  report("guest image build, cached (inputs unchanged)", median(cachedMs), "ms", "≤ 1 s", `median of 5: busybox's sha256, apt's answer remembered until its lists change`);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-bench-qemu-"));
  const pids: number[] = [];
  try {
    const t0 = performance.now();
    buildGuestImage({ dir: path.join(scratch, "image"), env: { ...process.env, MEMVIRT_KERNEL_DEB: image.manifest.kernel.deb } });
    report("guest image build, uncached (.deb at hand)", (performance.now() - t0) / 1000, "s", undefined,
      `unpack ${image.manifest.kernel.package}, initramfs, ${image.manifest.diskMiB} MiB disk; apt-get download adds about 1 s`);

    const env = { ...process.env, MEMVIRT_VM_STATE_DIR: path.join(scratch, "vms") };
    const boots: number[] = [];
    const stops: number[] = [];
    for (let i = 0; i < BOOTS; i++) {
      const g = await bootGuest({ name: `bench${i}`, memory: "128MiB", workload: "idle", image, env, timeoutSeconds: 120 });
      pids.push(g.pid);
      boots.push(g.bootSeconds);
      const t1 = performance.now();
      await stopGuest(g.name, { env });
      stops.push((performance.now() - t1) / 1000);
    }
    report("boot to ready, idle guest, 128 MiB (TCG)", boots.reduce((a, b) => a + b, 0) / BOOTS, "s", "≈ 6 s (issue 16)", `${BOOTS} boots, ${Math.min(...boots).toFixed(2)}–${Math.max(...boots).toFixed(2)} s`);
    report("stop (QMP quit until the pid is gone)", median(stops), "s", undefined, `median of ${BOOTS}`);

    const g = await bootGuest({ name: "bench-cache", memory: "256MiB", workload: "page-cache:128MiB", image, env, timeoutSeconds: 180 });
    pids.push(g.pid);
    await stopGuest(g.name, { env });
    report("boot to ready, page-cache:128MiB guest, 256 MiB", g.bootSeconds, "s", undefined, "one boot; reads 128 MiB of virtio disk");
  } finally {
    for (const pid of pids) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(scratch)) process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
