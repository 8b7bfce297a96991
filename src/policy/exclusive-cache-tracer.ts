/**
 * The hypervisor's view through an exclusive cache (Lu & Shen, USENIX ATC 2007): an LRU stack of
 * the pages a VM evicted, and from it the VM's miss-ratio curve at every memory size ≥ v.
 *
 *   put(k)    ─▶ k goes on top of the stack of evicted pages          (MattsonStack.access)
 *   probe(k)  ─▶ r = k's depth among evicted pages, k leaves the stack (MattsonStack.remove)
 *                the access's depth in the VM's whole LRU stack is v + r: the v pages in VM
 *                memory were all used more recently than any evicted page (exact under LRU)
 *   histogram of v + r, plus misses of unknown depth (first reads, pages tracked no longer)
 *
 *   missRatio(s) = (probes deeper than s + misses of unknown depth) / guest accesses,  s ≥ v
 *
 * What the hypervisor cannot see: accesses that hit VM memory (it only counts them, as a real
 * one reads retired loads and stores from performance counters), so every size below v is
 * invisible and refused, never made up; and first touches of anonymous pages, which the guest
 * zero-fills without a disk read (first reads of file pages are seen, as misses at every size).
 * Under the guest's CLOCK the VM's v pages are only roughly the v most recent, so the curve near
 * v is approximate; under exact LRU it is exact (test/policy/exclusive-cache-tracer.test.ts).
 *
 * The stack holds the cache's capacity plus `ghosts` more keys (no frames), so the curve reaches
 * v + c + ghosts; deeper pages are dropped from the bottom and count as misses of unknown depth.
 * Each VM's counts are multiplied by `decay` every `periodSeconds`, so the curve and the need
 * follow phase changes (decay 1: the whole run, exactly).
 *
 * Invariants: no allocation per event (typed arrays; the put-order queue is compacted in
 * amortised O(1)); counts stay whole numbers while decay is 1, so the curve is exact then.
 */
import * as aq from "arquero";
import { inspect } from "node:util";
import { MattsonStack } from "../analysis/lru-stack-distance";
import { PageValueMap } from "../util/page-value-map";
import { missRatioCurveTable } from "../analysis/miss-ratio-curve";
import { MemvirtError } from "../util/errors";
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../util/units";
import type { ExclusiveCacheSettings } from "../host/host-config";
import type { CacheCurve, CacheEvent, CacheTracerView, HostControl, HostPolicy, NeedEstimate } from "../host/host-policy";
import { registerCacheTracerFactory } from "../host/exclusive-cache";
import { grownToHold } from "../util/grow-typed-array";

/** Points in a default curve when the range is wider than this many pages. */
const DEFAULT_CURVE_POINTS = 128;

/** Keys are VirtualSpace slots (negative for hashed pages); the stack takes whole numbers ≥ 0. */
function stackKey(key: number): number {
  return key >= 0 ? 2 * key : 2 * ~key + 1;
}

/** The counts behind one VM's curve: what `freeze` copies. */
interface CurveCounts {
  /** counts[d]: probes deeper than whole-stack depth d (aged suffix sums, d from 0 to the deepest seen). */
  counts: Float64Array;
  /** Probes of unknown depth: misses at every size (aged). */
  far: number;
  /** Guest accesses in the window (aged). */
  accesses: number;
  directPages: number;
  /**
   * Where the curve starts: the largest v while the counts were gathered. A depth is v + r with
   * the v of its moment; once a balloon shrinks v, hits at depths between the new v and the old
   * one were never seen, so the curve below the old v would undercount misses.
   */
  startPages: number;
  maxSizePages: number;
  /** The VM's name, for errors. */
  name: string;
}

/** A period whose counts weigh less than this (after decay) no longer bounds where the curve starts. */
const FORGOTTEN_WEIGHT = 1e-3;

/** One traced VM. */
class TracedVm {
  readonly settings: ExclusiveCacheSettings;
  readonly stack = new MattsonStack();
  /** Put order (key, sequence) as a queue, to drop the stack's bottom; stale entries skipped. */
  private queueKeys = new Int32Array(1024);
  private queueSeqs = new Float64Array(1024);
  private qHead = 0;
  private qTail = 0;
  /** stack key → the sequence number of its live put. */
  private readonly seqOf = new PageValueMap();
  private seq = 0;
  counts = new Float64Array(1024);
  deepest = 0;
  far = 0;
  accesses = 0;
  /** The VM's access counter when last read (a VM is traced from its boot, when it is 0). */
  lastAccesses = 0;
  nextDueSeconds = 0;
  /** suffix[d] = Σ counts at depths > d, for d in [0, deepest]; null when stale. */
  private suffix: Float64Array | null = null;
  puts = 0;
  probes = 0;
  lastNote: NeedEstimate | null = null;
  /** The largest v seen this period, and in each of the last periods whose counts still weigh (a ring). */
  private periodMaxV = 0;
  private readonly pastMaxV: Float64Array;
  private pastAt = 0;
  /** decay 1: the largest v of the whole run. */
  private runMaxV = 0;

  constructor(settings: ExclusiveCacheSettings) {
    this.settings = settings;
    // A period's counts have aged once when it ends, and once more at each later end: keep the
    // periods aged at most this many times (their weight is still ≥ FORGOTTEN_WEIGHT).
    const periods = settings.decay === 1 ? 0 : Math.floor(Math.log(FORGOTTEN_WEIGHT) / Math.log(settings.decay));
    this.pastMaxV = new Float64Array(periods);
  }

  /** v as the tracer saw it at an event or a tick. */
  seeV(v: number): void {
    if (v > this.periodMaxV) this.periodMaxV = v;
    if (v > this.runMaxV) this.runMaxV = v;
  }

  /** Where the curve starts now: the largest v whose counts still weigh, and v now. */
  startPages(vNow: number): number {
    let start = Math.max(vNow, this.periodMaxV);
    if (this.settings.decay === 1) return Math.max(start, this.runMaxV);
    for (let i = 0; i < this.pastMaxV.length; i++) if (this.pastMaxV[i] > start) start = this.pastMaxV[i];
    return start;
  }

  /** A period ends (its counts are about to age): remember its largest v, start the next at vNow. */
  endPeriod(vNow: number): void {
    if (this.pastMaxV.length > 0) {
      this.pastMaxV[this.pastAt] = this.periodMaxV;
      this.pastAt = (this.pastAt + 1) % this.pastMaxV.length;
    }
    this.periodMaxV = vNow;
  }

  /** Keys the stack may hold: the larger of the configured and current capacity, plus ghosts. */
  trackedPages(capacityPages: number): number {
    return Math.max(this.settings.capacityPages, capacityPages) + this.settings.ghostPages;
  }

  put(key: number, tracked: number): void {
    this.puts++;
    const k = stackKey(key);
    this.stack.access(k);
    const s = ++this.seq;
    this.seqOf.set(k, s);
    this.enqueue(k, s);
    while (this.stack.sizePages > tracked) this.dropBottom();
  }

  /** Returns the key's depth among evicted pages (Infinity: not tracked). */
  probe(key: number): number {
    this.probes++;
    const k = stackKey(key);
    const r = this.stack.remove(k);
    if (r !== Infinity) this.seqOf.delete(k);
    return r;
  }

  addDepth(depth: number): void {
    this.suffix = null;
    if (depth === Infinity) {
      this.far++;
      return;
    }
    if (depth >= this.counts.length) this.counts = grownToHold(this.counts, depth);
    this.counts[depth]++;
    if (depth > this.deepest) this.deepest = depth;
  }

  decay(factor: number): void {
    if (factor === 1) return;
    this.suffix = null;
    const c = this.counts;
    for (let d = 0; d <= this.deepest; d++) c[d] *= factor;
    this.far *= factor;
    this.accesses *= factor;
  }

  /** The counts now (`copy`: a copy later events do not change). */
  snapshot(name: string, directPages: number, maxSizePages: number, pendingAccesses: number, copy: boolean): CurveCounts {
    const suffix = this.suffixSums();
    const startPages = this.startPages(directPages);
    return { counts: copy ? suffix.slice() : suffix, far: this.far, accesses: this.accesses + pendingAccesses, directPages, startPages, maxSizePages: Math.max(startPages, maxSizePages), name };
  }

  suffixSums(): Float64Array {
    if (this.suffix === null) {
      const n = this.deepest;
      const s = new Float64Array(n + 1);
      let acc = 0;
      for (let d = n; d >= 0; d--) {
        s[d] = acc; // depths > d
        acc += this.counts[d];
      }
      this.suffix = s;
    }
    return this.suffix;
  }

  private dropBottom(): void {
    for (;;) {
      if (this.qHead === this.qTail) throw new Error("internal: tracer queue empty with keys on the stack");
      const k = this.queueKeys[this.qHead];
      const s = this.queueSeqs[this.qHead];
      this.qHead++;
      if (this.seqOf.get(k) === s) {
        this.stack.remove(k);
        this.seqOf.delete(k);
        return;
      }
    }
  }

  private enqueue(k: number, s: number): void {
    if (this.qTail === this.queueKeys.length) {
      // Compact: keep only live entries (stale ones come from probes and re-puts).
      let w = 0;
      for (let i = this.qHead; i < this.qTail; i++) {
        const key = this.queueKeys[i];
        const seq = this.queueSeqs[i];
        if (this.seqOf.get(key) === seq) {
          this.queueKeys[w] = key;
          this.queueSeqs[w] = seq;
          w++;
        }
      }
      this.qHead = 0;
      this.qTail = w;
      if (w * 2 > this.queueKeys.length) {
        const keys = new Int32Array(this.queueKeys.length * 2);
        keys.set(this.queueKeys.subarray(0, w));
        const seqs = new Float64Array(this.queueSeqs.length * 2);
        seqs.set(this.queueSeqs.subarray(0, w));
        this.queueKeys = keys;
        this.queueSeqs = seqs;
      }
    }
    this.queueKeys[this.qTail] = k;
    this.queueSeqs[this.qTail] = s;
    this.qTail++;
  }
}

/** Misses at size s ≥ v from a snapshot's suffix sums. */
function missesFrom(c: CurveCounts, sizePages: number): number {
  const s = Math.floor(sizePages);
  const deeper = s >= c.counts.length ? 0 : c.counts[s];
  return deeper + c.far;
}

/** Default sizes from v to the end: every page when the range is short, else evenly spaced. */
function defaultSizes(v: number, end: number): number[] {
  const span = end - v;
  if (span <= DEFAULT_CURVE_POINTS) return Array.from({ length: span + 1 }, (_, i) => v + i);
  const out: number[] = [];
  for (let i = 0; i <= DEFAULT_CURVE_POINTS; i++) {
    const s = v + Math.round((span * i) / DEFAULT_CURVE_POINTS);
    if (out.length === 0 || s > out[out.length - 1]) out.push(s);
  }
  return out;
}

/** The curve of a snapshot at `sizes` (each in [v, end]), as missRatioCurve's table. */
function curveTable(c: CurveCounts, sizesPages: readonly number[] | undefined, where: string): aq.ColumnTable {
  const v = c.directPages;
  const start = c.startPages;
  // No accesses: every ratio would be 0/0, which a table of zeros would pass off as "no misses".
  if (!(c.accesses > 0)) throw new MemvirtError(`VM ${c.name} has made no accesses in the tracer's window yet, so there is no miss-ratio curve (run the host longer)`, { where: "vm", value: c.name });
  const sizes = sizesPages === undefined ? defaultSizes(start, c.maxSizePages) : Array.from(sizesPages);
  sizes.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isInteger(s) || s < 1) throw new MemvirtError("must be whole numbers of pages ≥ 1", { where: `${where}[${i}]`, value: s });
    if (s < v) throw new MemvirtError(`is below v = ${formatCount(v)} pages, the VM's direct memory: the hypervisor is blind below v (it sees only what the VM evicts)`, { where: `${where}[${i}]`, value: s });
    if (s < start) throw new MemvirtError(`is below ${formatCount(start)} pages, the VM's direct memory earlier in the tracer's window (v is ${formatCount(v)} now, after a balloon took memory): the hypervisor was blind below that then, so its curve starts there`, { where: `${where}[${i}]`, value: s });
    if (s > c.maxSizePages) throw new MemvirtError(`is beyond v + tracked pages = ${formatCount(c.maxSizePages)}, the deepest the tracer sees (raise tracing.exclusiveCache.ghosts)`, { where: `${where}[${i}]`, value: s });
  });
  const ratios = new Float64Array(sizes.length);
  for (let i = 0; i < sizes.length; i++) ratios[i] = missesFrom(c, sizes[i]) / c.accesses;
  return missRatioCurveTable(sizes, ratios);
}

/**
 * The need from a snapshot: the smallest size meeting the target miss ratio, or the knee (the
 * end of the last w-page window, w = range/64 rounded, whose slope is at least
 * kneeSlopeFraction × the average slope over [v, v + tracked]). Never below v.
 */
function estimateFrom(c: CurveCounts, settings: ExclusiveCacheSettings): NeedEstimate | null {
  if (!(c.accesses > 0)) return null;
  const v = c.startPages;
  const end = c.maxSizePages;
  const A = c.accesses;
  const ratio = (s: number) => missesFrom(c, s) / A;
  const make = (needPages: number, bound: NeedEstimate["bound"]): NeedEstimate => ({ needPages, bound, rule: settings.need, directPages: c.directPages, missRatio: ratio(needPages), floorMissRatio: c.far / A, windowAccesses: A });
  if (settings.need === "target") {
    const target = settings.targetMissRatio;
    if (ratio(v) <= target) return make(v, "at-most");
    if (ratio(end) > target) return make(end, "more-than");
    // Misses fall with size: binary search for the smallest size meeting the target.
    let lo = v;
    let hi = end;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (ratio(mid) <= target) hi = mid;
      else lo = mid;
    }
    return make(hi, "exact");
  }
  const span = end - v;
  const drop = ratio(v) - ratio(end);
  if (span <= 0 || drop <= 0) return make(v, "at-most");
  const w = Math.max(1, Math.round(span / 64));
  const threshold = settings.kneeSlopeFraction * (drop / span);
  let knee = v;
  for (let s = v; s < end; s += w) {
    const e = Math.min(end, s + w);
    if ((ratio(s) - ratio(e)) / (e - s) >= threshold) knee = e;
  }
  return make(knee, knee >= end ? "more-than" : "exact");
}

/**
 * Describe a need estimate in a few words ("… puts its memory need at " + this).
 *
 * @internal
 * @example
 * describeNeed(run.cacheNeed("web")!) // "at most 2,016 pages (7.88 MiB): …"
 */
export function describeNeed(e: NeedEstimate): string {
  const size = `${formatCount(e.needPages)} pages (${formatBytes(e.needPages * PAGE_SIZE_BYTES)})`;
  const at = `miss ratio ${e.missRatio.toFixed(3)}`;
  const few = e.windowAccesses < FEW_ACCESSES ? `; from only ${formatCount(Math.round(e.windowAccesses))} accesses, so a rough figure` : "";
  if (e.bound === "at-most") return `at most ${size}: the curve meets the rule already where it starts (v), and the hypervisor is blind below v (${at})${few}`;
  if (e.bound === "more-than") {
    // Past the range every miss is of unknown depth: it may need a little more, or no size may do.
    return `more than ${size}, the end of the tracked range (${at} there); misses of unknown depth (first reads, and pages evicted deeper than the tracer sees) ` +
      `give ${e.floorMissRatio.toFixed(3)} at every size, so more ghosts would show how much more, if any size helps${few}`;
  }
  return `${size} (${at})${few}`;
}

/** Fewer accesses than this in the window make an estimate worth flagging as rough. */
const FEW_ACCESSES = 1000;

/**
 * The exclusive caches' tracer: one policy for every VM with `tracing.exclusiveCache`. The host
 * builds it (through the factory this module registers) when such a VM is added; it ticks every
 * quantum and processes each VM every its own `periodSeconds`.
 *
 * @example
 * const host = new Host({ memory: "1 GiB" });
 * host.addVm({ name: "web", memory: "256 MiB", workload, tracing: { exclusiveCache: { size: "64 MiB" } } });
 * const run = host.run({ seconds: 30 });
 * run.cacheCurve("web"); run.cacheNeed("web");
 */
export class ExclusiveCacheTracer implements HostPolicy, CacheTracerView {
  readonly name = "exclusive-cache tracer";
  /** It ticks every quantum; each VM's own period decides when its counts age. */
  readonly periodSeconds = 0.01;
  private readonly traced: Array<TracedVm | undefined> = [];
  private host: HostControl | undefined;

  /**
   * Start tracing VM `vm` (the host calls this from addVm).
   *
   * @example
   * tracer.traceVm(0, resolveTracing({ exclusiveCache: { size: 1024 } }, "tracing")!);
   */
  traceVm(vm: number, settings: ExclusiveCacheSettings): void {
    this.traced[vm] = new TracedVm(settings);
  }

  /**
   * Whether VM `vm` is traced.
   *
   * @example
   * tracer.traces(0) // true
   */
  traces(vm: number): boolean {
    return this.traced[vm] !== undefined;
  }

  /** Called by the host on each put and probe of a traced VM's cache. */
  onCacheEvent(host: HostControl, vm: number, key: number, event: CacheEvent): void {
    const t = this.traced[vm];
    if (!t) return;
    this.host = host;
    const view = host.vms[vm];
    if (event === "put") {
      t.put(key, t.trackedPages(view.cacheCapacityPages ?? 0));
      return;
    }
    const r = t.probe(key);
    const v = view.directPages ?? view.memoryPages;
    t.seeV(v);
    t.addDepth(r === Infinity ? Infinity : v + r);
  }

  /** Called by the host every period. */
  tick(host: HostControl): void {
    this.host = host;
    this.traced.forEach((t, vm) => {
      if (!t) return;
      const view = host.vms[vm];
      if (host.nowSeconds + 1e-9 < t.nextDueSeconds) return;
      t.nextDueSeconds = host.nowSeconds + t.settings.periodSeconds;
      t.accesses += view.accesses - t.lastAccesses;
      t.lastAccesses = view.accesses;
      const v = view.directPages ?? view.memoryPages;
      t.seeV(v);
      const estimate = this.estimate(vm);
      host.setEstimatedNeedPages?.(vm, estimate ? estimate.needPages : null, estimate ? estimate.bound : null);
      if (estimate && changed(t.lastNote, estimate)) {
        host.note(`${view.name}: by the hypervisor's curve, its memory need is ${describeNeed(estimate)}`);
        t.lastNote = estimate;
      }
      t.decay(t.settings.decay);
      t.endPeriod(v);
    });
  }

  /**
   * Misses (aged) VM `vm` would take with `sizePages` of memory (v ≤ size ≤ v + tracked).
   *
   * @example
   * tracer.missesAt(0, 30_000)
   */
  missesAt(vm: number, sizePages: number): number {
    const c = this.counts(vm);
    return missesFrom(c, Math.max(sizePages, c.startPages));
  }

  /**
   * Guest accesses in VM `vm`'s window (aged), the curve's denominator.
   *
   * @example
   * tracer.windowAccesses(0)
   */
  windowAccesses(vm: number): number {
    return this.counts(vm).accesses;
  }

  /**
   * v + tracked pages: where VM `vm`'s curve ends.
   *
   * @example
   * tracer.maxSizePages(0)
   */
  maxSizePages(vm: number): number {
    return this.counts(vm).maxSizePages;
  }

  /**
   * VM `vm`'s curve now, sizes ≥ v (refused below v: the hypervisor is blind there).
   *
   * @example
   * tracer.curve(0).objects()
   */
  curve(vm: number, sizesPages?: readonly number[]): aq.ColumnTable {
    return curveTable(this.counts(vm), sizesPages, "sizes");
  }

  /**
   * VM `vm`'s need estimate now (null before any access).
   *
   * @example
   * tracer.estimate(0) // { needPages: 31000, bound: "exact", ... }
   */
  estimate(vm: number): NeedEstimate | null {
    return estimateFrom(this.counts(vm), this.need(vm).settings);
  }

  /**
   * A frozen copy of VM `vm`'s curve and estimate (a Run keeps it).
   *
   * @example
   * const c = tracer.freeze(0); c.curve([c.directPages]);
   */
  freeze(vm: number): CacheCurve {
    const c = this.counts(vm, true);
    const estimate = estimateFrom(c, this.need(vm).settings);
    return { directPages: c.directPages, startPages: c.startPages, maxSizePages: c.maxSizePages, estimate, curve: (sizes?: readonly number[]) => curveTable(c, sizes, "sizes") };
  }

  /**
   * Keys on VM `vm`'s stack now: at most capacity + ghosts (its memory is bounded by that).
   *
   * @example
   * tracer.trackedKeys(0) // ≤ capacityPages + ghostPages
   */
  trackedKeys(vm: number): number {
    return this.need(vm).stack.sizePages;
  }

  /**
   * Puts and probes the tracer has seen for VM `vm` (its events/s in benchmarks).
   *
   * @example
   * tracer.eventsSeen(0) // { puts: 1200, probes: 1100 }
   */
  eventsSeen(vm: number): { puts: number; probes: number } {
    const t = this.need(vm);
    return { puts: t.puts, probes: t.probes };
  }

  /**
   * When it acts, for explain(): each VM's own period (it ticks every quantum only to check them).
   *
   * @example
   * tracer.describePeriod() // "every 1 s"
   */
  describePeriod(): string {
    const periods = new Map<number, string[]>();
    this.traced.forEach((t, vm) => {
      if (!t) return;
      const names = periods.get(t.settings.periodSeconds) ?? [];
      names.push(this.host?.vms[vm]?.name ?? `VM ${vm}`);
      periods.set(t.settings.periodSeconds, names);
    });
    if (periods.size <= 1) return `every ${periods.size === 0 ? this.periodSeconds : [...periods.keys()][0]} s`;
    return `every ${[...periods].map(([p, names]) => `${p} s (${names.join(", ")})`).join(", ")}`;
  }

  /**
   * What a bare tracer prints in a notebook: each VM's window and estimate in a line.
   *
   * @example
   * console.log(tracer); // ExclusiveCacheTracer: 2 VMs traced ...
   */
  [inspect.custom](): string {
    const lines: string[] = [];
    this.traced.forEach((t, vm) => {
      if (!t) return;
      const name = this.host?.vms[vm]?.name ?? `VM ${vm}`;
      const e = this.host ? this.estimate(vm) : null;
      lines.push(`  ${name}: ${formatCount(t.puts)} puts, ${formatCount(t.probes)} probes seen, ${formatCount(t.stack.sizePages)} keys on the stack; ` +
        (e ? `need ${describeNeed(e)}` : "no estimate yet"));
    });
    return [`ExclusiveCacheTracer (${this.describePeriod()}): ${lines.length} VM${lines.length === 1 ? "" : "s"} traced`, ...lines].join("\n");
  }

  /** One sentence on the settings, for explain(). */
  describe(): string {
    const parts = this.traced.map((t, vm) => {
      if (!t) return "";
      const s = t.settings;
      const name = this.host?.vms[vm]?.name ?? `VM ${vm}`;
      const rule = s.need === "target" ? `the smallest size with miss ratio ≤ ${s.targetMissRatio}` : `the knee (slope below ${s.kneeSlopeFraction} of the average)`;
      return `${name}: cache ${formatCount(s.capacityPages)} pages + ${formatCount(s.ghostPages)} ghost keys, counts ×${s.decay} every ${s.periodSeconds} s, need = ${rule}`;
    }).filter(Boolean);
    return `an LRU stack of evicted pages per VM (Lu & Shen), the curve from v up; ${parts.join("; ")}`;
  }

  private need(vm: number): TracedVm {
    const t = this.traced[vm];
    if (!t) throw new MemvirtError("is not a VM with tracing.exclusiveCache", { where: "vm", value: vm });
    return t;
  }

  private directPagesOf(vm: number): number {
    const view = this.host?.vms[vm];
    return view ? view.directPages ?? view.memoryPages : 0;
  }

  /** The VM's counts now, with the accesses since the last tick. */
  private counts(vm: number, copy = false): CurveCounts {
    const t = this.need(vm);
    const view = this.host?.vms[vm];
    const pending = view ? view.accesses - t.lastAccesses : 0;
    const v = this.directPagesOf(vm);
    return t.snapshot(view?.name ?? `VM ${vm}`, v, v + t.trackedPages(view?.cacheCapacityPages ?? 0), pending, copy);
  }
}

/** Whether an estimate differs enough from the last one noted to be worth an event line. */
function changed(last: NeedEstimate | null, now: NeedEstimate): boolean {
  if (last === null) return true;
  if (last.bound !== now.bound) return true;
  return Math.abs(now.needPages - last.needPages) > 0.1 * Math.max(1, last.needPages);
}

registerCacheTracerFactory(() => new ExclusiveCacheTracer());
