/**
 * The balloon driver inside a guest (VMware's vmmemctl): it inflates toward a target the host
 * sets by allocating guest pages and pinning them, and deflates by giving them back.
 *
 *   host sets target ──▶ driver.step(dt) ──inflate──▶ guest.allocatePage()  (free page, or the
 *                                                       guest's own CLOCK evicts one)
 *                                          pin it ──▶ port.balloonPage(p)   (host frees the frame)
 *
 * Two ways to pace it (`rate`):
 *
 * - "adaptive" (the default) follows the rate adaptation of Linux's VMware balloon driver,
 *   drivers/misc/vmw_balloon.c as of MODULE_VERSION "1.2.1.3-k" (Linux 3.x–4.17; the 2018
 *   rework for 4.19 dropped the sleeping allocations and these constants). Its worker runs one
 *   cycle, then re-queues itself a second (HZ) later, and in each cycle:
 *
 *     inflate  allocate without sleeping (free guest pages only), up to
 *              VMW_BALLOON_NOSLEEP_ALLOC_MAX = 16,384 pages a cycle;
 *              when such an allocation fails (no free page: the guest would have to reclaim):
 *                slow_allocation_cycles = VMW_BALLOON_SLOW_CYCLES (4), and go on with
 *                sleeping allocations (the guest pages out, its own choice) up to rate_alloc
 *                pages in this cycle, counting those already taken;
 *              while slow_allocation_cycles > 0 (decremented at the start of every cycle, so the
 *                next 3 cycles) a cycle takes at most rate_alloc pages, free ones included;
 *              rate_alloc starts at VMW_BALLOON_RATE_ALLOC_MAX = 2,048; a failed sleeping
 *                allocation halves it (floor VMW_BALLOON_RATE_ALLOC_MIN = 512) and ends the
 *                cycle; a cycle without error that took i ≥ rate_alloc pages raises it by
 *                (i / rate_alloc) × VMW_BALLOON_RATE_ALLOC_INC (16), capped at 2,048.
 *     deflate  free up to rate_free pages a cycle: VMW_BALLOON_RATE_FREE_MAX = 16,384 to start,
 *              +VMW_BALLOON_RATE_FREE_INC (16) per cycle, halved (floor 512) when the host
 *              refuses an unlock; our host never refuses, so it stays at 16,384.
 *
 *   The goal of a cycle is target − size when it starts, as the driver reads the target once per
 *   cycle (GET_TARGET). The C loop lets one page past its rate check; we take exactly the rate.
 *   The lab's guest has no watermarks, so "free" means any page on its free list, and a
 *   sleeping allocation never fails: it pages out or the guest is out of memory, which the lab
 *   reports as an error, as Linux would invoke its OOM killer. (A guest whose allocatePage
 *   returns −1 exercises the halving: the tests' scripted guests do.)
 * - "fixed" moves at most `inflatePagesPerSecond` / `deflatePagesPerSecond` pages per second,
 *   spread evenly over quanta (fractions carry over), whatever the guest's free memory.
 *
 * Invariants:
 * - 0 ≤ sizePages ≤ maxPages, and targetPages is clamped into the same range: the balloon
 *   never exceeds its maximum however far the host asks.
 * - Pinned pages are off the guest's free list and invisible to its CLOCK, so the guest never
 *   touches them; which pages the guest gives up is decided by the guest's own policy.
 * - Page-outs the driver causes advance the driver's own clock, not the workload's: a balloon
 *   that must evict inflates slowly without stalling the guest's work.
 */
import { GuestPort } from "./guest-os";
import { G_PINNED } from "./page-state";
import { formatCount } from "../util/units";

/** How the driver paces inflation and deflation. */
export type BalloonRateMode = "adaptive" | "fixed";

/**
 * The valid `rate` values.
 * @internal
 */
export const BALLOON_RATE_MODES: readonly BalloonRateMode[] = ["adaptive", "fixed"];

/**
 * Balloon driver settings, already validated.
 * @internal
 */
export interface BalloonSettings {
  /** False when no driver is installed: the host can then only swap. */
  enabled: boolean;
  /** The cap on the balloon in pages (ESX's default is 65% of configured memory). */
  maxPages: number;
  /** "adaptive": vmw_balloon's rate adaptation; "fixed": the two rates below. */
  rate: BalloonRateMode;
  /** Inflation rate limit in pages per simulated second ("fixed" only). */
  inflatePagesPerSecond: number;
  /** Deflation rate limit in pages per simulated second ("fixed" only). */
  deflatePagesPerSecond: number;
}

/**
 * The constants of Linux's vmw_balloon.c (1.2.1.3-k) that the adaptive rate uses, in pages per
 * cycle; the worker runs one cycle a second.
 * @internal
 */
export const VMW_BALLOON_RATES = Object.freeze({
  /** VMW_BALLOON_NOSLEEP_ALLOC_MAX: pages a cycle may take from free memory. */
  noSleepAllocMaxPages: 16384,
  /** VMW_BALLOON_RATE_ALLOC_MIN / _MAX / _INC: the sleeping-allocation rate and its steps. */
  rateAllocMinPages: 512,
  rateAllocMaxPages: 2048,
  rateAllocIncPages: 16,
  /** VMW_BALLOON_RATE_FREE_MIN / _MAX / _INC: the deflation rate and its steps. */
  rateFreeMinPages: 512,
  rateFreeMaxPages: 16384,
  rateFreeIncPages: 16,
  /** VMW_BALLOON_SLOW_CYCLES: set when a no-sleep allocation fails. */
  slowCycles: 4,
  /** The worker's period: `queue_delayed_work(..., round_jiffies_relative(HZ))`. */
  cycleSeconds: 1,
});

/**
 * What the driver needs from its guest (GuestOs has it; tests script it).
 * @internal
 */
export interface BalloonGuest {
  /** Pages on the guest's free list: what an allocation without sleeping can take. */
  readonly freePages: number;
  readonly flags: Uint8Array;
  /** A page for the driver: a free one, else one the guest evicts; −1 if that fails. */
  allocatePage(): number;
  releasePage(ppn: number): void;
  /** Simulated time the last allocation spent paging out (ns). */
  takePendingNs(): number;
}

/**
 * What the driver needs from the hypervisor.
 * @internal
 */
export type BalloonPort = Pick<GuestPort, "balloonPage" | "unballoonPage">;

const NOT_IN_CYCLE = 0;
const INFLATING = 1;
const DEFLATING = 2;

/**
 * One guest's balloon driver.
 *
 * @internal
 * @example
 * const balloon = new BalloonDriver(settings, guest, port);
 * balloon.setTarget(1000);
 * balloon.step(0.5); // one driver cycle: up to 16,384 free pages, or 2,048 if the guest must page
 */
export class BalloonDriver {
  readonly settings: BalloonSettings;
  /** Pages currently pinned in the balloon. */
  sizePages = 0;
  /** Where the host wants the balloon (already clamped to [0, maxPages]). */
  targetPages = 0;
  /** The driver thread's clock (ns): it runs ahead while waiting for page-outs. */
  timeNs = 0;
  /** Pages inflated and deflated so far. */
  inflated = 0;
  deflated = 0;
  /** Adaptive: the sleeping-allocation rate (rate_alloc), pages per cycle. */
  rateAllocPages: number = VMW_BALLOON_RATES.rateAllocMaxPages;
  /** Adaptive: the deflation rate (rate_free), pages per cycle. */
  rateFreePages: number = VMW_BALLOON_RATES.rateFreeMaxPages;
  /** Adaptive: cycles left at the slow rate (slow_allocation_cycles). */
  slowCycles = 0;
  /** Adaptive: worker cycles run so far. */
  cycles = 0;
  /** Adaptive: allocations without sleeping (free pages), with sleeping, and failed ones of each. */
  noSleepAllocations = 0;
  noSleepFailures = 0;
  sleepAllocations = 0;
  sleepFailures = 0;
  private pinned: Int32Array;
  private credit = 0;
  private readonly guest: BalloonGuest;
  private readonly port: BalloonPort;
  /** End of the last step (ns), for steps given without an end time. */
  private clockNs = 0;
  // The cycle in progress (adaptive).
  private phase = NOT_IN_CYCLE;
  private nextWakeNs = 0;
  private cycleGoal = 0;
  private cycleBudget = 0;
  private cycleMoved = 0;
  private canSleep = false;

  constructor(settings: BalloonSettings, guest: BalloonGuest, port: BalloonPort) {
    this.settings = settings;
    this.guest = guest;
    this.port = port;
    // Grown on demand (doubling), so a balloon that never inflates costs nothing per page.
    this.pinned = new Int32Array(Math.min(1024, settings.enabled ? settings.maxPages : 0));
  }

  /** The largest balloon this driver allows (0 when disabled). */
  get maxPages(): number {
    return this.settings.enabled ? this.settings.maxPages : 0;
  }

  /**
   * Ask for a balloon of `pages`; the request is clamped to [0, maxPages]. Returns the target kept.
   *
   * @example
   * balloon.setTarget(1e9) // === balloon.maxPages
   */
  setTarget(pages: number): number {
    const max = this.maxPages;
    this.targetPages = pages < 0 || !(pages === pages) ? 0 : pages > max ? max : Math.floor(pages);
    return this.targetPages;
  }

  /**
   * How the driver paces itself, in words (for a run's explanation).
   *
   * @example
   * balloon.describeRate() // "adaptive rate (vmw_balloon): up to 16,384 pages/s from free guest memory, 2,048 when the guest must page out"
   */
  describeRate(): string {
    const s = this.settings;
    if (s.rate === "fixed") return `a fixed rate: ${formatCount(s.inflatePagesPerSecond)} pages/s in, ${formatCount(s.deflatePagesPerSecond)} out`;
    const r = VMW_BALLOON_RATES;
    return `adaptive rate (vmw_balloon): up to ${formatCount(r.noSleepAllocMaxPages)} pages/s from free guest memory, ${formatCount(r.rateAllocMaxPages)} when the guest must page out`;
  }

  /**
   * Move toward the target during the quantum of `dtSeconds` that ends at `untilNs` (or, without
   * it, right after the previous step). Returns the pages moved (positive inflating, negative
   * deflating).
   *
   * The driver is a guest thread with its own clock: an inflation that makes the guest page
   * something out waits for that I/O (a double-paged page waits for the host's swap-in too),
   * so a balloon that must evict slowly inflates slowly, without stalling the workload itself.
   *
   * @example
   * balloon.step(0.01, 10e6);
   */
  step(dtSeconds: number, untilNs = Infinity): number {
    const endNs = untilNs === Infinity ? this.clockNs + dtSeconds * 1e9 : untilNs;
    const startNs = endNs - dtSeconds * 1e9;
    this.clockNs = endNs;
    if (this.settings.rate === "fixed") return this.stepFixed(dtSeconds, startNs, untilNs);
    return this.stepAdaptive(startNs, endNs, untilNs !== Infinity);
  }

  private stepFixed(dtSeconds: number, startNs: number, untilNs: number): number {
    const gap = this.targetPages - this.sizePages;
    if (gap === 0) {
      this.credit = 0;
      return 0;
    }
    if (untilNs !== Infinity && this.timeNs < startNs) this.timeNs = startNs;
    const rate = gap > 0 ? this.settings.inflatePagesPerSecond : this.settings.deflatePagesPerSecond;
    // Credit accrues with time but is capped at one second's worth: no bursts after a stall.
    this.credit = Math.min(this.credit + rate * dtSeconds, Math.max(1, rate));
    const want = gap > 0 ? gap : -gap;
    let moved = 0;
    while (moved < want && this.credit >= 1 && this.timeNs < untilNs) {
      if (gap > 0) {
        const p = this.guest.allocatePage();
        if (p < 0) break;
        this.pin(p);
      } else this.deflateOne();
      this.credit -= 1;
      moved++;
    }
    if (moved === want) this.credit = 0;
    return gap > 0 ? moved : -moved;
  }

  /** Run the worker's cycles that fall in [startNs, endNs); with `bounded`, page-outs end at endNs. */
  private stepAdaptive(startNs: number, endNs: number, bounded: boolean): number {
    if (this.timeNs < startNs) this.timeNs = startNs;
    let net = 0;
    for (;;) {
      if (this.phase === NOT_IN_CYCLE) {
        const wakeNs = Math.max(this.nextWakeNs, this.timeNs);
        if (wakeNs >= endNs) break;
        this.timeNs = wakeNs;
        this.openCycle();
      }
      while (this.phase !== NOT_IN_CYCLE && (!bounded || this.timeNs < endNs)) {
        net += this.phase === INFLATING ? this.inflateStep() : this.deflateStep();
      }
      if (this.phase !== NOT_IN_CYCLE) break; // still paging when the quantum ends
    }
    return net;
  }

  /** vmballoon_work: count down the slow cycles, read the target, choose a direction. */
  private openCycle(): void {
    const r = VMW_BALLOON_RATES;
    this.cycles++;
    if (this.slowCycles > 0) this.slowCycles--;
    this.cycleMoved = 0;
    if (this.sizePages < this.targetPages) {
      this.phase = INFLATING;
      this.cycleGoal = this.targetPages - this.sizePages;
      this.cycleBudget = this.slowCycles > 0 ? this.rateAllocPages : r.noSleepAllocMaxPages;
      this.canSleep = false;
    } else if (this.sizePages > this.targetPages) {
      this.phase = DEFLATING;
      this.cycleGoal = Math.min(this.sizePages - this.targetPages, this.rateFreePages);
    } else {
      this.closeCycle();
    }
  }

  private closeCycle(): void {
    this.phase = NOT_IN_CYCLE;
    this.nextWakeNs = this.timeNs + VMW_BALLOON_RATES.cycleSeconds * 1e9;
  }

  /** One page of vmballoon_inflate; returns the pages pinned (0 or 1). */
  private inflateStep(): number {
    const r = VMW_BALLOON_RATES;
    if (this.cycleMoved >= this.cycleGoal || this.cycleMoved >= this.cycleBudget || this.sizePages >= this.maxPages) {
      this.endInflateCycle(false);
      return 0;
    }
    if (!this.canSleep) {
      if (this.guest.freePages > 0) {
        this.noSleepAllocations++;
        this.pin(this.guest.allocatePage());
        this.cycleMoved++;
        return 1;
      }
      // No free page: the guest would have to reclaim, so slow down for the next cycles.
      this.noSleepFailures++;
      this.slowCycles = r.slowCycles;
      if (this.cycleMoved >= this.rateAllocPages) {
        this.endInflateCycle(true);
        return 0;
      }
      this.canSleep = true;
      this.cycleBudget = this.rateAllocPages;
    }
    const p = this.guest.allocatePage();
    if (p < 0) {
      this.sleepFailures++;
      this.rateAllocPages = Math.max(Math.floor(this.rateAllocPages / 2), r.rateAllocMinPages);
      this.endInflateCycle(true);
      return 0;
    }
    this.sleepAllocations++;
    this.pin(p);
    this.cycleMoved++;
    return 1;
  }

  private endInflateCycle(failed: boolean): void {
    const r = VMW_BALLOON_RATES;
    if (!failed && this.cycleMoved >= this.rateAllocPages) {
      const steps = Math.floor(this.cycleMoved / this.rateAllocPages);
      this.rateAllocPages = Math.min(this.rateAllocPages + steps * r.rateAllocIncPages, r.rateAllocMaxPages);
    }
    this.closeCycle();
  }

  /** One page of vmballoon_deflate; returns −1 per page freed. */
  private deflateStep(): number {
    if (this.cycleMoved >= this.cycleGoal || this.sizePages === 0) {
      const r = VMW_BALLOON_RATES;
      this.rateFreePages = Math.min(this.rateFreePages + r.rateFreeIncPages, r.rateFreeMaxPages);
      this.closeCycle();
      return 0;
    }
    this.deflateOne();
    this.cycleMoved++;
    return -1;
  }

  /** Pin guest page p and hand it to the host; a page-out it caused delays the driver. */
  private pin(p: number): void {
    this.guest.flags[p] = G_PINNED;
    if (this.sizePages === this.pinned.length) {
      const next = new Int32Array(Math.min(this.settings.maxPages, Math.max(16, this.pinned.length * 2)));
      next.set(this.pinned);
      this.pinned = next;
    }
    this.pinned[this.sizePages++] = p;
    this.inflated++;
    this.port.balloonPage(p);
    this.timeNs += this.guest.takePendingNs();
  }

  private deflateOne(): void {
    const p = this.pinned[--this.sizePages];
    this.deflated++;
    this.port.unballoonPage(p);
    this.guest.releasePage(p);
  }

  /**
   * The pinned pages (a copy, for invariant checks).
   *
   * @example
   * balloon.pinnedPages().length === balloon.sizePages
   */
  pinnedPages(): Int32Array {
    return this.pinned.slice(0, this.sizePages);
  }

  /** Bytes of typed-array state held. */
  get stateBytes(): number {
    return this.pinned.byteLength;
  }
}
