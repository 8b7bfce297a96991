/**
 * Hot-cold accesses: a fraction `hotAccessFraction` of accesses go, uniformly, to the first
 * `hotFraction` of the region's pages; the rest go uniformly to the remaining (cold) pages.
 *
 *   region: [ hot: hotFraction·N | cold: (1 - hotFraction)·N ]
 *   access: hot with probability hotAccessFraction, else cold
 *
 * The classic "80% of accesses to 20% of the pages" is hotFraction 0.2, hotAccessFraction 0.8.
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { pathJoin } from "../util/errors";
import { GeneratedWorkload, GeneratorOptions } from "./generated-workload";
import { checkFraction, checkPages, Size } from "./validate";

/**
 * Options of a hot-cold generator.
 * @internal
 */
export interface HotColdOptions extends GeneratorOptions {
  /** Pages in the region. */
  pages: Size;
  /** Fraction of the pages that are hot (at least one page is hot). */
  hotFraction: number;
  /** Fraction of accesses that go to the hot pages. */
  hotAccessFraction: number;
}

/**
 * Hot-cold pages over `[basePage, basePage + pages)`; the hot pages come first.
 *
 * @internal
 * @example
 * const w = new HotColdWorkload({ pages: 1000, hotFraction: 0.2, hotAccessFraction: 0.8 }, new Rng(1));
 * w.hotPages // 200
 */
export class HotColdWorkload extends GeneratedWorkload {
  readonly pages: number;
  readonly hotFraction: number;
  readonly hotAccessFraction: number;
  /** Number of hot pages: round(hotFraction · pages), at least 1. */
  readonly hotPages: number;
  private readonly hotThreshold: number;

  constructor(options: HotColdOptions, rng: Rng, where = "hot-cold") {
    super(rng, options, where);
    this.pages = checkPages(options.pages, pathJoin(where, "pages"));
    this.hotFraction = checkFraction(options.hotFraction, pathJoin(where, "hotFraction"));
    this.hotAccessFraction = checkFraction(options.hotAccessFraction, pathJoin(where, "hotAccessFraction"));
    this.hotPages = Math.min(this.pages, Math.max(1, Math.round(this.hotFraction * this.pages)));
    // All accesses are hot when there are no cold pages.
    this.hotThreshold = this.hotPages === this.pages ? 4294967296 : Math.round(this.hotAccessFraction * 4294967296);
  }

  protected get regionPages(): number {
    return this.pages;
  }

  protected describe(): string {
    return `hot-cold over ${formatCount(this.pages)} pages (${+(this.hotAccessFraction * 100).toFixed(2)}% of accesses to ${formatCount(this.hotPages)} hot pages)`;
  }

  protected generate(pages: Float64Array, count: number): number {
    const rng = this.pageRng;
    const base = this.basePage;
    const hot = this.hotPages;
    const cold = this.pages - hot;
    const threshold = this.hotThreshold;
    for (let i = 0; i < count; i++) {
      pages[i] = rng.nextUint32() < threshold ? base + rng.int(hot) : base + hot + rng.int(cold);
    }
    return count;
  }
}
