/**
 * Host and VM options as users write them (sizes as page counts or strings such as "512 MiB"),
 * and their validation into page counts.
 *
 * Invariants: every bad value is rejected with a MemvirtError naming its path (`host.memory`,
 * `vms[1].balloon.maxFraction`); unknown fields are rejected, never ignored; defaults are stated
 * once, here.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { parsePages } from "../util/units";
import { Seed } from "../util/rng";
import { Workload } from "../workloads/workload";
import { Size } from "../workloads/validate";
import { AccessCosts } from "./costs";
import { BALLOON_RATE_MODES, BalloonRateMode, BalloonSettings } from "./balloon-driver";
import { HostPolicy } from "./host-policy";
import { VmSettings } from "./vm";
import type { ContentModelOptions } from "./page-contents";
import type { PageSnapshot } from "../contents/page-snapshot";

/** A size: a number of 4 KiB pages, or a string with a unit ("512 MiB", "2 GiB", "1000 pages"). */
// (Size is the workloads module's type, re-used here.)

/** Options of `new Host(...)`. */
export interface HostOptions {
  /** Machine memory. */
  memory: Size;
  /** Hypervisor swap device: a size, or "auto" (default) = Σ (memory − min) over the VMs, as ESX sizes its swap files. */
  swap?: Size | "auto";
  /** Seed of every random choice in the host, its policies and (unless given objects) its VMs' workloads. */
  seed?: Seed;
  /** Time per access kind, overriding the defaults (see costs.ts). */
  costs?: Partial<AccessCosts>;
  /** Simulated seconds each VM runs before the host switches to the next (default 0.01). */
  quantumSeconds?: number;
  /** Policies to run (reclamation, sampling, ...); none by default. */
  policies?: HostPolicy[];
}

/** Balloon driver options of one VM. */
export interface BalloonOptions {
  /** Whether the guest has a balloon driver (default true). */
  enabled?: boolean;
  /** The cap as a fraction of configured memory (default 0.65, ESX's default). */
  maxFraction?: number;
  /** The cap as a size (overrides maxFraction). */
  max?: Size;
  /**
   * "adaptive" (default): Linux vmw_balloon's rate adaptation, up to 16,384 pages/s from free
   * guest memory and 2,048 when the guest must page out (balloon-driver.ts); "fixed": the rates
   * below. Giving either rate without `rate` means "fixed".
   */
  rate?: BalloonRateMode;
  /** Fixed inflation rate, pages per second (default 2048). */
  inflatePagesPerSecond?: number;
  /** Fixed deflation rate, pages per second (default 2048). */
  deflatePagesPerSecond?: number;
}

/** Guest OS options of one VM. */
export interface GuestOptions {
  /** Guest swap device size (default: twice the configured memory). */
  swap?: Size;
  /** Fraction of the workload's pages that are file-backed page cache (default 0; FETCH accesses always are). */
  fileBackedFraction?: number;
  /** Kernel memory wired at boot, as a fraction of configured memory (default 1/64: 64 B of `struct page` per 4 KiB page). */
  kernelOverhead?: number;
}

/** Options of `host.addVm(...)`. */
export interface VmOptions {
  name: string;
  /** Configured memory: what the guest believes it has. */
  memory: Size;
  /** Reservation (default 0). */
  min?: Size;
  /** Limit on machine memory (default: memory). */
  max?: Size;
  /** Proportional-share weight (default ESX "normal": 10 per MiB of configured memory). */
  shares?: number;
  /** What the guest runs: a Workload object, or a JSON spec such as {"kind": "zipf", ...}. */
  workload?: Workload | Record<string, unknown>;
  /** Balloon driver settings; `false` means no driver installed. */
  balloon?: BalloonOptions | boolean;
  guest?: GuestOptions;
  /** What the VM's pages hold, for page sharing: a content model or a real page snapshot. */
  contents?: ContentModelOptions | PageSnapshot;
  /** What the hypervisor traces of this VM's accesses: `{ exclusiveCache: {...} }` (Lu & Shen). */
  tracing?: TracingOptions;
}

/** Access tracing of one VM (`vms[i].tracing`). */
export interface TracingOptions {
  /** A hypervisor exclusive cache below the VM, and the LRU tracer that watches it. */
  exclusiveCache?: ExclusiveCacheOptions;
}

/**
 * A hypervisor exclusive cache (Lu & Shen, USENIX ATC 2007) under `vms[i].tracing.exclusiveCache`.
 * The VM's `memory` stays its direct memory (v pages); the cache is extra machine memory.
 */
export interface ExclusiveCacheOptions {
  /** The cache's capacity (c): a size with a unit ("64 MiB") or a page count. Required. */
  size: Size;
  /** The need estimate: the smallest memory whose miss ratio ≤ this (default 0.05). In (0, 1). */
  targetMissRatio?: number;
  /** "target" (default): the smallest size meeting targetMissRatio; "knee": the curve's knee (see kneeSlopeFraction). */
  need?: "target" | "knee";
  /**
   * The knee is the end of the last window of the curve whose slope is at least this fraction
   * of the curve's average slope over the tracked range (default 0.1). In (0, 1).
   */
  kneeSlopeFraction?: number;
  /** Evicted pages tracked beyond the cache's capacity (ghosts: keys only, no frame), so the curve reaches past v + c (default: the size). */
  ghosts?: Size;
  /** Seconds between the tracer's estimates (default 1). */
  periodSeconds?: number;
  /** Each period, old counts are multiplied by this (1: never forget; default 0.9, half-life ≈ 6.6 periods). In (0, 1]. */
  decay?: number;
}

/** Validated exclusive-cache settings (sizes in pages), as the tracer receives them. */
export interface ExclusiveCacheSettings {
  capacityPages: number;
  targetMissRatio: number;
  need: "target" | "knee";
  kneeSlopeFraction: number;
  ghostPages: number;
  periodSeconds: number;
  decay: number;
  /** Where these settings came from (e.g. "vms[0].tracing.exclusiveCache"). */
  where: string;
}

/**
 * Defaults of the exclusive cache's tracer.
 * @internal
 */
export const EXCLUSIVE_CACHE_DEFAULTS = Object.freeze({ targetMissRatio: 0.05, need: "target" as const, kneeSlopeFraction: 0.1, periodSeconds: 1, decay: 0.9 });

/**
 * ESX's default balloon cap (sched.mem.maxmemctl): 65% of configured memory.
 * @internal
 */
export const DEFAULT_BALLOON_MAX_FRACTION = 0.65;
/**
 * Default fixed balloon rate, pages/s (vmw_balloon's VMW_BALLOON_RATE_ALLOC_MAX, per 1 s cycle).
 * @internal
 */
export const DEFAULT_BALLOON_RATE_PAGES_PER_SECOND = 2048;
/**
 * Default kernel overhead: 64 bytes of page descriptor per 4 KiB page.
 * @internal
 */
export const DEFAULT_KERNEL_OVERHEAD = 1 / 64;

const HOST_KEYS = ["memory", "swap", "seed", "costs", "quantumSeconds", "policies"];
const VM_KEYS = ["name", "memory", "min", "max", "shares", "workload", "balloon", "guest", "contents", "tracing"];
const TRACING_KEYS = ["exclusiveCache"];
const CACHE_KEYS = ["size", "targetMissRatio", "need", "kneeSlopeFraction", "ghosts", "periodSeconds", "decay"];
const BALLOON_KEYS = ["enabled", "maxFraction", "max", "rate", "inflatePagesPerSecond", "deflatePagesPerSecond"];
const GUEST_KEYS = ["swap", "fileBackedFraction", "kernelOverhead"];

/**
 * Reject anything that is not a plain object, and any key not in `allowed`.
 *
 * @internal
 * @example
 * checkObject({ memory: "1 GiB" }, ["memory"], "host");
 */
export function checkObject(value: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MemvirtError("must be an object", { where, value });
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new MemvirtError(`unknown field (valid fields: ${allowed.join(", ")})`, { where: pathJoin(where, key), value: (value as Record<string, unknown>)[key] });
    }
  }
  return value as Record<string, unknown>;
}

/**
 * A positive finite number (rates, periods), named by its path when wrong.
 *
 * @internal
 * @example
 * checkPositive(2048, "vms[0].balloon.inflatePagesPerSecond")
 */
export function checkPositive(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new MemvirtError("must be a positive number", { where, value });
  return value;
}

/**
 * An optional callback: undefined or a function (checked before a run, not when first called).
 *
 * @internal
 * @example
 * checkCallback(options.onProgress, "run.onProgress");
 */
export function checkCallback(value: unknown, where: string, example = "(doneSeconds, totalSeconds) => { ... }"): void {
  if (value !== undefined && typeof value !== "function") {
    throw new MemvirtError(`must be a function, e.g. ${example}`, { where, value });
  }
}

/**
 * A number in [0, 1].
 *
 * @internal
 * @example
 * checkFraction01(0.65, "vms[0].balloon.maxFraction")
 */
export function checkFraction01(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) throw new MemvirtError("must be a number between 0 and 1", { where, value });
  return value;
}

/**
 * Validated host settings.
 * @internal
 */
export interface HostSettings {
  memoryPages: number;
  /** Explicit swap size in pages, or undefined for "auto". */
  swapPages: number | undefined;
  quantumSeconds: number;
}

/**
 * Validate host options (policies, costs and seed are checked by the Host itself).
 *
 * @internal
 * @example
 * resolveHostSettings({ memory: "4 GiB" }) // { memoryPages: 1048576, swapPages: undefined, quantumSeconds: 0.01 }
 */
export function resolveHostSettings(options: HostOptions, where = "host"): HostSettings {
  const o = checkObject(options, HOST_KEYS, where);
  if (o.memory === undefined) throw new MemvirtError("is required (a size such as \"4 GiB\" or a page count)", { where: pathJoin(where, "memory") });
  const memoryPages = parsePages(o.memory, pathJoin(where, "memory"));
  if (memoryPages < 1) throw new MemvirtError("must be at least one page", { where: pathJoin(where, "memory"), value: o.memory });
  if (memoryPages > 2 ** 31 - 1) throw new MemvirtError("must be at most 2^31-1 pages (8 TiB)", { where: pathJoin(where, "memory"), value: o.memory });
  let swapPages: number | undefined;
  if (o.swap !== undefined && o.swap !== "auto") swapPages = parsePages(o.swap, pathJoin(where, "swap"));
  const quantumSeconds = o.quantumSeconds === undefined ? 0.01 : checkPositive(o.quantumSeconds, pathJoin(where, "quantumSeconds"));
  if (quantumSeconds > 10) throw new MemvirtError("must be at most 10 seconds", { where: pathJoin(where, "quantumSeconds"), value: o.quantumSeconds });
  if (o.policies !== undefined && !Array.isArray(o.policies)) throw new MemvirtError("must be an array of policies", { where: pathJoin(where, "policies"), value: o.policies });
  return { memoryPages, swapPages, quantumSeconds };
}

/**
 * Validate one VM's options into settings (sizes in pages). The workload is handled by the host.
 *
 * @internal
 * @example
 * resolveVmSettings({ name: "web", memory: "256 MiB" }, "vms[0]").maxPages // 65536
 */
export function resolveVmSettings(options: VmOptions, where: string): VmSettings {
  const o = checkObject(options, VM_KEYS, where);
  if (typeof o.name !== "string" || o.name.trim() === "") throw new MemvirtError("must be a non-empty string", { where: pathJoin(where, "name"), value: o.name });
  if (o.memory === undefined) throw new MemvirtError("is required (a size such as \"512 MiB\" or a page count)", { where: pathJoin(where, "memory") });
  const memoryPages = parsePages(o.memory, pathJoin(where, "memory"));
  if (memoryPages < 1) throw new MemvirtError("must be at least one page", { where: pathJoin(where, "memory"), value: o.memory });
  if (memoryPages > 2 ** 31 - 1) throw new MemvirtError("must be at most 2^31-1 pages", { where: pathJoin(where, "memory"), value: o.memory });
  const minPages = o.min === undefined ? 0 : parsePages(o.min, pathJoin(where, "min"));
  const maxPages = o.max === undefined ? memoryPages : parsePages(o.max, pathJoin(where, "max"));
  if (maxPages > memoryPages) throw new MemvirtError(`must not exceed the VM's memory (${memoryPages} pages)`, { where: pathJoin(where, "max"), value: o.max });
  if (minPages > maxPages) throw new MemvirtError(`must not exceed max (${maxPages} pages)`, { where: pathJoin(where, "min"), value: o.min });
  const shares = o.shares === undefined ? Math.max(1, Math.round((memoryPages * 10) / 256)) : checkPositive(o.shares, pathJoin(where, "shares"));

  const gw = pathJoin(where, "guest");
  const g = o.guest === undefined ? {} : checkObject(o.guest, GUEST_KEYS, gw);
  const guestSwapPages = g.swap === undefined ? 2 * memoryPages : parsePages(g.swap, pathJoin(gw, "swap"));
  const fileBackedFraction = g.fileBackedFraction === undefined ? 0 : checkFraction01(g.fileBackedFraction, pathJoin(gw, "fileBackedFraction"));
  const kernelOverhead = g.kernelOverhead === undefined ? DEFAULT_KERNEL_OVERHEAD : checkFraction01(g.kernelOverhead, pathJoin(gw, "kernelOverhead"));
  if (kernelOverhead > 0.5) throw new MemvirtError("must be at most 0.5", { where: pathJoin(gw, "kernelOverhead"), value: kernelOverhead });
  const kernelPages = Math.round(kernelOverhead * memoryPages);
  if (maxPages < 1) throw new MemvirtError("must be at least one page", { where: pathJoin(where, "max"), value: o.max });
  if (kernelPages >= maxPages) {
    throw new MemvirtError(`the guest kernel alone wires ${kernelPages} pages, at or above max (${maxPages} pages)`, { where: pathJoin(where, "max"), value: o.max ?? o.memory });
  }

  const bw = pathJoin(where, "balloon");
  let balloon: BalloonSettings;
  if (o.balloon === false) {
    balloon = { enabled: false, maxPages: 0, rate: "adaptive", inflatePagesPerSecond: DEFAULT_BALLOON_RATE_PAGES_PER_SECOND, deflatePagesPerSecond: DEFAULT_BALLOON_RATE_PAGES_PER_SECOND };
  } else {
    const b = o.balloon === undefined || o.balloon === true ? {} : checkObject(o.balloon, BALLOON_KEYS, bw);
    const enabled = b.enabled === undefined ? true : b.enabled;
    if (typeof enabled !== "boolean") throw new MemvirtError("must be true or false", { where: pathJoin(bw, "enabled"), value: b.enabled });
    let maxBalloon: number;
    if (b.max !== undefined) maxBalloon = parsePages(b.max, pathJoin(bw, "max"));
    else maxBalloon = Math.floor((b.maxFraction === undefined ? DEFAULT_BALLOON_MAX_FRACTION : checkFraction01(b.maxFraction, pathJoin(bw, "maxFraction"))) * memoryPages);
    if (maxBalloon > memoryPages - kernelPages) {
      throw new MemvirtError(`must leave room for the guest kernel (at most ${memoryPages - kernelPages} pages)`, { where: pathJoin(bw, b.max !== undefined ? "max" : "maxFraction"), value: b.max ?? b.maxFraction });
    }
    const fixedRateGiven = b.inflatePagesPerSecond !== undefined || b.deflatePagesPerSecond !== undefined;
    const rate = b.rate === undefined ? (fixedRateGiven ? "fixed" : "adaptive") : b.rate;
    if (!(BALLOON_RATE_MODES as readonly unknown[]).includes(rate)) throw new MemvirtError(`must be one of ${BALLOON_RATE_MODES.map((m) => `"${m}"`).join(", ")}`, { where: pathJoin(bw, "rate"), value: b.rate });
    if (rate === "adaptive" && fixedRateGiven) {
      const key = b.inflatePagesPerSecond !== undefined ? "inflatePagesPerSecond" : "deflatePagesPerSecond";
      throw new MemvirtError('applies to "rate": "fixed" only (the adaptive rate follows the driver)', { where: pathJoin(bw, key), value: b[key] });
    }
    balloon = {
      enabled,
      maxPages: enabled ? maxBalloon : 0,
      rate: rate as BalloonRateMode,
      inflatePagesPerSecond: b.inflatePagesPerSecond === undefined ? DEFAULT_BALLOON_RATE_PAGES_PER_SECOND : checkPositive(b.inflatePagesPerSecond, pathJoin(bw, "inflatePagesPerSecond")),
      deflatePagesPerSecond: b.deflatePagesPerSecond === undefined ? DEFAULT_BALLOON_RATE_PAGES_PER_SECOND : checkPositive(b.deflatePagesPerSecond, pathJoin(bw, "deflatePagesPerSecond")),
    };
  }
  const cache = o.tracing === undefined ? undefined : resolveTracing(o.tracing, pathJoin(where, "tracing"));
  return {
    name: o.name,
    memoryPages,
    minPages,
    maxPages,
    shares,
    balloon,
    guest: { memoryPages, swapPages: guestSwapPages, fileBackedFraction, kernelPages, where },
    ...(cache ? { cache } : {}),
  };
}

/**
 * Validate a VM's `tracing` options; returns the exclusive cache's settings (undefined: none).
 *
 * @internal
 * @example
 * resolveTracing({ exclusiveCache: { size: "64 MiB" } }, "vms[0].tracing")!.capacityPages // 16384
 */
export function resolveTracing(value: unknown, where: string): ExclusiveCacheSettings | undefined {
  const t = checkObject(value, TRACING_KEYS, where);
  if (t.exclusiveCache === undefined) return undefined;
  const cw = pathJoin(where, "exclusiveCache");
  const c = checkObject(t.exclusiveCache, CACHE_KEYS, cw);
  if (c.size === undefined) throw new MemvirtError("is required (the cache's capacity, e.g. \"64 MiB\")", { where: pathJoin(cw, "size") });
  const capacityPages = parsePages(c.size, pathJoin(cw, "size"));
  const d = EXCLUSIVE_CACHE_DEFAULTS;
  const open01 = (v: unknown, key: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v >= 1) throw new MemvirtError("must be a number strictly between 0 and 1", { where: pathJoin(cw, key), value: v });
    return v;
  };
  const need = c.need === undefined ? d.need : c.need;
  if (need !== "target" && need !== "knee") throw new MemvirtError('must be "target" (the smallest size meeting targetMissRatio) or "knee"', { where: pathJoin(cw, "need"), value: c.need });
  if (need === "knee" && c.targetMissRatio !== undefined) throw new MemvirtError('applies to "need": "target" only', { where: pathJoin(cw, "targetMissRatio"), value: c.targetMissRatio });
  let decay: number = d.decay;
  if (c.decay !== undefined) {
    if (typeof c.decay !== "number" || !Number.isFinite(c.decay) || c.decay <= 0 || c.decay > 1) throw new MemvirtError("must be a number in (0, 1] (1: never forget)", { where: pathJoin(cw, "decay"), value: c.decay });
    decay = c.decay;
  }
  return {
    capacityPages,
    targetMissRatio: open01(c.targetMissRatio, "targetMissRatio", d.targetMissRatio),
    need,
    kneeSlopeFraction: open01(c.kneeSlopeFraction, "kneeSlopeFraction", d.kneeSlopeFraction),
    ghostPages: c.ghosts === undefined ? capacityPages : parsePages(c.ghosts, pathJoin(cw, "ghosts")),
    periodSeconds: c.periodSeconds === undefined ? d.periodSeconds : checkPositive(c.periodSeconds, pathJoin(cw, "periodSeconds")),
    decay,
    where: cw,
  };
}

/**
 * The quantum a point in time falls to: actions and events run at the start of the quantum
 * nearest their time (`at` rounds; a time in the last half of a quantum belongs to the next).
 *
 * @internal
 * @example
 * quantumIndex(0.996, 0.01) // 100: it runs at the start of the quantum at 1 s
 */
export function quantumIndex(atSeconds: number, quantumSeconds: number): number {
  return Math.round(atSeconds / quantumSeconds);
}

/**
 * The number of host quanta in `seconds`, which must be a whole number of them.
 *
 * @internal
 * @example
 * wholeQuanta(1, 0.01, "run.seconds") // 100
 */
export function wholeQuanta(seconds: number, quantumSeconds: number, where: string): number {
  const steps = Math.round(seconds / quantumSeconds);
  if (steps < 1 || Math.abs(steps * quantumSeconds - seconds) > 1e-9 * Math.max(1, seconds)) {
    throw new MemvirtError(`must be a whole number of host quanta (${quantumSeconds} s)`, { where, value: seconds });
  }
  return steps;
}
