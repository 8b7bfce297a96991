/**
 * Replaying a loaded trace as a `Workload`.
 *
 * Options: `loop` restarts at the first record when the trace ends (otherwise `fill` returns 0);
 * `renumber` maps the trace's sparse pages (code near 0x400, stack near 0x7ff000000) to dense
 * numbers 0..D-1 in first-touch order, so the footprint fits a small VM; `basePage` shifts all
 * pages, so several replays live apart.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { formatCount, parsePages } from "../util/units";
import { Workload } from "../workloads/workload";
import { LackeyTrace } from "./load-lackey";

/**
 * Options of a replay.
 * @internal
 */
export interface ReplayOptions {
  /** Start again at the first record after the last (default false). */
  loop?: boolean;
  /** Map pages to 0..distinct-1 in first-touch order (default false). */
  renumber?: boolean;
  /** Added to every page (default 0); a page count or a size string. */
  basePage?: number | string;
  /** Total accesses, after which `fill` returns 0 (default: the trace, or endless with loop). */
  accesses?: number;
}

/**
 * Dense page numbers for a trace (first-touch order) and how many distinct pages it touches.
 *
 * @internal
 * @example
 * renumberPages(new Float64Array([0x7ff000, 0x400, 0x7ff000])) // { pages: [0, 1, 0], distinctPages: 2 }
 */
export function renumberPages(pages: Float64Array): { pages: Float64Array; distinctPages: number } {
  const ids = new Map<number, number>();
  const out = new Float64Array(pages.length);
  for (let i = 0; i < pages.length; i++) {
    let id = ids.get(pages[i]);
    if (id === undefined) {
      id = ids.size;
      ids.set(pages[i], id);
    }
    out[i] = id;
  }
  return { pages: out, distinctPages: ids.size };
}

/**
 * A workload that replays a loaded trace.
 *
 * @internal
 * @example
 * const w = new TraceReplayWorkload(parseLackeyBuffer(text, "t.lackey"), { loop: true, renumber: true });
 */
export class TraceReplayWorkload implements Workload {
  readonly trace: LackeyTrace;
  readonly loop: boolean;
  readonly renumber: boolean;
  readonly basePage: number;
  readonly accesses: number;
  /** Distinct pages in the trace. */
  readonly distinctPages: number;
  private readonly pages: Float64Array;
  private position = 0;
  private producedCount = 0;

  constructor(trace: LackeyTrace, options: ReplayOptions = {}, where = "trace") {
    this.trace = trace;
    this.loop = options.loop ?? false;
    this.renumber = options.renumber ?? false;
    this.basePage = options.basePage === undefined ? 0 : parsePages(options.basePage, pathJoin(where, "basePage"));
    const a = options.accesses;
    if (a !== undefined && (!Number.isInteger(a) || a < 0)) throw new MemvirtError("must be a whole number of at least 0", { where: pathJoin(where, "accesses"), value: a });
    this.accesses = a ?? (this.loop ? Infinity : trace.pages.length);
    if (this.loop && trace.pages.length === 0) throw new MemvirtError("cannot loop over a trace with no records", { where: trace.fileName });
    const dense = renumberPages(trace.pages);
    this.distinctPages = dense.distinctPages;
    const pages = this.renumber ? dense.pages : trace.pages.slice();
    if (this.basePage !== 0) for (let i = 0; i < pages.length; i++) pages[i] += this.basePage;
    this.pages = pages;
  }

  get name(): string {
    const { records, accesses } = this.trace.stats;
    const size = accesses === records ? `${formatCount(records)} records` : `${formatCount(records)} records, ${formatCount(accesses)} accesses`;
    const parts = [`lackey trace ${this.trace.fileName} (${size}, ${formatCount(this.distinctPages)} pages)`];
    if (this.renumber) parts.push("renumbered");
    if (this.loop) parts.push("looped");
    if (this.basePage > 0) parts.push(`from page ${formatCount(this.basePage)}`);
    if (this.accesses !== Infinity && this.accesses !== this.trace.pages.length) parts.push(`${formatCount(this.accesses)} accesses`);
    return parts.join(", ");
  }

  /** Accesses produced so far. */
  get produced(): number {
    return this.producedCount;
  }

  fill(pages: Float64Array, kinds: Uint8Array): number {
    let cap = pages.length < kinds.length ? pages.length : kinds.length;
    const left = this.accesses - this.producedCount;
    if (left < cap) cap = left;
    const src = this.pages;
    const srcKinds = this.trace.kinds;
    let filled = 0;
    while (filled < cap) {
      if (this.position >= src.length) {
        if (!this.loop) break;
        this.position = 0;
      }
      const n = Math.min(cap - filled, src.length - this.position);
      pages.set(src.subarray(this.position, this.position + n), filled);
      kinds.set(srcKinds.subarray(this.position, this.position + n), filled);
      this.position += n;
      filled += n;
    }
    this.producedCount += filled;
    return filled;
  }
}

/**
 * Replay a loaded trace as a workload.
 *
 * @internal
 * @example
 * const w = replayWorkload(await loadLackeyTrace("data/traces/sort.lackey.gz"), { loop: true });
 */
export function replayWorkload(trace: LackeyTrace, options: ReplayOptions = {}): TraceReplayWorkload {
  return new TraceReplayWorkload(trace, options);
}
