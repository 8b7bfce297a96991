/**
 * The balloon driver inside a guest (VMware's vmmemctl): it inflates toward a target the host
 * sets by allocating guest pages and pinning them, and deflates by giving them back.
 *
 *   host sets target ──▶ driver.step(dt) ──inflate──▶ guest.allocatePage()  (free page, or the
 *                                                       guest's own CLOCK evicts one)
 *                                          pin it ──▶ port.balloonPage(p)   (host frees the frame)
 *
 * Invariants:
 * - 0 ≤ sizePages ≤ maxPages, and targetPages is clamped into the same range: the balloon
 *   never exceeds its maximum however far the host asks.
 * - Inflation and deflation move at most `rate × dt` pages per step (fractions carry over), so
 *   a large target takes time to reach, as in the real driver.
 * - Pinned pages are off the guest's free list and invisible to its CLOCK, so the guest never
 *   touches them; which pages the guest gives up is decided by the guest's own policy.
 */
import { GuestOs, GuestPort } from "./guest-os";
import { G_PINNED } from "./page-state";

/** Balloon driver settings, already validated. */
export interface BalloonSettings {
  /** False when no driver is installed: the host can then only swap. */
  enabled: boolean;
  /** The cap on the balloon in pages (ESX's default is 65% of configured memory). */
  maxPages: number;
  /** Inflation rate limit in pages per simulated second. */
  inflatePagesPerSecond: number;
  /** Deflation rate limit in pages per simulated second. */
  deflatePagesPerSecond: number;
}

/**
 * One guest's balloon driver.
 *
 * @example
 * const balloon = new BalloonDriver(settings, guest, port);
 * balloon.setTarget(1000);
 * balloon.step(0.5); // inflates by up to rate × 0.5 s pages
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
  private pinned: Int32Array;
  private credit = 0;
  private readonly guest: GuestOs;
  private readonly port: GuestPort;

  constructor(settings: BalloonSettings, guest: GuestOs, port: GuestPort) {
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
   * Move toward the target during the quantum that ends at `untilNs`, within the rate limit.
   * Returns the pages moved (positive inflating, negative deflating).
   *
   * The driver is a guest thread with its own clock: an inflation that makes the guest page
   * something out waits for that I/O (a double-paged page waits for the host's swap-in too),
   * so a balloon that must evict slowly inflates slowly, without stalling the workload itself.
   *
   * @example
   * balloon.step(0.01, 10e6);
   */
  step(dtSeconds: number, untilNs = Infinity): number {
    const gap = this.targetPages - this.sizePages;
    if (gap === 0) {
      this.credit = 0;
      return 0;
    }
    if (untilNs !== Infinity) {
      const startNs = untilNs - dtSeconds * 1e9;
      if (this.timeNs < startNs) this.timeNs = startNs;
    }
    const rate = gap > 0 ? this.settings.inflatePagesPerSecond : this.settings.deflatePagesPerSecond;
    // Credit accrues with time but is capped at one second's worth: no bursts after a stall.
    this.credit = Math.min(this.credit + rate * dtSeconds, Math.max(1, rate));
    const want = gap > 0 ? gap : -gap;
    let moved = 0;
    while (moved < want && this.credit >= 1 && this.timeNs < untilNs) {
      if (gap > 0) this.inflateOne();
      else this.deflateOne();
      this.credit -= 1;
      moved++;
    }
    if (moved === want) this.credit = 0;
    return gap > 0 ? moved : -moved;
  }

  private inflateOne(): void {
    // The guest's allocator decides: a free page if any, else its CLOCK pages something out.
    const p = this.guest.allocatePage();
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
