/**
 * The shared frame of every synthetic generator: write fraction, base page and finite length.
 *
 * Invariants:
 * - A subclass only produces page numbers (`generate`); this class adds the region's base page
 *   accounting, the READ/WRITE kinds and the length limit, so every generator treats these alike.
 * - Pages and kinds come from two separate streams split off the caller's `Rng` ("pages" and
 *   "kinds"): changing `writeFraction` does not change which pages are touched.
 * - No allocation per access: `fill` loops over the caller's typed arrays.
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { pathJoin } from "../util/errors";
import { READ, WRITE, Workload } from "./workload";
import { checkCount, checkFraction, MAX_WORKLOAD_PAGES, Size } from "./validate";
import { parsePages } from "../util/units";
import { MemvirtError } from "../util/errors";

/** Options every generator accepts. */
export interface GeneratorOptions {
  /** Probability that an access is a WRITE (default 0: all reads). */
  writeFraction?: number;
  /** First virtual page of the region (default 0), so several regions or processes live apart. */
  basePage?: Size;
  /** Total accesses, after which `fill` returns 0 (default: endless). */
  accesses?: number;
}

/**
 * Base class of the synthetic generators. Subclasses implement `generate` and `describe`.
 *
 * @example
 * class Constant extends GeneratedWorkload {
 *   protected describe() { return "page 0"; }
 *   protected generate(pages: Float64Array, count: number) { pages.fill(this.basePage, 0, count); return count; }
 * }
 */
export abstract class GeneratedWorkload implements Workload {
  /** Probability that an access is a write. */
  readonly writeFraction: number;
  /** First virtual page of this workload's region. */
  readonly basePage: number;
  /** Total accesses this workload produces (Infinity when endless). */
  readonly accesses: number;
  /** The stream pages are drawn from. */
  protected readonly pageRng: Rng;
  private readonly kindRng: Rng;
  private readonly writeThreshold: number;
  private producedCount = 0;

  constructor(rng: Rng, options: GeneratorOptions, where: string) {
    this.writeFraction = options.writeFraction === undefined ? 0 : checkFraction(options.writeFraction, pathJoin(where, "writeFraction"));
    this.basePage = options.basePage === undefined ? 0 : parsePages(options.basePage, pathJoin(where, "basePage"));
    if (this.basePage > MAX_WORKLOAD_PAGES * 1024) throw new MemvirtError("is too large", { where: pathJoin(where, "basePage"), value: options.basePage });
    this.accesses = options.accesses === undefined ? Infinity : checkCount(options.accesses, pathJoin(where, "accesses"));
    this.pageRng = rng.split("pages");
    this.kindRng = rng.split("kinds");
    // Compare a raw 32-bit draw against a threshold: 1.0 gives 2^32, above every draw.
    this.writeThreshold = Math.round(this.writeFraction * 4294967296);
  }

  /** What this generator does, without the common suffix (e.g. "uniform over 4,096 pages"). */
  protected abstract describe(): string;

  /** Pages in the region the generator draws from, starting at `basePage`. */
  protected abstract get regionPages(): number;

  /**
   * The region it draws from: `[basePage, basePage + pages)`.
   *
   * @example
   * new UniformWorkload({ pages: 100, basePage: 5 }, new Rng(1)).footprint() // [[5, 100]]
   */
  footprint(): ReadonlyArray<readonly [number, number]> {
    return [[this.basePage, this.regionPages]];
  }

  /**
   * Write `count` absolute page numbers (basePage included) into `pages[0..count)`.
   * Return how many were written; fewer than `count` means the stream ended.
   */
  protected abstract generate(pages: Float64Array, count: number): number;

  /** Short self-description, e.g. "zipf(1.1) over 4,096 pages, 30% writes". */
  get name(): string {
    let text = this.describe();
    if (this.writeFraction > 0) text += `, ${+(this.writeFraction * 100).toFixed(2)}% writes`;
    if (this.basePage > 0) text += `, from page ${formatCount(this.basePage)}`;
    if (this.accesses !== Infinity) text += `, ${formatCount(this.accesses)} accesses`;
    return text;
  }

  /** Accesses produced so far. */
  get produced(): number {
    return this.producedCount;
  }

  fill(pages: Float64Array, kinds: Uint8Array): number {
    let count = pages.length < kinds.length ? pages.length : kinds.length;
    const left = this.accesses - this.producedCount;
    if (left < count) count = left;
    if (count <= 0) return 0;
    const n = this.generate(pages, count);
    if (n <= 0) return 0;
    const threshold = this.writeThreshold;
    if (threshold === 0) kinds.fill(READ, 0, n);
    else if (threshold >= 4294967296) kinds.fill(WRITE, 0, n);
    else {
      const rng = this.kindRng;
      const write = WRITE;
      const read = READ;
      for (let i = 0; i < n; i++) kinds[i] = rng.nextUint32() < threshold ? write : read;
    }
    this.producedCount += n;
    return n;
  }
}
