/**
 * The real balloon recorder against the fake QMP server (and a real QEMU with a virtio balloon
 * but no guest: QEMU answers, nothing in the guest moves), and the simulated balloon on the
 * same schedule.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { balloonSchedule, recordRealBalloon } from "../../src/qemu/real-balloon";
import { balloonResponse, compareBalloons, readBalloonRun, simulateBalloonSchedule } from "../../src/qemu/balloon-compare";
import { MemvirtError } from "../../src/util/errors";
import { startFakeQemu, type FakeQemu } from "./qmp-fake-server";
import { hasQemu, leftoverQemuPids, stopAllQemu } from "./qmp-real-qemu";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aq from "arquero";

const MiB = 2 ** 20;
const fakes: FakeQemu[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
  await stopAllQemu();
});
afterAll(async () => {
  await stopAllQemu();
  expect(leftoverQemuPids("memvirt-balloon-test-")).toEqual([]);
});

async function fake(options: Partial<Parameters<typeof startFakeQemu>[0]> = {}): Promise<FakeQemu> {
  const f = await startFakeQemu({ memory: new Uint8Array(256 * MiB), ...options });
  fakes.push(f);
  return f;
}

describe("balloonSchedule", () => {
  it("turns targets into bytes and names the bad step", () => {
    expect(balloonSchedule([{ atSeconds: 0, target: "96 MiB" }, { atSeconds: 2, target: 1 * MiB }])).toEqual([{ atSeconds: 0, targetBytes: 96 * MiB }, { atSeconds: 2, targetBytes: MiB }]);
    expect(() => balloonSchedule([{ atSeconds: 1, target: "1 MiB" }, { atSeconds: 0, target: "1 MiB" }])).toThrow(/^schedule\[1\]\.atSeconds: steps must be in time order/);
    expect(() => balloonSchedule([{ atSeconds: 0, target: "512 MiB" }], 256 * MiB)).toThrow(/^schedule\[0\]\.target: must be between 1 byte and the guest's memory \(268435456 bytes\) \(got "512 MiB"\)$/);
    expect(() => balloonSchedule([])).toThrow(MemvirtError);
  });
});

describe("recordRealBalloon on a fake QEMU", () => {
  it("sets the target at each step's time and records QEMU's actual and the guest's stats per sample", async () => {
    // The fake's memory is 64 KiB: the balloon value is whatever we set, within it.
    const f = await fake({ memory: new Uint8Array(64 * 1024), guestStats: { "stat-free-memory": 1000, "stat-disk-caches": 2000, "stat-available-memory": 3000, "stat-total-memory": 4000, "stat-swap-in": 0, "stat-swap-out": 5, "stat-major-faults": 6, "stat-minor-faults": 7, "stat-htlb-pgalloc": 2 ** 64 - 1 } });
    const rows: unknown[] = [];
    const run = await recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0.2, target: 32 * 1024 }, { atSeconds: 0.4, target: 48 * 1024 }], durationSeconds: 0.5, sampleSeconds: 0.1, onSample: (r) => rows.push(r) });
    expect(run.memoryBytes).toBe(64 * 1024);
    expect(run.balloonPath).toBe("/machine/peripheral/balloon0");
    const t = run.table.objects() as Array<Record<string, number | null>>;
    expect(t.length).toBe(6);
    expect(rows.length).toBe(6);
    expect(t.map((r) => r.targetBytes)).toEqual([65536, 65536, 32768, 32768, 49152, 49152]);
    expect(t.map((r) => r.actualBytes)).toEqual([65536, 65536, 32768, 32768, 49152, 49152]); // the fake obeys at once
    // Wall-clock times rise and span the run (a loaded machine may bunch samples up).
    for (let i = 1; i < t.length; i++) expect(t[i].t as number).toBeGreaterThanOrEqual(t[i - 1].t as number);
    expect(t.at(-1)!.t as number).toBeGreaterThanOrEqual(0.49);
    expect(t[0]).toMatchObject({ guestFreeBytes: 1000, guestCacheBytes: 2000, guestAvailableBytes: 3000, guestTotalBytes: 4000, swapInBytes: 0, swapOutBytes: 5, majorFaults: 6, minorFaults: 7, statsUpdatedAt: 1 });
    expect(run.table.columnNames()).toEqual(["t", "targetBytes", "actualBytes", "guestTotalBytes", "guestFreeBytes", "guestAvailableBytes", "guestCacheBytes", "swapInBytes", "swapOutBytes", "majorFaults", "minorFaults", "statsUpdatedAt"]);
    // Stats polling was switched on before the first sample; the balloon was restored at the end.
    const cmds = f.commands.map((c) => c.execute);
    expect(cmds.indexOf("qom-set")).toBeLessThan(cmds.indexOf("qom-get"));
    expect(f.commands.find((c) => c.execute === "qom-set")!.arguments).toEqual({ path: "/machine/peripheral/balloon0", property: "guest-stats-polling-interval", value: 1 });
    expect(f.commands.filter((c) => c.execute === "balloon").map((c) => c.arguments!.value)).toEqual([32768, 49152, 65536]);
  });

  it("finds a balloon given no id under /machine/peripheral-anon", async () => {
    const f = await fake({ anonymousBalloon: true });
    const run = await recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "128 MiB" }], durationSeconds: 0.1, sampleSeconds: 0.1 });
    expect(run.balloonPath).toBe("/machine/peripheral-anon/device[0]");
    expect(f.commands.find((c) => c.execute === "qom-get")!.arguments!.path).toBe("/machine/peripheral-anon/device[0]");
  });

  it("reads QEMU's unset stats (2^64 − 1) as null, not as numbers", async () => {
    const unset = 2 ** 64 - 1;
    const f = await fake({ guestStats: { "stat-free-memory": unset, "stat-disk-caches": unset, "stat-swap-out": unset } });
    const run = await recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "128 MiB" }], durationSeconds: 0.1, sampleSeconds: 0.1, restore: false });
    const row = run.table.objects()[0] as Record<string, unknown>;
    expect(row).toMatchObject({ guestFreeBytes: null, guestCacheBytes: null, swapOutBytes: null, majorFaults: null });
    expect(f.commands.filter((c) => c.execute === "balloon").length).toBe(1); // restore: false
  });

  it("refuses a QEMU without a virtio balloon in one line, and a target above the guest's memory before moving anything", async () => {
    const f = await fake({ errors: { "qom-list": "not found" } });
    await expect(recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "96 MiB" }], durationSeconds: 0.1 })).rejects.toThrow(
      /^--qmp: this QEMU has no virtio balloon; start it with -device virtio-balloon-pci,id=balloon0 \(got ".*qmp\.sock"\)$/,
    );
    const g = await fake();
    await expect(recordRealBalloon({ qmpPath: g.socketPath, schedule: [{ atSeconds: 0, target: "1 GiB" }], durationSeconds: 0.1 })).rejects.toThrow(/^schedule\[0\]\.target: must be between/);
    expect(g.commands.map((c) => c.execute)).not.toContain("balloon");
  });

  it.skipIf(!hasQemu)(`on a real QEMU with a balloon but no guest: QEMU takes the target, actual stays, stats are null${hasQemu ? "" : " (skipped: no qemu)"}`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-balloon-test-"));
    const sock = path.join(dir, "qmp.sock");
    const child = spawn("qemu-system-x86_64", ["-m", "128", "-display", "none", "-nodefaults", "-S", "-qmp", `unix:${sock},server=on,wait=off`, "-device", "virtio-balloon-pci,id=balloon0"], { stdio: "ignore" });
    try {
      for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const run = await recordRealBalloon({ qmpPath: sock, schedule: [{ atSeconds: 0, target: "96 MiB" }], durationSeconds: 0.2, sampleSeconds: 0.1 });
      const rows = run.table.objects() as Array<Record<string, unknown>>;
      // Row 0 is the state before the step at 0 s; then one row right after it, and one per sample.
      expect(rows.map((r) => r.targetBytes)).toEqual([128 * MiB, 96 * MiB, 96 * MiB, 96 * MiB]);
      expect(rows.every((r) => r.actualBytes === 128 * MiB && r.guestFreeBytes === null && r.statsUpdatedAt === null)).toBe(true);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the simulated balloon on the same schedule", () => {
  const schedule = [{ atSeconds: 1, target: "96 MiB" }, { atSeconds: 6, target: "256 MiB" }];

  it("an idle guest's balloon reaches each target, 64 MiB a 1 s cycle (vmw_balloon's 16,384 free pages)", () => {
    const sim = simulateBalloonSchedule({ memoryBytes: 256 * MiB, schedule, durationSeconds: 10 });
    const rows = sim.objects() as Array<Record<string, number>>;
    expect(rows.find((r) => r.t === 5)!.actualBytes).toBe(96 * MiB);
    expect(rows.at(-1)!.actualBytes).toBe(256 * MiB);
    for (const r of rows) expect(r.actualBytes + r.balloonedBytes).toBe(256 * MiB);
    const steps = balloonResponse(sim);
    expect(steps.map((s) => [s.targetBytes, s.settleSeconds])).toEqual([[96 * MiB, 2.5], [256 * MiB, 2.5]]);
    // 160 MiB in 3 one-second cycles of at most 64 MiB (the samples round it to 2.5 s).
    expect(steps[0].bytesPerSecond).toBeCloseTo(160 * MiB / 2.5, 0);
  });

  it("joins with a real table on the sample time", () => {
    const sim = simulateBalloonSchedule({ memoryBytes: 256 * MiB, schedule, durationSeconds: 10 });
    const real = sim.derive({ guestCacheBytes: () => 7, swapOutBytes: () => 0 }).select("t", "targetBytes", "actualBytes", "guestFreeBytes", "guestCacheBytes", "swapOutBytes")
      .derive({ t: (d: { t: number }) => d.t + 0.01 });
    const both = compareBalloons(real, sim).objects() as Array<Record<string, number>>;
    expect(both.length).toBe(sim.numRows());
    for (const r of both) {
      expect(r.realActualBytes).toBe(r.simActualBytes);
      expect(r.realCacheBytes).toBe(7);
    }
  });

  it("says where a step never settled within the run", () => {
    const sim = simulateBalloonSchedule({ memoryBytes: 256 * MiB, schedule: [{ atSeconds: 1, target: "16 MiB" }], durationSeconds: 3, maxFraction: 0.5 });
    const [step] = balloonResponse(sim);
    expect(step).toMatchObject({ targetBytes: 16 * MiB, settleSeconds: null, bytesPerSecond: null, endBytes: 128 * MiB });
  });
});

describe("the recorded real balloon runs (data/vm-balloon)", () => {
  const root = path.join(__dirname, "..", "..");
  const load = (name: string) => JSON.parse(fs.readFileSync(path.join(root, "data", "vm-balloon", `${name}-256MiB.json`), "utf8"));
  const readme = fs.readFileSync(path.join(root, "data", "snapshots", "README.md"), "utf8").replace(/\s+/g, " ");
  const mib = (bytes: number) => (bytes / MiB).toFixed(1);

  it("hold the real and simulated tables of the schedule the README states", () => {
    for (const name of ["idle", "alloc"]) {
      const run = load(name);
      expect(run).toMatchObject({ memoryBytes: 256 * MiB, schedule: [{ atSeconds: 1, targetBytes: 96 * MiB }, { atSeconds: 8, targetBytes: 256 * MiB }] });
      expect(Object.keys(run.real[0])).toEqual(["t", "targetBytes", "actualBytes", "guestTotalBytes", "guestFreeBytes", "guestAvailableBytes", "guestCacheBytes", "swapInBytes", "swapOutBytes", "majorFaults", "minorFaults", "statsUpdatedAt"]);
      expect(run.real.at(-1).t).toBeGreaterThan(13.5);
    }
  });

  it("say what the README says of them: rate, what the guest gave up, where the alloc guest stopped", () => {
    const idle = load("idle");
    const alloc = load("alloc");
    const [down, up] = balloonResponse(aq.from(idle.real));
    expect(down.settleSeconds).toBeLessThanOrEqual(0.51);
    expect(up.settleSeconds).toBeLessThanOrEqual(0.51);
    expect(balloonResponse(aq.from(idle.simulated)).map((s) => s.settleSeconds)).toEqual([2.5, 2.5]);
    const range = (rows: Array<Record<string, number>>, key: string) => [Math.max(...rows.map((r) => r[key])), Math.min(...rows.map((r) => r[key]))];
    const [freeHi, freeLo] = range(idle.real, "guestFreeBytes");
    const [totHi, totLo] = range(idle.real, "guestTotalBytes");
    const [cacheHi, cacheLo] = range(idle.real, "guestCacheBytes");
    expect(readme).toContain(`MemFree fell from ${mib(freeHi)} to ${mib(freeLo)} MiB while its page cache stayed at ${mib(cacheHi)} MiB, and MemTotal itself fell from ${mib(totHi)} to ${mib(totLo)} MiB`);
    expect(cacheLo).toBe(cacheHi);
    const [allocDown] = balloonResponse(aq.from(alloc.real));
    expect(allocDown.settleSeconds).toBeNull();
    const [, allocFreeLo] = range(alloc.real, "guestFreeBytes");
    expect(readme).toContain(`the balloon stopped at ${mib(allocDown.endBytes)} MiB with ${mib(allocFreeLo)} MiB free`);
    const moved = idle.real.find((r: Record<string, number>) => r.actualBytes < 250 * MiB).t;
    const seen = idle.real.find((r: Record<string, number>) => r.guestTotalBytes < totHi - 100 * MiB).t;
    expect(readme).toContain(`trails QEMU's \`actual\` by a sample or two (${(seen - moved).toFixed(1)} s in the idle run)`);
    for (const run of [idle, alloc]) {
      expect(Math.max(...run.real.map((r: Record<string, number>) => r.swapOutBytes))).toBe(0);
      expect(run.simulated.find((r: Record<string, number>) => r.t === 5).actualBytes).toBe(96 * MiB);
    }
  });
});

describe("readBalloonRun", () => {
  it("reads a recorded run into tables, and names a file that is not one", () => {
    const file = path.join(__dirname, "..", "..", "data", "vm-balloon", "idle-256MiB.json");
    const run = readBalloonRun(file);
    expect(run.memoryBytes).toBe(256 * MiB);
    expect(run.real.numRows()).toBe(JSON.parse(fs.readFileSync(file, "utf8")).real.length);
    expect(run.simulated.columnNames()).toContain("balloonedBytes");
    expect(compareBalloons(run.real, run.simulated).numRows()).toBe(run.real.numRows());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-balloon-run-"));
    try {
      fs.writeFileSync(path.join(dir, "x.json"), JSON.stringify({ memoryBytes: 5, real: [], simulated: [] })); // no schedule
      fs.writeFileSync(path.join(dir, "y.json"), "nope");
      expect(() => readBalloonRun(path.join(dir, "x.json"))).toThrow(/x\.json: not a balloon run \(expected memoryBytes, schedule, real and simulated/);
      expect(() => readBalloonRun(path.join(dir, "y.json"))).toThrow(/y\.json: not JSON: /);
      expect(() => readBalloonRun(path.join(dir, "z.json"))).toThrow(/z\.json: cannot read: no such file or directory \(ENOENT\)$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
