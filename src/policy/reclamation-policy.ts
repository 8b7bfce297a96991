/**
 * ESX-style memory reclamation: every period, classify free memory (high/soft/hard/low), decide
 * how much to reclaim and from whom, and act through the host's narrow control interface.
 *
 *   free memory ──▶ state ──▶ need = high·M − free − (balloon inflation already in flight)
 *                               │
 *                  planReclaim (lowest ρ = shares / pages first, never below min)
 *                               │
 *        SOFT+: balloon targets += share        HARD+: swap random pages up to high·M
 *        (swap only what balloons cannot take)  LOW: block VMs above their target
 *
 * Every state aims at the high threshold, the paging of the hard state included: in Waldspurger
 * (OSDI 2002, §6.3 "Dynamic Reallocation") the targets of every reclamation state are computed to
 * bring free memory back above the high threshold, and the hard state reaches them by paging.
 *
 * Limits: a VM with max < memory is ballooned down to memory − max in every state, so its guest
 * decides what to give up; without a driver, the host enforces the limit by random swapping.
 * In the high state, balloons deflate (above their limit floor) while free memory stays above
 * high + (high − soft), returning memory first to the VMs with the most shares per page.
 *
 * Parameters are plain data; the policy holds no per-page state.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { HostControl, HostPolicy, VmView } from "../host/host-policy";
import {
  classifyFreeMemory, FREE_MEMORY_STATE_NAMES, FreeMemoryState, FreeMemoryThresholds, HARD, HIGH, LOW, resolveThresholds,
} from "./free-memory-state";
import { planReclaim } from "./reclaim-plan";
import { activeFractionOf, AllocationParams, resolveAllocation } from "./idle-tax";
import { idleCostFactor, sharesPerPage } from "./shares-per-page";

/** Parameters of the reclamation policy (all optional; JSON-able). */
export interface ReclamationParams {
  /** Seconds between decisions (default 1). */
  periodSeconds?: number;
  /** Free-memory thresholds as fractions (default 6/4/2/1%). */
  thresholds?: Partial<FreeMemoryThresholds>;
  /** Use balloon drivers (default true). False: reclaim by host swapping only. */
  balloon?: boolean;
  /** Use host swapping in the hard and low states (default true). */
  swap?: boolean;
  /** Block VMs above their target in the low state (default true). */
  block?: boolean;
  /** Deflate balloons when free memory is plentiful (default true). */
  deflate?: boolean;
  /**
   * Share-based allocation with an idle memory tax (idle-tax.ts): `{ taxRate }`, default 0.75.
   * Without it, plain proportional share (the same as a tax rate of 0).
   */
  allocation?: AllocationParams;
}

const KEYS = ["periodSeconds", "thresholds", "balloon", "swap", "block", "deflate", "allocation"];

/**
 * The reclamation policy.
 *
 * @example
 * const host = new Host({ memory: "1 GiB", policies: [new ReclamationPolicy({ balloon: true })] });
 */
export class ReclamationPolicy implements HostPolicy {
  readonly name = "reclamation";
  readonly periodSeconds: number;
  readonly thresholds: FreeMemoryThresholds;
  readonly useBalloon: boolean;
  readonly useSwap: boolean;
  readonly useBlock: boolean;
  readonly useDeflate: boolean;
  /** The idle memory tax rate τ (0: plain proportional share). */
  readonly taxRate: number;
  /** The current state. */
  state: FreeMemoryState = HIGH;
  /** Each VM's allocation target in pages (persists between ticks; starts at the VM's max). */
  readonly targets: number[] = [];

  constructor(params: ReclamationParams = {}, where = "reclamation") {
    if (typeof params !== "object" || params === null || Array.isArray(params)) throw new MemvirtError("must be an object", { where, value: params });
    for (const key of Object.keys(params)) {
      if (!KEYS.includes(key)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, key), value: (params as Record<string, unknown>)[key] });
    }
    const p = params.periodSeconds ?? 1;
    if (typeof p !== "number" || !Number.isFinite(p) || p <= 0) throw new MemvirtError("must be a positive number of seconds", { where: pathJoin(where, "periodSeconds"), value: p });
    this.periodSeconds = p;
    this.thresholds = resolveThresholds(params.thresholds, pathJoin(where, "thresholds"));
    this.useBalloon = bool(params.balloon, true, pathJoin(where, "balloon"));
    this.useSwap = bool(params.swap, true, pathJoin(where, "swap"));
    this.useBlock = bool(params.block, true, pathJoin(where, "block"));
    this.useDeflate = bool(params.deflate, true, pathJoin(where, "deflate"));
    this.taxRate = params.allocation === undefined ? 0 : resolveAllocation(params.allocation, pathJoin(where, "allocation")).taxRate;
  }

  describe(): string {
    const t = this.thresholds;
    const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
    const how = [this.useBalloon ? "balloons in soft" : "no ballooning", this.useSwap ? "swaps random pages in hard (up to the high threshold)" : "no swapping", this.useBlock ? "blocks VMs above target in low" : "no blocking"];
    const whom = this.taxRate === 0
      ? "reclaims from the VM with the fewest shares per page first"
      : `reclaims from the VM with the lowest ρ = S / (P·(f + k(1 − f))) first: an idle memory tax of ${+(this.taxRate * 100).toFixed(2)}% (an idle page costs k = ${+(1 / (1 - this.taxRate)).toFixed(3)} active ones; f from each VM's working-set estimate, 1 without one)`;
    return `thresholds high ${pct(t.high)}, soft ${pct(t.soft)}, hard ${pct(t.hard)}, low ${pct(t.low)}; ${how.join(", ")}; ${whom}`;
  }

  /**
   * The cost factor of a VM's pages when comparing ρ (1: plain proportional share). A subclass
   * (the idle memory tax) returns f + k(1 − f) from an estimate of the VM's active fraction f.
   *
   * @example
   * class Taxed extends ReclamationPolicy { protected costFactor(vm: VmView) { return 1 + 3 * idle(vm); } }
   */
  protected costFactor(vm: VmView): number {
    return this.taxRate === 0 ? 1 : idleCostFactor(activeFractionOf(vm), this.taxRate);
  }

  tick(host: HostControl): void {
    const M = host.machinePages;
    const t = this.thresholds;
    const free = host.freePages;
    this.state = classifyFreeMemory(free / M, this.state, t);
    host.reportState(FREE_MEMORY_STATE_NAMES[this.state]);
    const highFrames = Math.ceil(t.high * M);
    const softFrames = Math.ceil(t.soft * M);
    const vms = host.vms;
    const n = vms.length;
    const pressure = this.state !== HIGH;

    // Targets persist between ticks: they fall under pressure and rise again when memory is free.
    while (this.targets.length < n) this.targets.push(vms[this.targets.length].maxPages);
    const T = this.targets;
    for (let i = 0; i < n; i++) if (T[i] > vms[i].maxPages) T[i] = vms[i].maxPages;

    const balloonOn = vms.map((v) => this.useBalloon && v.balloonMaxPages > 0);
    // What the target caps. With a balloon: the VM's footprint, the pages it holds a frame or a
    // swap slot for; balloon = memory − target enforces it. Without one: its frames, which only
    // host swapping can take (swapping moves a page from frame to slot, so a footprint target
    // would never be met, and pages already swapped would pass for reclamation in flight).
    const footprint = vms.map((v, i) => v.residentPages + (balloonOn[i] ? v.hostSwappedPages : 0));

    if (pressure) {
      // Bring free memory back to the high threshold: lower the targets of the lowest-ρ VMs,
      // beyond what VMs already above their targets will give up anyway.
      const inFlight = vms.reduce((a, _v, i) => a + Math.max(0, footprint[i] - T[i]), 0);
      const need = Math.max(0, highFrames - free - inFlight);
      const base = footprint.map((f, i) => Math.min(f, T[i]));
      const reclaim = planReclaim(vms.map((v, i) => ({ allocatedPages: base[i], minPages: v.minPages, shares: v.shares, costFactor: this.costFactor(v) })), need);
      for (let i = 0; i < n; i++) if (reclaim[i] > 0) T[i] = base[i] - reclaim[i];
      if (this.taxRate > 0) this.noteTaxedReclaim(host, reclaim, base);
    } else if (this.useDeflate) {
      // Plenty free (beyond high + one band): raise targets, most shares per page first.
      let surplus = free - highFrames - (highFrames - softFrames);
      const rho = vms.map((v, i) => v.shares / (Math.max(1, T[i]) * this.costFactor(v)));
      const order = vms.map((_, i) => i).sort((a, b) => rho[b] - rho[a] || a - b);
      for (const i of order) {
        if (surplus <= 0) break;
        const give = Math.min(surplus, vms[i].maxPages - T[i]);
        if (give > 0) {
          T[i] += give;
          surplus -= give;
        }
      }
    }

    // "Above target" is judged before this tick's swap-outs: they complete at once here, where in
    // ESX they are disk writes still in flight, so judging after them would never block a VM.
    const residentBefore = vms.map((v) => v.residentPages);
    const swapPlan = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      const v = vms[i];
      if (balloonOn[i]) {
        // memory − target leaves the guest exactly `target` pages (its kernel included); with no
        // pressure this is memory − max, the limit floor.
        let want = Math.max(0, v.memoryPages - T[i]);
        if (pressure) want = Math.max(want, v.balloonTargetPages); // never deflate under pressure
        const kept = host.setBalloonTarget(i, want);
        // Whatever the balloon cannot take (it is at its cap) falls to swapping.
        if (pressure && want > kept) swapPlan[i] = Math.min(want - kept, Math.max(0, v.residentPages - T[i]));
      } else if (pressure || v.residentPages > v.maxPages) {
        swapPlan[i] = Math.max(0, v.residentPages - T[i]);
      }
    }

    if (this.useSwap) {
      // Hard and low: page out enough, at random, to climb back to the high threshold (§6.3).
      if (this.state >= HARD) {
        const swapNeed = Math.max(0, highFrames - free);
        let weights = vms.map((v, i) => Math.max(0, v.residentPages - T[i]));
        if (weights.every((w) => w === 0)) weights = vms.map((v) => Math.max(0, v.residentPages - v.minPages));
        const total = weights.reduce((a, b) => a + b, 0);
        if (total > 0) {
          for (let i = 0; i < n; i++) swapPlan[i] = Math.max(swapPlan[i], Math.ceil((swapNeed * weights[i]) / total));
        }
      }
      for (let i = 0; i < n; i++) {
        const pages = Math.min(swapPlan[i], Math.max(0, vms[i].residentPages - vms[i].minPages));
        if (pages > 0) host.swapOut(i, pages);
      }
    }

    for (let i = 0; i < n; i++) {
      host.setTarget(i, T[i]);
      const block = this.useBlock && this.state === LOW && residentBefore[i] > T[i];
      if (block !== vms[i].blocked) host.setBlocked(i, block);
    }
  }

  private lastTaxNote = "";

  /** Narrate who gives memory up under the tax, when that changes (explain() lists it). */
  private noteTaxedReclaim(host: HostControl, reclaim: number[], base: number[]): void {
    const takenFrom = host.vms.filter((_v, i) => reclaim[i] > 0).map((v) => v.name);
    if (takenFrom.length === 0) return;
    const key = takenFrom.join(",");
    if (key === this.lastTaxNote) return;
    this.lastTaxNote = key;
    const parts = host.vms.map((v, i) => {
      const f = activeFractionOf(v);
      const rho = sharesPerPage({ shares: v.shares, pages: Math.max(1, base[i]), activeFraction: f, taxRate: this.taxRate });
      return `${v.name} ρ = ${rho.toPrecision(3)} (${(f * 100).toFixed(0)}% active${v.estimatedActivePages === null || v.estimatedActivePages === undefined ? ", no estimate" : ""})`;
    });
    host.note(`idle memory tax: reclaiming from ${takenFrom.join(", ")}, the lowest ρ: ${parts.join("; ")}`);
  }
}

function bool(value: unknown, fallback: boolean, where: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new MemvirtError("must be true or false", { where, value });
  return value;
}
