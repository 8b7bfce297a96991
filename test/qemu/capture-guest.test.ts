/**
 * One real booted guest (Q1's image: Debian's kernel and a busybox initramfs, idle, with the
 * virtio balloon), shared by the tests here: it is captured (and the capture agrees exactly with
 * an independent sha256 reading of QEMU's own full dump of the same paused memory), then
 * ballooned down and back. No QEMU may outlive this file: the guest lives under a private state
 * folder on QEMU's command line; afterAll kills by pid and checks /proc for that marker.
 * Skipped, visibly, when the guest image cannot be built here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { bootGuest, type GuestHandle } from "../../src/qemu/guest-vm";
import { buildGuestImage, type GuestImage } from "../../src/qemu/guest-image";
import { captureVm } from "../../src/qemu/capture-vm";
import { withQmp } from "../../src/qemu/qmp-client";
import { recordRealBalloon } from "../../src/qemu/real-balloon";
import { balloonResponse } from "../../src/qemu/balloon-compare";
import { guestLab } from "./guest-cleanup";

const MiB = 2 ** 20;
const PAGE = 4096;
const BOOT_LIMIT_SECONDS = 90;

let image: GuestImage | undefined;
let why = "";
try {
  image = buildGuestImage();
} catch (err) {
  why = (err as Error).message.split("\n")[0];
}
const skip = image === undefined;
const note = skip ? ` (skipped: no guest image: ${why})` : "";

const lab = guestLab("capture");
let guest: GuestHandle;

beforeAll(async () => {
  if (skip) return;
  guest = await bootGuest({ name: `c${process.pid}`, memory: "128MiB", workload: "idle", qmpPath: path.join(lab.dir, "qmp.sock"), timeoutSeconds: BOOT_LIMIT_SECONDS, image, env: lab.env });
  lab.track(guest.pid);
}, (BOOT_LIMIT_SECONDS + 30) * 1000);

afterAll(async () => {
  const leftovers = await lab.cleanup(); // the guest is killed here, by pid
  expect(lab.leftovers()).toEqual([]);
  void leftovers;
}, 30_000);

describe.skipIf(skip)(`a real guest, captured and ballooned${note}`, () => {
  it("is captured within 30 s, and agrees exactly with a sha256 reading of QEMU's full dump of the same paused memory", async () => {
    await withQmp(guest.qmpPath, (q) => q.execute("stop")); // both readings see the same bytes
    try {
      const t0 = Date.now();
      const snap = await captureVm({ qmpPath: guest.qmpPath, pause: true, chunkBytes: 32 * MiB });
      expect((Date.now() - t0) / 1000).toBeLessThan(30);
      const raw = path.join(lab.dir, "raw.mem");
      await withQmp(guest.qmpPath, (q) => q.execute("pmemsave", { val: 0, size: 128 * MiB, filename: raw }));
      const memory = fs.readFileSync(raw);
      fs.rmSync(raw);
      const zero = Buffer.alloc(PAGE);
      const firstOf = new Map<string, number>();
      const firstOfHash = new Map<bigint, number>();
      let zeroPages = 0;
      let agree = 0;
      for (let i = 0; i < memory.length / PAGE; i++) {
        const page = memory.subarray(i * PAGE, (i + 1) * PAGE);
        if (zero.equals(page)) zeroPages++;
        const digest = createHash("sha256").update(page).digest("hex");
        if (!firstOf.has(digest)) firstOf.set(digest, i);
        if (!firstOfHash.has(snap.hash(i))) firstOfHash.set(snap.hash(i), i);
        if (firstOf.get(digest) === firstOfHash.get(snap.hash(i))) agree++;
      }
      expect({ pages: snap.pageCount, zeroPages: snap.zeroPages, distinct: firstOfHash.size, agree }).toEqual({ pages: 32_768, zeroPages, distinct: firstOf.size, agree: 32_768 });
      // An idle Linux guest: roughly half its pages are zero, and it has thousands of contents.
      expect(zeroPages).toBeGreaterThan(8_000);
      expect(firstOf.size).toBeGreaterThan(5_000);
      // pause: true found the guest stopped, so it left it stopped.
      expect(await withQmp(guest.qmpPath, (q) => q.execute<{ running: boolean }>("query-status"))).toMatchObject({ running: false });
    } finally {
      await withQmp(guest.qmpPath, (q) => q.execute("cont"));
    }
  }, 60_000);

  // The idle 128 MiB guest has about 80 MiB MemTotal and 53 MiB free: its balloon can take the
  // free memory only (no page cache to drop, no swap), so the target here asks for 32 MiB.
  it("balloons down to 96 MiB and back: QEMU's actual follows within seconds and the guest's MemTotal shrinks by the balloon", async () => {
    const run = await recordRealBalloon({ qmpPath: guest.qmpPath, schedule: [{ atSeconds: 0.5, target: "96 MiB" }, { atSeconds: 4, target: "128 MiB" }], durationSeconds: 7, sampleSeconds: 0.5 });
    const rows = run.table.objects() as Array<Record<string, number>>;
    const [down, up] = balloonResponse(run.table);
    expect(down.targetBytes).toBe(96 * MiB);
    expect(down.settleSeconds).not.toBeNull();
    expect(down.settleSeconds!).toBeLessThan(3);
    expect(up.targetBytes).toBe(128 * MiB);
    expect(up.settleSeconds).not.toBeNull();
    // The guest's own total, once its stats caught up (they refresh every second).
    const totals = rows.filter((r) => r.guestTotalBytes !== null).map((r) => [r.t, r.guestTotalBytes]);
    const before = totals[0][1];
    const low = Math.min(...totals.map(([, b]) => b));
    expect(before - low).toBeGreaterThan(30 * MiB);
    expect(before - low).toBeLessThanOrEqual(32 * MiB);
    expect(rows.at(-1)!.actualBytes).toBe(128 * MiB);
  }, 60_000);
});
