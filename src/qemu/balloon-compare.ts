/**
 * The simulator's balloon on a real balloon's schedule, and the two side by side.
 *
 *   simulateBalloonSchedule  one simulated VM of the real guest's size on a roomy host (no host
 *                            pressure, as on the QEMU machine), its balloon target moved at the
 *                            same times to the same sizes → a table in the real run's units
 *   compareBalloons          the real and simulated tables joined on the sample time
 *   balloonResponse          per schedule step: how long `actual` took to come within
 *                            `toleranceBytes` of the target, and the mean rate on the way
 *
 * Units: QMP's `balloon` value is the memory the guest keeps (RAM − balloon), so the simulated
 * balloon is set to configured − target; `actualBytes` is configured − ballooned in both.
 * The simulated balloon is capped (`maxFraction`, default 0.9 of memory, below the guest
 * kernel's share); virtio-balloon has no cap but the guest's own OOM avoidance.
 *
 * Where they differ (measured: data/vm-balloon, described in data/snapshots/README.md):
 * - rate: Linux's virtio_balloon moves 160 MiB within one 0.5 s sample (≥ 320 MiB/s); the
 *   simulated driver is VMware's vmw_balloon, 64 MiB per one-second cycle, so 2.5 s;
 * - what the guest gives up: the real guest gives free memory only and its MemTotal shrinks by
 *   the balloon; with no free memory left (a process holding memory, no swap) the real balloon
 *   stops short of its target, where the simulated guest would page out to its swap device;
 * - when it is seen: the guest's stats refresh once a second, so they trail QEMU's `actual`.
 */
import * as fs from "node:fs";
import * as aq from "arquero";
import { Host } from "../host/host";
import type { Workload } from "../workloads/workload";
import type { GuestOptions } from "../host/host-config";
import { MemvirtError } from "../util/errors";
import { describeFsError } from "../util/output-file";
import { PAGE_SIZE_BYTES } from "../util/units";
import { balloonSchedule, type BalloonStep } from "./real-balloon";

type Table = ReturnType<typeof aq.table>;

/** Options of `simulateBalloonSchedule`. */
export interface SimulatedBalloonOptions {
  /** The VM's configured memory in bytes (the real guest's base-memory). */
  memoryBytes: number;
  /** The same schedule as the real run (targets: the memory the guest keeps). */
  schedule: BalloonStep[];
  /** Simulated seconds to run (default: the last step + 10). */
  durationSeconds?: number;
  /** Seconds between samples (default 0.5; a multiple of 0.01 s, the host quantum). */
  sampleSeconds?: number;
  /** What the VM runs (default nothing: an idle guest). */
  workload?: Workload | Record<string, unknown>;
  /** Guest OS options (e.g. `fileBackedFraction` for a page-cache workload). */
  guest?: GuestOptions;
  /** The balloon's cap as a fraction of memory (default 0.9). */
  maxFraction?: number;
  /** Seed (default 1). */
  seed?: number;
}

/**
 * Run the simulator's balloon on `schedule` and return a table in the real run's units:
 * t, targetBytes, actualBytes, balloonedBytes, guestFreeBytes, guestSwappedBytes,
 * guestPageOutBytes (cumulative), residentBytes. As in `recordRealBalloon`, row 0 (t = 0) is
 * the state before any step (guest figures null: not sampled), and each step has a row at its
 * time with the new target beside the state it found.
 *
 * @example
 * const sim = simulateBalloonSchedule({ memoryBytes: 256 * 2 ** 20, schedule: [{ atSeconds: 1, target: "96 MiB" }], durationSeconds: 5 });
 * sim.objects().at(-1).actualBytes // ≈ 96 MiB
 */
export function simulateBalloonSchedule(options: SimulatedBalloonOptions): Table {
  const memoryBytes = options.memoryBytes;
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes <= 0 || memoryBytes % PAGE_SIZE_BYTES !== 0) throw new MemvirtError("must be a positive whole number of 4 KiB pages", { where: "memoryBytes", value: memoryBytes });
  const schedule = balloonSchedule(options.schedule, memoryBytes);
  const durationSeconds = options.durationSeconds ?? schedule[schedule.length - 1].atSeconds + 10;
  const sampleSeconds = options.sampleSeconds ?? 0.5;
  const pages = memoryBytes / PAGE_SIZE_BYTES;
  const host = new Host({ memory: 2 * pages, seed: options.seed ?? 1 });
  host.addVm({ name: "guest", memory: pages, workload: options.workload, guest: options.guest, balloon: { maxFraction: options.maxFraction ?? 0.9 } });
  for (const step of schedule) {
    host.at(step.atSeconds, "", () => host.setBalloonTarget(0, pages - Math.floor(step.targetBytes / PAGE_SIZE_BYTES)));
  }
  const run = host.run({ seconds: durationSeconds, sampleEvery: sampleSeconds });
  const rows = run.timeline.objects() as Array<Record<string, number>>;
  let pageOuts = 0;
  const out: Record<string, Array<number | null>> = { t: [], targetBytes: [], actualBytes: [], balloonedBytes: [], guestFreeBytes: [], guestSwappedBytes: [], guestPageOutBytes: [], residentBytes: [] };
  // Rows as the real recorder makes them: row 0 is the state before any step, and each step
  // adds a row at its own time carrying the new target beside the state it found (a timeline
  // sample at t is taken before a step at t acts, so it carries the old target).
  const push = (t: number, targetBytes: number, state: Record<string, number | null>) => {
    out.t.push(t);
    out.targetBytes.push(targetBytes);
    for (const key of ["actualBytes", "balloonedBytes", "guestFreeBytes", "guestSwappedBytes", "guestPageOutBytes", "residentBytes"]) out[key].push(state[key]);
  };
  let state: Record<string, number | null> = { actualBytes: memoryBytes, balloonedBytes: 0, guestFreeBytes: null, guestSwappedBytes: null, guestPageOutBytes: 0, residentBytes: null };
  let targetBytes = memoryBytes;
  let next = 0;
  push(0, targetBytes, state);
  const stepsUpTo = (t: number) => {
    while (next < schedule.length && schedule[next].atSeconds <= t + 1e-9) {
      targetBytes = schedule[next].targetBytes;
      push(schedule[next].atSeconds, targetBytes, state);
      next++;
    }
  };
  for (const r of rows) {
    stepsUpTo(r.t - 1e-6); // steps before this sample (one at exactly r.t acts after it)
    pageOuts += r.guestPageOuts;
    state = {
      actualBytes: (pages - r.balloonedPages) * PAGE_SIZE_BYTES,
      balloonedBytes: r.balloonedPages * PAGE_SIZE_BYTES,
      guestFreeBytes: r.guestFreePages * PAGE_SIZE_BYTES,
      guestSwappedBytes: r.guestSwappedPages * PAGE_SIZE_BYTES,
      guestPageOutBytes: pageOuts * PAGE_SIZE_BYTES,
      residentBytes: r.residentPages * PAGE_SIZE_BYTES,
    };
    push(r.t, targetBytes, state);
  }
  stepsUpTo(durationSeconds);
  return aq.table(out);
}

/**
 * Join a real balloon table (`recordRealBalloon(...).table`) and a simulated one on the sample
 * time (each real sample to the nearest simulated one): t, targetBytes, then real… and sim…
 * columns for actual, free, cache (real only), swap-out / page-out.
 *
 * @example
 * const both = compareBalloons(real.table, simulateBalloonSchedule({ memoryBytes: real.memoryBytes, schedule }));
 */
export function compareBalloons(real: Table, simulated: Table): Table {
  const sim = simulated.objects() as Array<Record<string, number>>;
  if (sim.length === 0) throw new MemvirtError("the simulated table has no rows", { where: "simulated" });
  const rows = (real.objects() as Array<Record<string, number | null>>).map((r) => {
    const t = r.t as number;
    let best = sim[0];
    for (const s of sim) if (Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
    return {
      t,
      targetBytes: r.targetBytes,
      realActualBytes: r.actualBytes,
      simActualBytes: best.actualBytes,
      realFreeBytes: r.guestFreeBytes,
      simFreeBytes: best.guestFreeBytes,
      realCacheBytes: r.guestCacheBytes,
      realSwapOutBytes: r.swapOutBytes,
      simPageOutBytes: best.guestPageOutBytes,
    };
  });
  return aq.from(rows);
}

/** How one schedule step played out. */
export interface BalloonStepResponse {
  /** When the step was set. */
  atSeconds: number;
  /** `actual` when it was set, and the target. */
  fromBytes: number;
  targetBytes: number;
  /** Seconds until `actual` was within the tolerance of the target (null: not within the run). */
  settleSeconds: number | null;
  /** Mean rate while moving, bytes per second (null when it never settled or did not move). */
  bytesPerSecond: number | null;
  /** `actual` at the end of the step (the next step, or the end of the run). */
  endBytes: number;
}

/**
 * Per schedule step of a balloon table (real or simulated: columns t, targetBytes,
 * actualBytes), how fast `actual` followed the target.
 *
 * @example
 * balloonResponse(sim).map((s) => s.settleSeconds)
 */
export function balloonResponse(table: Table, toleranceBytes = 2 ** 20): BalloonStepResponse[] {
  const rows = table.objects() as Array<{ t: number; targetBytes: number; actualBytes: number }>;
  const out: BalloonStepResponse[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i === 0 || rows[i].targetBytes === rows[i - 1].targetBytes) continue; // row 0: the state before any step
    const from = rows[i - 1].actualBytes;
    const start = rows[i].t; // the first sample that carries the new target (set just before it)
    let end = i;
    while (end + 1 < rows.length && rows[end + 1].targetBytes === rows[i].targetBytes) end++;
    let settle: number | null = null;
    for (let j = i; j <= end; j++) {
      if (Math.abs(rows[j].actualBytes - rows[i].targetBytes) <= toleranceBytes) { settle = rows[j].t - start; break; }
    }
    const moved = Math.abs(rows[i].targetBytes - from);
    out.push({
      atSeconds: rows[i].t,
      fromBytes: from,
      targetBytes: rows[i].targetBytes,
      settleSeconds: settle,
      bytesPerSecond: settle !== null && settle > 0 && moved > toleranceBytes ? moved / settle : null,
      endBytes: rows[end].actualBytes,
    });
  }
  return out;
}

/** A balloon run as `memvirt balloon-vm --out FILE.json` writes it. */
export interface BalloonRunFile {
  /** The guest's RAM in bytes. */
  memoryBytes: number;
  /** The schedule, targets in bytes. */
  schedule: Array<{ atSeconds: number; targetBytes: number }>;
  /** The balloon's QOM path. */
  balloonPath: string;
  /** What QEMU and the guest reported (columns of RealBalloonRow). */
  real: Table;
  /** The simulator's balloon on the same schedule (columns of simulateBalloonSchedule). */
  simulated: Table;
}

/**
 * Read a balloon run written by `memvirt balloon-vm --out FILE.json` (e.g. the recorded ones
 * in data/vm-balloon/). One line naming the file when it is missing or not such a run.
 *
 * @example
 * const run = readBalloonRun("data/vm-balloon/idle-256MiB.json");
 * balloonResponse(run.real); balloonResponse(run.simulated);
 */
export function readBalloonRun(file: string): BalloonRunFile {
  let data: { memoryBytes?: unknown; schedule?: unknown; balloonPath?: unknown; real?: unknown; simulated?: unknown };
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new MemvirtError((err as NodeJS.ErrnoException).code ? `cannot read: ${describeFsError(err)}` : `not JSON: ${(err as Error).message}`, { where: file });
  }
  if (typeof data?.memoryBytes !== "number" || !Array.isArray(data.schedule) || !Array.isArray(data.real) || !Array.isArray(data.simulated)) {
    throw new MemvirtError("not a balloon run (expected memoryBytes, schedule, real and simulated, as memvirt balloon-vm --out FILE.json writes)", { where: file });
  }
  return { memoryBytes: data.memoryBytes, schedule: data.schedule as BalloonRunFile["schedule"], balloonPath: String(data.balloonPath ?? ""), real: aq.from(data.real), simulated: aq.from(data.simulated) };
}
