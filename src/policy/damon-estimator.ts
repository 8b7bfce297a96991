/**
 * A second working-set estimator, in the style of Linux DAMON (mm/damon/core.c): adaptive
 * regions of guest-physical memory, one random page checked per region per sampling interval.
 *
 *   regions: [start, end) pages, between minRegions and maxRegions of them (DAMON: 10 and 1000)
 *   every sampling interval (default period/20, DAMON's 5 ms : 100 ms ratio):
 *     check the page each region watched (was it touched?) ──▶ nrAccesses += 1 if so
 *     watch a new random page in each region (invalidate it: its next access traps)
 *   every aggregation interval (= the period, default 30 s, so both estimators measure the same):
 *     estimate ── merge adjacent regions whose counts differ by ≤ max/10 (doubling the threshold
 *                 while there are too many regions), never past totalPages/minRegions pages
 *              ── reset the counts ── split each region in two (three when the count stalls)
 *                 at random points, 10–90% of its size, while regions ≤ maxRegions/2
 *
 * The estimate. DAMON counts, per region, how many of the N intervals its page was touched in:
 * x = nrAccesses/N estimates the chance that a page of the region is touched within one interval.
 * Sampling measures something else, the fraction touched at least once in the whole period; to
 * compare the two we assume, as DAMON does, that a region's pages are alike, and that intervals
 * are independent, so a page is touched in the period with chance 1 − (1 − x)^N. The estimate is
 * Σ size·(1 − (1 − x)^N) over the regions, as a fraction of memory. It is published as is, once a
 * period (no smoothing).
 *
 * Cost: regions × N pages checked per period, against sampling's n, and a trap for each check
 * that finds its page touched. All numbers are our own code's; DAMON's constants are its defaults.
 */
import * as aq from "arquero";
import { MemvirtError, pathJoin } from "../util/errors";
import { formatCount } from "../util/units";
import { HostControl } from "../host/host-policy";
import { DEFAULT_SAMPLING_PERIOD_SECONDS } from "./working-set-sampler";
import { checkPositiveCount, checkSeconds, VmEstimator } from "./vm-estimator";

type Table = ReturnType<typeof aq.table>;

/** DAMON's default region bounds (mm/damon: min_nr_regions 10, max_nr_regions 1000). */
export const DAMON_MIN_REGIONS = 10;
export const DAMON_MAX_REGIONS = 1000;
/** DAMON's sampling-to-aggregation ratio (5 ms : 100 ms). */
export const DAMON_SAMPLES_PER_AGGREGATION = 20;

/** Options of a DAMON-style estimator (JSON-able). */
export interface DamonParams {
  /** The VM to monitor, by name. */
  vm: string;
  /** The aggregation interval: seconds of the VM's time per estimate (default 30). */
  periodSeconds?: number;
  /** Seconds between checks of a region's page (default periodSeconds / 20). */
  sampleIntervalSeconds?: number;
  /** Fewest regions (default 10). */
  minRegions?: number;
  /** Most regions (default 1000). */
  maxRegions?: number;
}

const KEYS = ["vm", "periodSeconds", "sampleIntervalSeconds", "minRegions", "maxRegions"];

/** One region: pages [start, end), the page it watches now, and its access count. */
interface Region {
  start: number;
  end: number;
  nrAccesses: number;
  page: number;
}

/**
 * The DAMON-style estimator for one VM.
 *
 * @example
 * const damon = new DamonEstimator({ vm: "web", periodSeconds: 30 });
 * host.addPolicy(damon);
 * host.run({ seconds: 300, sampleEvery: 30 });
 * damon.table(); // per period: estimate, regions, pages checked, touches seen
 */
export class DamonEstimator extends VmEstimator {
  readonly name: string;
  readonly periodSeconds: number;
  readonly aggregationSeconds: number;
  readonly sampleIntervalSeconds: number;
  readonly samplesPerAggregation: number;
  readonly minRegions: number;
  readonly maxRegions: number;
  protected readonly streamLabel = "damon";
  private regions: Region[] = [];
  private started = false;
  private intervalStart = 0;
  private samplesDone = 0;
  private lastRegionCount = 0;
  private checkedInPeriod = 0;
  private touchesInPeriod = 0;

  constructor(params: DamonParams, where = "sampling") {
    if (typeof params !== "object" || params === null || Array.isArray(params)) throw new MemvirtError("must be an object such as {\"vm\": \"web\", \"periodSeconds\": 30}", { where, value: params });
    for (const key of Object.keys(params)) {
      if (!KEYS.includes(key)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, key), value: (params as unknown as Record<string, unknown>)[key] });
    }
    super(params.vm, where);
    this.name = `DAMON-style monitoring of ${this.vmName}`;
    this.aggregationSeconds = params.periodSeconds === undefined ? DEFAULT_SAMPLING_PERIOD_SECONDS : checkSeconds(params.periodSeconds, pathJoin(where, "periodSeconds"));
    this.sampleIntervalSeconds = params.sampleIntervalSeconds === undefined ? this.aggregationSeconds / DAMON_SAMPLES_PER_AGGREGATION : checkSeconds(params.sampleIntervalSeconds, pathJoin(where, "sampleIntervalSeconds"));
    const ratio = this.aggregationSeconds / this.sampleIntervalSeconds;
    if (!(ratio >= 1) || Math.abs(ratio - Math.round(ratio)) > 1e-6) {
      throw new MemvirtError(`must divide periodSeconds (${this.aggregationSeconds}) into a whole number of intervals`, { where: pathJoin(where, "sampleIntervalSeconds"), value: this.sampleIntervalSeconds });
    }
    this.samplesPerAggregation = Math.round(ratio);
    this.minRegions = params.minRegions === undefined ? DAMON_MIN_REGIONS : checkPositiveCount(params.minRegions, pathJoin(where, "minRegions"));
    this.maxRegions = params.maxRegions === undefined ? DAMON_MAX_REGIONS : checkPositiveCount(params.maxRegions, pathJoin(where, "maxRegions"));
    if (this.maxRegions < this.minRegions) throw new MemvirtError(`must be at least minRegions (${this.minRegions})`, { where: pathJoin(where, "maxRegions"), value: this.maxRegions });
    this.periodSeconds = Math.min(this.sampleIntervalSeconds, this.aggregationSeconds / 100);
  }

  describe(): string {
    return `DAMON-style regions of ${this.vmName} (${this.minRegions}–${this.maxRegions}), one random page per region checked every ${+this.sampleIntervalSeconds.toFixed(6)} s of its own time, ` +
      `an estimate every ${this.aggregationSeconds} s (${this.samplesPerAggregation} checks per region), regions merged and split at each`;
  }

  /**
   * The current regions as [start, end) page ranges, in order (for plots and tests).
   *
   * @example
   * damon.regionBounds() // e.g. [[0, 819], [819, 1638], ...]
   */
  regionBounds(): Array<[number, number]> {
    return this.regions.map((r) => [r.start, r.end]);
  }

  /**
   * One row per aggregation: t, runSeconds, periodFraction (= estimate), regions, pagesChecked,
   * touchesSeen.
   *
   * @example
   * damon.table().objects()
   */
  table(): Table {
    return aq.from(this.periods);
  }

  protected advance(host: HostControl, now: number): void {
    if (!this.started) {
      this.started = true;
      this.initRegions(this.view(host).memoryPages);
      this.startInterval(host, now);
      return;
    }
    if (now - this.intervalStart < this.sampleIntervalSeconds - 1e-9) return;
    for (const r of this.regions) {
      if (this.watch.isTouched(r.page)) {
        r.nrAccesses++;
        this.touchesInPeriod++;
      }
    }
    if (++this.samplesDone >= this.samplesPerAggregation) this.aggregate(host, now);
    this.startInterval(host, now);
  }

  /** Split memory evenly into minRegions regions (DAMON splits its initial range the same way). */
  private initRegions(pages: number): void {
    const count = Math.min(this.minRegions, pages);
    for (let i = 0; i < count; i++) {
      this.regions.push({ start: Math.floor((i * pages) / count), end: Math.floor(((i + 1) * pages) / count), nrAccesses: 0, page: -1 });
    }
  }

  private startInterval(host: HostControl, now: number): void {
    this.watch.clear();
    this.intervalStart = now;
    for (const r of this.regions) {
      r.page = r.start + this.rng.int(r.end - r.start);
      this.watch.watch(host, r.page);
    }
    this.checkedInPeriod += this.regions.length;
  }

  private aggregate(host: HostControl, now: number): void {
    const N = this.samplesPerAggregation;
    const P = this.view(host).memoryPages;
    let active = 0;
    let maxNr = 0;
    for (const r of this.regions) {
      const x = r.nrAccesses / N;
      active += (r.end - r.start) * (1 - Math.pow(1 - x, N));
      if (r.nrAccesses > maxNr) maxNr = r.nrAccesses;
    }
    const estimate = active / P;
    this.periods.push({
      vm: this.vmName,
      estimator: "damon",
      t: Math.round(host.nowSeconds * 1e9) / 1e9,
      runSeconds: Math.round(now * 1e9) / 1e9,
      periodFraction: estimate,
      estimate,
      estimatedActivePages: Math.round(active),
      pagesChecked: this.checkedInPeriod,
      touchesSeen: this.touchesInPeriod,
      regions: this.regions.length,
    });
    if (this.periods.length === 1) {
      host.note(`DAMON-style monitoring of ${this.vmName}: first estimate ${(estimate * 100).toFixed(0)}% of its memory active (${formatCount(Math.round(active))} pages) from ${this.regions.length} regions`);
    }
    this.publish(host, estimate);
    this.checkedInPeriod = 0;
    this.touchesInPeriod = 0;
    this.samplesDone = 0;
    this.mergeRegions(Math.max(1, Math.floor(maxNr / 10)), Math.max(1, Math.floor(P / this.minRegions)));
    for (const r of this.regions) r.nrAccesses = 0;
    this.splitRegions();
  }

  /** kdamond_merge_regions: merge alike neighbours; double the threshold while regions > max. */
  private mergeRegions(threshold: number, sizeLimit: number): void {
    let thres = threshold;
    do {
      const merged: Region[] = [];
      for (const r of this.regions) {
        const prev = merged[merged.length - 1];
        if (prev && prev.end === r.start && Math.abs(prev.nrAccesses - r.nrAccesses) <= thres && (prev.end - prev.start) + (r.end - r.start) <= sizeLimit) {
          const a = prev.end - prev.start;
          const b = r.end - r.start;
          prev.nrAccesses = (prev.nrAccesses * a + r.nrAccesses * b) / (a + b);
          prev.end = r.end;
        } else {
          merged.push(r);
        }
      }
      this.regions = merged;
      thres *= 2;
    } while (this.regions.length > this.maxRegions && thres / 2 < this.samplesPerAggregation);
  }

  /** kdamond_split_regions: two pieces each (three when the count stalled), while regions ≤ max/2. */
  private splitRegions(): void {
    const count = this.regions.length;
    if (count > this.maxRegions / 2) return;
    const pieces = this.lastRegionCount === count && count < this.maxRegions / 3 ? 3 : 2;
    const out: Region[] = [];
    for (const r of this.regions) {
      // Split r, then its left part again (as damon_split_regions_of does); collect right to left.
      const rights: Region[] = [];
      let size = r.end - r.start;
      for (let i = 0; i < pieces - 1 && size > 2; i++) {
        const sub = Math.floor(((1 + this.rng.int(9)) * size) / 10);
        if (sub === 0 || sub >= size) continue;
        rights.unshift({ start: r.start + sub, end: r.end, nrAccesses: r.nrAccesses, page: -1 });
        r.end = r.start + sub;
        size = sub;
      }
      out.push(r, ...rights);
    }
    this.regions = out;
    this.lastRegionCount = count;
  }
}
