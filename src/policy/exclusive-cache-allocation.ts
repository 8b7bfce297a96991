/**
 * Adaptive allocation of exclusive-cache memory across VMs, driven by the hypervisor's
 * miss-ratio curves (Lu & Shen, USENIX ATC 2007, §4: memory allocation from the curves).
 *
 *   every periodSeconds:
 *     want(vm) = need − v     from the tracer's estimate ("at most v": 0; "more than": the tracked
 *                             range up to where its curve stops falling; no estimate yet: keep
 *                             the current capacity)
 *     pool     = min(budget, free machine pages + pages the caches hold now)
 *     Σ want ≤ pool  → each VM gets its want
 *     otherwise      → greedy in chunks: the next chunk goes to the VM whose misses (over the
 *                      tracer's window) drop most with it, until the pool or every want is used
 *
 * Invariants: Σ capacities ≤ budget, and never more than the machine could back; no randomness,
 * so the same seed gives the same allocation; ties go to the VM added first.
 */
import { inspect } from "node:util";
import { MemvirtError, pathJoin } from "../util/errors";
import { countOf } from "../util/plural";
import { formatBytes, formatCount, PAGE_SIZE_BYTES, parsePages } from "../util/units";
import { checkObject, checkPositive } from "../host/host-config";
import type { CacheTracerView, HostControl, HostPolicy } from "../host/host-policy";
import type { Size } from "../workloads/validate";

/** Options of the adaptive allocation (`cacheAllocation` in an experiment file). */
export interface CacheAllocationOptions {
  /** Cache pages to share across the VMs with exclusive caches: a size ("128 MiB") or pages. */
  budget: Size;
  /** Seconds between reallocations (default 5). */
  periodSeconds?: number;
  /** Pages handed out per greedy step when the budget is short (default: budget / 64, at least 1). */
  chunk?: Size;
}

const KEYS = ["budget", "periodSeconds", "chunk"];

/** One allocation decision, kept for tests and notebooks. */
export interface CacheAllocationDecision {
  t: number;
  /** Capacity given to each traced VM, by VM name. */
  capacities: Record<string, number>;
  /** What each asked for (need − v), by VM name. */
  wants: Record<string, number>;
  /** Pages there were to share. */
  poolPages: number;
  /** Whether the pool was short and the greedy split by marginal benefit decided. */
  short: boolean;
}

/**
 * Sets each traced VM's exclusive-cache capacity from its estimated need, every period.
 *
 * @example
 * const host = new Host({ memory: "2 GiB", policies: [new ExclusiveCacheAllocation({ budget: "128 MiB", periodSeconds: 5 })] });
 * host.addVm({ name: "web", memory: "256 MiB", workload, tracing: { exclusiveCache: { size: "64 MiB" } } });
 */
export class ExclusiveCacheAllocation implements HostPolicy {
  readonly name = "exclusive-cache allocation";
  readonly periodSeconds: number;
  readonly budgetPages: number;
  readonly chunkPages: number;
  /** Every decision made, in order. */
  readonly decisions: CacheAllocationDecision[] = [];
  private warned = false;

  constructor(options: CacheAllocationOptions, where = "cacheAllocation") {
    const o = checkObject(options, KEYS, where);
    if (o.budget === undefined) throw new MemvirtError("is required (cache pages to share, e.g. \"128 MiB\")", { where: pathJoin(where, "budget") });
    this.budgetPages = parsePages(o.budget, pathJoin(where, "budget"));
    // A budget of 0 would empty every cache at the first tick, leaving the tracers only their ghosts.
    if (this.budgetPages < 1) throw new MemvirtError("must be at least one page (0 would empty every exclusive cache)", { where: pathJoin(where, "budget"), value: o.budget });
    this.periodSeconds = o.periodSeconds === undefined ? 5 : checkPositive(o.periodSeconds, pathJoin(where, "periodSeconds"));
    this.chunkPages = o.chunk === undefined ? Math.max(1, Math.round(this.budgetPages / 64)) : parsePages(o.chunk, pathJoin(where, "chunk"));
    if (this.chunkPages < 1) throw new MemvirtError("must be at least one page", { where: pathJoin(where, "chunk"), value: o.chunk });
  }

  /** One sentence on the settings, for explain(). */
  describe(): string {
    return `a budget of ${pages(this.budgetPages)} of cache shared by estimated need (need − v each), split by marginal benefit in chunks of ${formatCount(this.chunkPages)} pages when short`;
  }

  /**
   * What a bare allocation prints in a notebook: its settings and last decision, not every one.
   *
   * @example
   * console.log(allocation); // ExclusiveCacheAllocation: a budget of 1,024 pages ...
   */
  [inspect.custom](): string {
    const last = this.decisions[this.decisions.length - 1];
    const lastText = last
      ? `last at t = ${+last.t.toFixed(6)} s: ${Object.entries(last.capacities).map(([name, c]) => `${name} ${formatCount(c)}`).join(", ")} pages of a ${pages(last.poolPages)} pool`
      : "no decision yet";
    return `ExclusiveCacheAllocation: ${this.describe()}, every ${this.periodSeconds} s;\n  ${countOf(this.decisions.length, "decision")} (.decisions), ${lastText}`;
  }

  /** Called by the host every period. */
  tick(host: HostControl): void {
    const tracer = host.cacheTracer;
    const traced = host.vms.filter((v) => v.cacheCapacityPages !== null && v.cacheCapacityPages !== undefined && tracer?.traces(v.index));
    if (!tracer || traced.length === 0 || !host.setCacheCapacity) {
      if (!this.warned) host.note("exclusive-cache allocation: no VM has tracing.exclusiveCache, so there is nothing to allocate");
      this.warned = true;
      return;
    }
    const held = traced.reduce((a, v) => a + (v.cachePages ?? 0), 0);
    const pool = Math.min(this.budgetPages, host.freePages + held);
    const wants = traced.map((v) => {
      const e = tracer.estimate(v.index);
      if (e === null) return Math.min(v.cacheCapacityPages ?? 0, pool);
      const need = e.bound === "more-than" ? usefulEnd(tracer, v.index, e.needPages) : e.needPages;
      return Math.max(0, need - e.directPages);
    });
    const totalWant = wants.reduce((a, b) => a + b, 0);
    const alloc = wants.map(() => 0);
    const short = totalWant > pool;
    if (!short) {
      wants.forEach((w, i) => { alloc[i] = w; });
    } else {
      let left = pool;
      while (left > 0) {
        let best = -1;
        let bestGain = 0;
        let bestStep = 0;
        traced.forEach((v, i) => {
          const step = Math.min(this.chunkPages, wants[i] - alloc[i], left);
          if (step <= 0) return;
          const base = (v.directPages ?? v.memoryPages) + alloc[i];
          const gain = tracer.missesAt(v.index, base) - tracer.missesAt(v.index, Math.min(base + step, tracer.maxSizePages(v.index)));
          if (gain > bestGain) {
            best = i;
            bestGain = gain;
            bestStep = step;
          }
        });
        if (best < 0) break; // no chunk saves a miss: keep the rest free
        alloc[best] += bestStep;
        left -= bestStep;
      }
    }
    const changed = traced.some((v, i) => v.cacheCapacityPages !== alloc[i]);
    traced.forEach((v, i) => host.setCacheCapacity!(v.index, alloc[i]));
    const capacities: Record<string, number> = {};
    const wantsByName: Record<string, number> = {};
    traced.forEach((v, i) => { capacities[v.name] = alloc[i]; wantsByName[v.name] = wants[i]; });
    this.decisions.push({ t: host.nowSeconds, capacities, wants: wantsByName, poolPages: pool, short });
    if (changed) {
      const parts = traced.map((v, i) => `${v.name} ${formatCount(alloc[i])}${alloc[i] !== wants[i] ? ` of ${formatCount(wants[i])} wanted` : ""}`).join(", ");
      host.note(`exclusive caches set from the estimated needs (${short ? `the ${pages(pool)} pool is short, so chunks went where they save the most misses` : `the ${pages(pool)} pool covers every need`}): ${parts} pages`);
    }
  }
}

/**
 * Build the allocation policy from an experiment file's `cacheAllocation`.
 *
 * @example
 * createCacheAllocation({ budget: "128 MiB", periodSeconds: 5 }, "cacheAllocation")
 */
export function createCacheAllocation(options: unknown, where = "cacheAllocation"): ExclusiveCacheAllocation {
  return new ExclusiveCacheAllocation(options as CacheAllocationOptions, where);
}

/**
 * Past the target (a "more-than" estimate), memory helps only up to where the curve stops
 * falling: the smallest size with the misses of the tracked range's end. Misses of unknown
 * depth (first reads) count at every size, so a VM whose misses are all of them wants nothing.
 */
function usefulEnd(tracer: CacheTracerView, vm: number, endPages: number): number {
  const floor = tracer.missesAt(vm, endPages);
  let lo = 0;
  let hi = endPages;
  // missesAt clamps sizes below the curve's start to it, and misses fall with size.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tracer.missesAt(vm, mid) <= floor) hi = mid;
    else lo = mid;
  }
  return tracer.missesAt(vm, lo) <= floor ? lo : hi;
}

function pages(n: number): string {
  return `${formatCount(n)} pages (${formatBytes(n * PAGE_SIZE_BYTES)})`;
}
