/**
 * An overcommitted host over time: VMs whose working sets grow steadily until their total
 * passes machine memory, so the host leaves the high state and reclaims: it balloons (soft),
 * swaps and blocks if free memory runs out before the balloons return any (low), and settles
 * where the balloons hold the VMs at their share. With the defaults and seed 42: soft at 25 s,
 * low at 26 s (a balloon's first cycle takes its guest's untouched free pages, which frees no
 * machine memory), high at 27 s, soft again from 32 s to 46 s, held there by hysteresis.
 *
 *   working set of each VM
 *     ▲            ________  (growth stops at growSeconds)
 *     │         __/
 *     │      __/
 *     │ ____/
 *     └──────────────────────▶ t
 *
 * `hostStatesTable` adds plotting columns to a run's host timeline: free memory in percent and
 * the state as a level (0 high, 1 soft, 2 hard, 3 low).
 */
import * as aq from "arquero";
import { MemvirtError } from "../util/errors";
import { Rng } from "../util/rng";
import { parsePages } from "../util/units";
import { Host } from "../host/host";
import { AccessCosts } from "../host/costs";
import { BalloonOptions } from "../host/host-config";
import { Run } from "../host/run";
import { ToucherWorkload } from "../workloads/toucher";
import { FREE_MEMORY_STATE_NAMES } from "../policy/free-memory-state";
import { ReclamationParams, ReclamationPolicy } from "../policy/reclamation-policy";

type Table = ReturnType<typeof aq.table>;

/** Options of the overcommit scenario (all optional). */
export interface OvercommitOptions {
  /** Machine memory (default "256 MiB"). */
  hostMemory?: number | string;
  /** Number of VMs (default 4). */
  vmCount?: number;
  /** Configured memory of each VM (default "128 MiB": 2× overcommitted with 4 VMs). */
  vmMemory?: number | string;
  /** Working set of each VM at t = 0 (default "24 MiB"). */
  startWorkingSet?: number | string;
  /** Growth of each VM's working set per second (default 384 pages = 1.5 MiB). */
  growthPagesPerSecond?: number;
  /** Seconds the working sets keep growing (default 40). */
  growSeconds?: number;
  /** Balloon driver settings for every VM (default: the driver's defaults). */
  balloon?: BalloonOptions | boolean;
  /** Shares per VM, in VM order (default: ESX "normal" shares for every VM). */
  shares?: number[];
  /** Reclamation policy parameters (default: Waldspurger's thresholds, 1 s period). */
  reclamation?: ReclamationParams;
  /** Costs (default hitNs 10 µs: an operation is 10 µs of work plus one page access). */
  costs?: Partial<AccessCosts>;
  seed?: number | string;
}

/** The scenario, ready to run. */
export interface OvercommitScenario {
  host: Host;
  /** Each VM's workload, whose working set the scenario grows. */
  touchers: ToucherWorkload[];
}

/**
 * Build the scenario; then `scenario.host.run({ seconds: 60 })`.
 *
 * @example
 * const { host } = overcommitScenario({ seed: 42 });
 * const run = host.run({ seconds: 60, sampleEvery: 1 });
 */
export function overcommitScenario(options: OvercommitOptions = {}): OvercommitScenario {
  const seed = options.seed ?? 1;
  const vmCount = options.vmCount ?? 4;
  if (!Number.isInteger(vmCount) || vmCount < 1 || vmCount > 256) throw new MemvirtError("must be a whole number from 1 to 256", { where: "vmCount", value: vmCount });
  if (options.shares !== undefined && (!Array.isArray(options.shares) || options.shares.length !== vmCount)) {
    throw new MemvirtError(`must be an array of ${vmCount} share values, one per VM`, { where: "shares", value: options.shares });
  }
  const start = parsePages(options.startWorkingSet ?? "24 MiB", "startWorkingSet");
  const growth = options.growthPagesPerSecond ?? 384;
  if (typeof growth !== "number" || !Number.isFinite(growth) || growth < 0) throw new MemvirtError("must be a number of pages per second, at least 0", { where: "growthPagesPerSecond", value: growth });
  const growSeconds = options.growSeconds ?? 40;
  if (typeof growSeconds !== "number" || !Number.isFinite(growSeconds) || growSeconds < 0) throw new MemvirtError("must be a number of seconds, at least 0", { where: "growSeconds", value: growSeconds });
  const host = new Host({
    memory: options.hostMemory ?? "256 MiB",
    seed,
    costs: { hitNs: 10_000, ...options.costs },
    policies: [new ReclamationPolicy(options.reclamation ?? {})],
  });
  const vmMemory = parsePages(options.vmMemory ?? "128 MiB", "vmMemory");
  const touchers: ToucherWorkload[] = [];
  const rng = new Rng(seed);
  for (let i = 0; i < vmCount; i++) {
    const w = new ToucherWorkload({ workingSetPages: Math.max(1, start), writeFraction: 0.3 }, rng.split(`vm${i}`), `vms[${i}].workload`);
    touchers.push(w);
    host.addVm({ name: `vm${i}`, memory: vmMemory, workload: w, balloon: options.balloon, shares: options.shares?.[i] });
  }
  const limit = vmMemory - Math.round(vmMemory / 64) - 1; // what the guest can hold beside its kernel
  for (let t = 1; t <= growSeconds; t++) {
    const pages = Math.max(1, Math.min(limit, Math.round(start + growth * t)));
    host.at(t, "", () => touchers.forEach((w) => w.setWorkingSetPages(pages)));
  }
  return { host, touchers };
}

/**
 * A run's host timeline with `freePercent` and `stateLevel` (0 high … 3 low) for plotting.
 *
 * @example
 * show(stepChart(hostStatesTable(run), { x: "t", y: "stateLevel" }));
 */
export function hostStatesTable(run: Run): Table {
  const h = run.hostTimeline;
  const free = h.array("freeFraction") as ArrayLike<number>;
  const states = h.array("hostState") as ArrayLike<string>;
  const freePercent: number[] = [];
  const stateLevel: number[] = [];
  for (let i = 0; i < h.numRows(); i++) {
    freePercent.push(free[i] * 100);
    stateLevel.push((FREE_MEMORY_STATE_NAMES as readonly string[]).indexOf(states[i]));
  }
  return h.assign(aq.table({ freePercent, stateLevel }));
}
