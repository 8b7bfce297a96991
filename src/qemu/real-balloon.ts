/**
 * A real balloon: move a QEMU guest's virtio-balloon through QMP over a schedule of sizes and
 * record, over time, what QEMU and what the guest report.
 *
 *   QMP balloon {value}          the target: the guest's memory size once the balloon is done
 *                                (RAM − balloon), in bytes
 *   QMP query-balloon → actual   QEMU's view: RAM − pages the guest driver has handed over
 *   qom-set …/guest-stats-polling-interval N, then qom-get …/guest-stats
 *                                the guest driver's own statistics (virtio-balloon stats queue,
 *                                refreshed every N s): free, available, disk caches, total,
 *                                swap in/out (bytes), major/minor faults (counts)
 *
 * The balloon's QOM path is found by `qom-list` under /machine/peripheral (a device given
 * `id=`) and /machine/peripheral-anon; `balloonPath` overrides it. The guest must run the
 * virtio_balloon driver (Linux: the `virtio_balloon` module); without it `actual` never moves
 * and the stats stay unset (QEMU reports −1: null here). A stat the guest does not report is
 * null, never 0.
 *
 * Time is wall-clock seconds from the start of the recording. Row 0 is the state before any
 * step; then samples are taken every `sampleSeconds` (plus one at 0 s right after any step at
 * 0 s), each schedule step applied just before the first sample at or after its time, so a
 * step's row shows the state right after the command.
 *
 * However the run ends (done, a QMP error, an abort through `signal`: the CLI aborts on Ctrl-C),
 * the balloon goes back to the guest's full memory (unless `restore` is false), so a guest is
 * never left squeezed. (The stats polling stays on at `statsIntervalSeconds`.)
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { parseBytes } from "../util/units";
import { QmpClient, type QmpConnectOptions } from "./qmp-client";

type Table = ReturnType<typeof aq.table>;

/** One step of a balloon schedule: from `atSeconds` on, the guest should have `targetBytes`. */
export interface BalloonStep {
  /** Seconds from the start of the recording. */
  atSeconds: number;
  /** The guest's memory once the balloon has done its work (RAM − balloon): bytes, or "96 MiB". */
  target: number | string;
}

/** Options of `recordRealBalloon`. */
export interface RealBalloonOptions {
  /** The QMP socket of the running QEMU. */
  qmpPath: string;
  /** Targets over time, in order of `atSeconds`. */
  schedule: BalloonStep[];
  /** How long to record (default: the last step's time + 10 s). */
  durationSeconds?: number;
  /** Seconds between samples (default 0.5). */
  sampleSeconds?: number;
  /** The guest's stats refresh period, whole seconds ≥ 1 (default 1). */
  statsIntervalSeconds?: number;
  /** The balloon's QOM path (default: found with qom-list). */
  balloonPath?: string;
  /** Put the balloon back to the guest's full memory at the end (default true). */
  restore?: boolean;
  /** Connection options (timeout, the flag errors name). */
  connect?: QmpConnectOptions;
  /** Called with each row as it is taken. */
  onSample?: (row: RealBalloonRow) => void;
  /** Aborting ends the run early: the balloon is restored, then it rejects with a one-line MemvirtError. */
  signal?: AbortSignal;
}

/** One sample of a real balloon run (bytes unless named otherwise; null: not reported). */
export interface RealBalloonRow {
  /** Seconds since the recording started. */
  t: number;
  /** The target last set (bytes of guest memory). */
  targetBytes: number;
  /** QEMU's `actual`: RAM − ballooned bytes. */
  actualBytes: number;
  /** The guest's MemTotal as its driver reports it (shrinks as the balloon inflates, on Linux). */
  guestTotalBytes: number | null;
  /** The guest's free memory (MemFree). */
  guestFreeBytes: number | null;
  /** The guest's estimate of memory available without swapping (MemAvailable). */
  guestAvailableBytes: number | null;
  /** The guest's page cache (Buffers + Cached in /proc/meminfo terms). */
  guestCacheBytes: number | null;
  /** Bytes swapped in since the guest booted. */
  swapInBytes: number | null;
  /** Bytes swapped out since the guest booted. */
  swapOutBytes: number | null;
  /** Major page faults since boot. */
  majorFaults: number | null;
  /** Minor page faults since boot. */
  minorFaults: number | null;
  /** When the guest last sent its stats (QEMU's last-update, Unix seconds; null: never). */
  statsUpdatedAt: number | null;
}

/** A recorded real balloon run: the samples as a table, plus what was asked. */
export interface RealBalloonRun {
  /** One row per sample (columns of RealBalloonRow). */
  table: Table;
  /** The guest's RAM (base-memory) in bytes. */
  memoryBytes: number;
  /** The schedule, targets in bytes. */
  schedule: Array<{ atSeconds: number; targetBytes: number }>;
  /** The balloon's QOM path. */
  balloonPath: string;
  /** QMP BALLOON_CHANGE events: when QEMU saw `actual` change (seconds since start). */
  changes: Array<{ t: number; actualBytes: number }>;
}

const STAT_KEYS: Record<string, keyof RealBalloonRow> = {
  "stat-total-memory": "guestTotalBytes",
  "stat-free-memory": "guestFreeBytes",
  "stat-available-memory": "guestAvailableBytes",
  "stat-disk-caches": "guestCacheBytes",
  "stat-swap-in": "swapInBytes",
  "stat-swap-out": "swapOutBytes",
  "stat-major-faults": "majorFaults",
  "stat-minor-faults": "minorFaults",
};

/** The column order of a real balloon table. */
export const REAL_BALLOON_COLUMNS: ReadonlyArray<keyof RealBalloonRow> = [
  "t", "targetBytes", "actualBytes", "guestTotalBytes", "guestFreeBytes", "guestAvailableBytes", "guestCacheBytes",
  "swapInBytes", "swapOutBytes", "majorFaults", "minorFaults", "statsUpdatedAt",
];

/**
 * Check a schedule and turn its targets into bytes (one line naming `schedule[i]` when wrong).
 *
 * @example
 * balloonSchedule([{ atSeconds: 0, target: "96 MiB" }]) // [{ atSeconds: 0, targetBytes: 100663296 }]
 */
export function balloonSchedule(schedule: BalloonStep[], memoryBytes?: number): Array<{ atSeconds: number; targetBytes: number }> {
  if (!Array.isArray(schedule) || schedule.length === 0) throw new MemvirtError("give at least one step { atSeconds, target }", { where: "schedule", value: schedule });
  let last = -Infinity;
  return schedule.map((step, i) => {
    const where = `schedule[${i}]`;
    if (typeof step?.atSeconds !== "number" || !Number.isFinite(step.atSeconds) || step.atSeconds < 0) throw new MemvirtError("atSeconds must be a time in seconds, at least 0", { where: `${where}.atSeconds`, value: step?.atSeconds });
    if (step.atSeconds < last) throw new MemvirtError(`steps must be in time order (this one is before ${last} s)`, { where: `${where}.atSeconds`, value: step.atSeconds });
    last = step.atSeconds;
    const targetBytes = parseBytes(step.target, `${where}.target`);
    if (targetBytes < 1 || (memoryBytes !== undefined && targetBytes > memoryBytes)) {
      throw new MemvirtError(`must be between 1 byte and the guest's memory (${memoryBytes} bytes)`, { where: `${where}.target`, value: step.target });
    }
    return { atSeconds: step.atSeconds, targetBytes };
  });
}

/**
 * Find the QOM path of the guest's virtio balloon (a `child<virtio-balloon-…>` under
 * /machine/peripheral or /machine/peripheral-anon), or throw naming the socket.
 *
 * @example
 * await findBalloonPath(qmp) // "/machine/peripheral/balloon0"
 */
export async function findBalloonPath(qmp: QmpClient, where = "--qmp"): Promise<string> {
  for (const parent of ["/machine/peripheral", "/machine/peripheral-anon"]) {
    let children: Array<{ name: string; type: string }>;
    try {
      children = await qmp.execute<Array<{ name: string; type: string }>>("qom-list", { path: parent });
    } catch {
      continue;
    }
    const found = children.find((c) => /^child<virtio-balloon/.test(c.type));
    if (found) return `${parent}/${found.name}`;
  }
  throw new MemvirtError("this QEMU has no virtio balloon; start it with -device virtio-balloon-pci,id=balloon0", { where, value: qmp.socketPath });
}

/**
 * Drive the balloon of the QEMU at `options.qmpPath` through `options.schedule` and record
 * what QEMU and the guest report (see the module comment). Resolves when the recording ends;
 * the balloon is then set back to the guest's full memory unless `restore` is false.
 *
 * @example
 * const run = await recordRealBalloon({ qmpPath: "/tmp/g.qmp", schedule: [{ atSeconds: 1, target: "96 MiB" }, { atSeconds: 8, target: "256 MiB" }], durationSeconds: 15 });
 * run.table.print();
 */
export async function recordRealBalloon(options: RealBalloonOptions): Promise<RealBalloonRun> {
  const sampleSeconds = options.sampleSeconds ?? 0.5;
  if (!(sampleSeconds > 0) || !Number.isFinite(sampleSeconds)) throw new MemvirtError("must be a positive number of seconds", { where: "sampleSeconds", value: options.sampleSeconds });
  const interval = options.statsIntervalSeconds ?? 1;
  if (!Number.isInteger(interval) || interval < 1) throw new MemvirtError("must be a whole number of seconds, at least 1", { where: "statsIntervalSeconds", value: options.statsIntervalSeconds });
  balloonSchedule(options.schedule); // shape first, before any connection
  const where = options.connect?.where ?? "--qmp";
  const interrupted = () => new MemvirtError("balloon run interrupted; the balloon was put back", { where, value: options.qmpPath });
  if (options.signal?.aborted) throw interrupted();
  const qmp = await QmpClient.connect(options.qmpPath, options.connect);
  let memoryBytes: number | undefined;
  let moved = false;
  const checkAbort = () => {
    if (options.signal?.aborted) throw interrupted();
  };
  try {
    memoryBytes = (await qmp.execute<{ "base-memory": number }>("query-memory-size-summary"))["base-memory"];
    const fullBytes = memoryBytes;
    const schedule = balloonSchedule(options.schedule, memoryBytes);
    const durationSeconds = options.durationSeconds ?? schedule[schedule.length - 1].atSeconds + 10;
    if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) throw new MemvirtError("must be a positive number of seconds", { where: "durationSeconds", value: options.durationSeconds });
    const balloonPath = options.balloonPath ?? await findBalloonPath(qmp, where);
    await qmp.execute("query-balloon"); // "No balloon device has been activated" passes through here
    await qmp.execute("qom-set", { path: balloonPath, property: "guest-stats-polling-interval", value: interval });
    qmp.takeEvents();
    const rows: RealBalloonRow[] = [];
    const changes: Array<{ t: number; actualBytes: number }> = [];
    const start = performance.now();
    const elapsed = () => (performance.now() - start) / 1000;
    let next = 0;
    let targetBytes = (await qmp.execute<{ actual: number }>("query-balloon")).actual;
    const sample = async () => {
      const t = elapsed();
      const { actual } = await qmp.execute<{ actual: number }>("query-balloon");
      const got = await qmp.execute<{ stats?: Record<string, number>; "last-update"?: number }>("qom-get", { path: balloonPath, property: "guest-stats" });
      const row: RealBalloonRow = { t: Math.round(t * 1000) / 1000, targetBytes, actualBytes: actual, guestTotalBytes: null, guestFreeBytes: null, guestAvailableBytes: null, guestCacheBytes: null, swapInBytes: null, swapOutBytes: null, majorFaults: null, minorFaults: null, statsUpdatedAt: got["last-update"] ? got["last-update"] : null };
      for (const [key, column] of Object.entries(STAT_KEYS)) {
        const v = got.stats?.[key];
        (row as unknown as Record<string, number | null>)[column] = typeof v === "number" && v >= 0 && v < 2 ** 63 ? v : null; // QEMU reports an unset stat as 2^64 − 1
      }
      rows.push(row);
      options.onSample?.(row);
      for (const e of qmp.takeEvents()) {
        if (e.event === "BALLOON_CHANGE" && typeof e.data?.actual === "number") changes.push({ t: row.t, actualBytes: e.data.actual });
      }
    };
    await sample(); // the state the schedule starts from: row 0 is never a step
    for (let k = 0; k * sampleSeconds <= durationSeconds + 1e-9; k++) {
      const due = k * sampleSeconds;
      const wait = due - elapsed();
      if (wait > 0) await sleepUnlessAborted(wait * 1000, options.signal);
      checkAbort();
      const stepsBefore = next;
      while (next < schedule.length && schedule[next].atSeconds <= due + 1e-9) {
        targetBytes = schedule[next].targetBytes;
        moved = true;
        await qmp.execute("balloon", { value: targetBytes });
        next++;
      }
      if (k > 0 || next > stepsBefore) await sample(); // at 0 only when a step was set then
    }
    if (options.restore ?? true) {
      await qmp.execute("balloon", { value: fullBytes });
      moved = false;
    }
    const columns: Record<string, unknown[]> = {};
    for (const c of REAL_BALLOON_COLUMNS) columns[c] = rows.map((r) => r[c]);
    return { table: aq.table(columns), memoryBytes, schedule, balloonPath, changes };
  } finally {
    // Give the guest its memory back, best effort (QEMU may be gone).
    if (moved && (options.restore ?? true) && memoryBytes !== undefined) await qmp.execute("balloon", { value: memoryBytes }, { timeoutMs: 5000 }).catch(() => undefined);
    qmp.close();
  }
}

/** Wait `ms`, or less when `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    if (signal?.aborted) done();
  });
}
