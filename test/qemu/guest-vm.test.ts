/**
 * One real guest, booted once and shared: it reports ready, carries the balloon device and its
 * meminfo lines, is listed, refuses a second boot of its name, and stops within the limit. No
 * QEMU may outlive this file: the guest lives under a private state folder that is on QEMU's
 * command line, and afterAll kills by pid and then checks /proc for that marker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { bootGuest, listGuests, stopGuest, type GuestHandle } from "../../src/qemu/guest-vm";
import { buildGuestImage } from "../../src/qemu/guest-image";
import { QmpClient } from "../../src/qemu/qmp-client";
import { guestLab } from "./guest-cleanup";

/** Generous for a loaded 2-core CI machine; the guest is ready in about 6 s when idle. */
const BOOT_LIMIT_SECONDS = 90;
const STOP_LIMIT_SECONDS = 30;

const lab = guestLab("boot");
const name = `t${process.pid}`;
let guest: GuestHandle;

beforeAll(async () => {
  const image = buildGuestImage();
  guest = await bootGuest({
    name, memory: "128MiB", workload: "page-cache:16MiB+repeat:2x4MiB", qmpPath: path.join(lab.dir, "qmp.sock"),
    timeoutSeconds: BOOT_LIMIT_SECONDS, meminfoPeriodSeconds: 1, image, env: lab.env,
  });
  lab.track(guest.pid);
}, (BOOT_LIMIT_SECONDS + 30) * 1000);

afterAll(async () => {
  const leftovers = await lab.cleanup();
  // Only the stop test should have ended the guest; anything found here is a leak.
  expect(leftovers).toEqual([]);
}, 30_000);

describe("a real guest", () => {
  it("boots to its workload's ready line within the limit, headless, with its QMP socket", () => {
    expect(guest.bootSeconds).toBeGreaterThan(0);
    expect(guest.bootSeconds).toBeLessThan(BOOT_LIMIT_SECONDS);
    expect(guest.workload).toBe("page-cache:16MiB+repeat:2x4MiB");
    expect(fs.statSync(guest.qmpPath).isSocket()).toBe(true);
    const serial = fs.readFileSync(guest.serialLogPath, "utf8");
    expect(serial.split(/\r?\n/)).toContain("MEMVIRT-READY page-cache:16MiB+repeat:2x4MiB");
    expect(serial).not.toContain("MEMVIRT-ERROR");
    expect(fs.readFileSync(`/proc/${guest.pid}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(["-accel", "tcg", "virtio-balloon-pci,id=balloon0"]));
  });

  it("prints parseable meminfo lines every second when asked, with both workloads' memory held", async () => {
    const until = Date.now() + 20_000;
    let lines: string[] = [];
    while (Date.now() < until) {
      lines = fs.readFileSync(guest.serialLogPath, "utf8").split(/\r?\n/).filter((l) => l.startsWith("MEMVIRT-MEMINFO "));
      if (lines.length >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const info = JSON.parse(lines[lines.length - 1].slice("MEMVIRT-MEMINFO ".length)) as Record<string, number>;
    expect(info.MemTotal).toBeGreaterThan(32 * 1024);
    expect(info.MemTotal).toBeLessThanOrEqual(128 * 1024);
    expect(info.MemFree).toBeLessThan(info.MemTotal);
    expect(info.SwapTotal).toBe(0);
    expect(info.uptimeSeconds).toBeGreaterThan(0);
    // page-cache: the disk's pages stay cached (the block device's cache, meminfo's Buffers)
    // while init holds /dev/vda open; most of the 16 MiB read, however the kernel trims it.
    expect(info.Buffers).toBeGreaterThanOrEqual(12 * 1024);
    // repeat: two dd processes each hold 4 MiB of the disk in their own (anonymous) buffers.
    expect(info.AnonPages).toBeGreaterThanOrEqual(8 * 1024);
  }, 30_000);

  it("has a working virtio balloon: the guest's driver gives pages back when QMP asks", async () => {
    const qmp = await QmpClient.connect(guest.qmpPath, { timeoutMs: 10_000 });
    try {
      expect((await qmp.execute<{ actual: number }>("query-balloon")).actual).toBe(128 * 1024 * 1024);
      // Only a bound guest driver moves `actual`: QEMU reports what the guest has given back.
      await qmp.execute("balloon", { value: 100 * 1024 * 1024 });
      const until = Date.now() + 20_000;
      let actual = 0;
      while (Date.now() < until) {
        actual = (await qmp.execute<{ actual: number }>("query-balloon")).actual;
        if (actual <= 100 * 1024 * 1024) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(actual).toBe(100 * 1024 * 1024);
    } finally {
      qmp.close();
    }
  }, 30_000);

  it("is listed as running, and a second boot of its name is refused", async () => {
    const listed = listGuests(lab.env);
    expect(listed.map((g) => [g.name, g.running, g.pid])).toEqual([[name, true, guest.pid]]);
    await expect(bootGuest({ name, memory: "128MiB", qmpPath: path.join(lab.dir, "other.sock"), env: lab.env }))
      .rejects.toThrow(`name: a guest with this name is already running (pid ${guest.pid}); stop it with memvirt vm stop --name ${name} (got "${name}")`);
  });

  it("stops within the limit through QMP quit, leaving no process, socket or state", async () => {
    const t0 = Date.now();
    const r = await stopGuest(name, { env: lab.env });
    expect((Date.now() - t0) / 1000).toBeLessThan(STOP_LIMIT_SECONDS);
    expect(r).toMatchObject({ name, pid: guest.pid, wasRunning: true, how: "quit" });
    expect(fs.existsSync(`/proc/${guest.pid}/cmdline`) && fs.readFileSync(`/proc/${guest.pid}/cmdline`, "utf8").includes(lab.dir)).toBe(false);
    expect(lab.leftovers()).toEqual([]);
    expect(fs.existsSync(guest.qmpPath)).toBe(false);
    expect(fs.existsSync(guest.stateDir)).toBe(false);
    expect(listGuests(lab.env)).toEqual([]);
  }, (STOP_LIMIT_SECONDS + 10) * 1000);
});
