/**
 * Statistical working-set sampling (Waldspurger, OSDI 2002, §5.3), one policy per VM.
 *
 *   each period (default 30 s of the VM's own time):
 *     pick n (default 100) guest-physical pages at random, uniformly, without repeats
 *     invalidate their mappings ──▶ the next access to each traps (2 µs, charged to the VM)
 *     at the period's end: f = t/n, t = sampled pages touched
 *   estimate = max(slow average, fast average, fast average with the period in progress)
 *              (activity-averages.ts: gains, and why)
 *
 * f estimates, without bias, the fraction of the VM's pages touched during the period: every
 * guest-physical page is equally likely to be sampled (ballooned, unbacked and host-swapped
 * pages included: a touch of those faults, and the host reports it), and every touch of a
 * sampled page is seen. Its spread is √(f(1 − f)/n), whatever the VM's size; so is its cost,
 * O(n) per period (Floyd's algorithm draws the n pages; each watch is O(1)).
 *
 * The guest never sees sampling: no extra faults (an invalidated page costs one trap, counted as
 * `trapFaults`), no lost referenced or dirty bits.
 */
import * as aq from "arquero";
import { MemvirtError, pathJoin } from "../util/errors";
import { formatCount } from "../util/units";
import { HostControl } from "../host/host-policy";
import { ActivityAverages, ActivitySnapshot, FAST_GAIN, SLOW_GAIN, timeConstantPeriods } from "./activity-averages";
import { checkPositiveCount, checkSeconds, VmEstimator } from "./vm-estimator";

type Table = ReturnType<typeof aq.table>;

/** Waldspurger's defaults: 100 pages per 30 s period. */
export const DEFAULT_SAMPLE_PAGES = 100;
export const DEFAULT_SAMPLING_PERIOD_SECONDS = 30;

/** Options of a sampler (JSON-able). */
export interface SamplerParams {
  /** The VM to sample, by name. */
  vm: string;
  /** n, pages sampled per period (default 100). */
  samplePages?: number;
  /** The sampling period in seconds of the VM's own time (default 30). */
  periodSeconds?: number;
  /** Gain of the slow average per period (default 1/8). */
  slowGain?: number;
  /** Gain of the fast average per period (default 1/2). */
  fastGain?: number;
}

const KEYS = ["vm", "samplePages", "periodSeconds", "slowGain", "fastGain"];

/**
 * Waldspurger's sampler for one VM.
 *
 * @example
 * const host = new Host({ memory: "1 GiB", seed: 42 });
 * host.addVm({ name: "web", memory: "512 MiB", workload: { kind: "toucher", workingSetPages: "100 MiB" } });
 * const sampler = new WorkingSetSampler({ vm: "web", samplePages: 100, periodSeconds: 30 });
 * host.addPolicy(sampler);
 * host.run({ seconds: 300, sampleEvery: 30 }); // timeline: estimatedActivePages beside trueActivePages
 * sampler.table();                             // one row per period: f, slow, fast, estimate
 */
export class WorkingSetSampler extends VmEstimator {
  readonly name: string;
  readonly periodSeconds: number;
  readonly samplePages: number;
  readonly samplingPeriodSeconds: number;
  readonly averages: ActivityAverages;
  protected readonly streamLabel = "sampling";
  private started = false;
  private periodStart = 0;
  private lastNoted = -1;
  private checkedInPeriod = 0;

  constructor(params: SamplerParams, where = "sampling") {
    if (typeof params !== "object" || params === null || Array.isArray(params)) throw new MemvirtError("must be an object such as {\"vm\": \"web\", \"samplePages\": 100}", { where, value: params });
    for (const key of Object.keys(params)) {
      if (!KEYS.includes(key)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, key), value: (params as unknown as Record<string, unknown>)[key] });
    }
    super(params.vm, where);
    this.name = `working-set sampling of ${this.vmName}`;
    this.samplePages = params.samplePages === undefined ? DEFAULT_SAMPLE_PAGES : checkPositiveCount(params.samplePages, pathJoin(where, "samplePages"));
    this.samplingPeriodSeconds = params.periodSeconds === undefined ? DEFAULT_SAMPLING_PERIOD_SECONDS : checkSeconds(params.periodSeconds, pathJoin(where, "periodSeconds"));
    this.averages = new ActivityAverages(params.slowGain ?? SLOW_GAIN, params.fastGain ?? FAST_GAIN, where);
    // The estimate with the period in progress is refreshed 100 times a period (the host rounds
    // this to whole quanta, at least one).
    this.periodSeconds = this.samplingPeriodSeconds / 100;
  }

  describe(): string {
    const a = this.averages;
    return `${formatCount(this.samplePages)} random pages of ${this.vmName} per ${this.samplingPeriodSeconds} s of its own run time, invalidated so that their next access traps; ` +
      `f = touched/sampled; the estimate is the largest of a slow average (gain ${+a.slowGain.toFixed(4)}, time constant ${timeConstantPeriods(a.slowGain).toFixed(1)} periods), ` +
      `a fast one (gain ${+a.fastGain.toFixed(4)}, ${timeConstantPeriods(a.fastGain).toFixed(1)} periods) and the fast one with the period in progress, refreshed every ${+this.periodSeconds.toFixed(6)} s`;
  }

  /**
   * The averages now (fractions of configured memory), or null before the first period closes.
   *
   * @example
   * sampler.snapshot()?.estimate
   */
  snapshot(): ActivitySnapshot | null {
    if (!this.started) return null;
    return this.averages.snapshot(this.partialFraction());
  }

  /**
   * One row per closed period: t, runSeconds, periodFraction (f = t/n), slow, fast, estimate,
   * estimatedActivePages, pagesChecked, touchesSeen.
   *
   * @example
   * sampler.table().objects()
   */
  table(): Table {
    return aq.from(this.periods);
  }

  protected advance(host: HostControl, now: number): void {
    if (!this.started) {
      this.started = true;
      this.startPeriod(host, now);
      return;
    }
    // A tick lands on the period's end up to float noise in the quantum arithmetic.
    if (now - this.periodStart >= this.samplingPeriodSeconds - 1e-9) {
      this.closePeriod(host, now);
      this.startPeriod(host, now);
    }
    const snap = this.averages.snapshot(this.partialFraction());
    this.publish(host, snap === null ? null : snap.estimate);
  }

  private partialFraction(): number {
    return this.watch.size > 0 ? this.watch.touchedCount / this.watch.size : 0;
  }

  /** Draw n distinct pages uniformly (Floyd's algorithm: O(n), whatever the VM's size) and watch them. */
  private startPeriod(host: HostControl, now: number): void {
    this.watch.clear();
    this.periodStart = now;
    const P = this.view(host).memoryPages;
    const n = Math.min(this.samplePages, P);
    for (let j = P - n; j < P; j++) {
      const t = this.rng.int(j + 1);
      if (!this.watch.watch(host, t)) this.watch.watch(host, j);
    }
    this.checkedInPeriod = n;
  }

  private closePeriod(host: HostControl, now: number): void {
    const n = this.watch.size;
    const touched = this.watch.touchedCount;
    const f = n > 0 ? touched / n : 0;
    this.averages.closePeriod(f);
    const snap = this.averages.snapshot(0)!;
    const estimate = Math.max(snap.slow, snap.fast);
    const vm = this.view(host);
    this.periods.push({
      vm: this.vmName,
      estimator: "sampling",
      t: Math.round(host.nowSeconds * 1e9) / 1e9,
      runSeconds: Math.round(now * 1e9) / 1e9,
      periodFraction: f,
      estimate,
      estimatedActivePages: Math.round(estimate * vm.memoryPages),
      pagesChecked: this.checkedInPeriod,
      touchesSeen: touched,
      slow: snap.slow,
      fast: snap.fast,
    });
    // Narrate the first estimate and every move of 10 points or more (explain() lists these).
    if (this.lastNoted < 0 || Math.abs(estimate - this.lastNoted) >= 0.1) {
      const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
      host.note(`sampling ${this.vmName}: ${touched} of ${n} sampled pages touched in ${this.samplingPeriodSeconds} s of its time (f = ${pct(f)}); ` +
        `active estimate ${pct(estimate)} of its memory, ${formatCount(Math.round(estimate * vm.memoryPages))} pages (slow ${pct(snap.slow)}, fast ${pct(snap.fast)})`);
      this.lastNoted = estimate;
    }
  }
}
