/**
 * Uniform accesses: every page of the region is equally likely on every access.
 * The baseline with no locality at all: an LRU cache of k pages hits with probability k/N.
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { GeneratedWorkload, GeneratorOptions } from "./generated-workload";
import { checkPages, Size } from "./validate";
import { pathJoin } from "../util/errors";

/**
 * Options of a uniform generator.
 * @internal
 */
export interface UniformOptions extends GeneratorOptions {
  /** Pages in the region. */
  pages: Size;
}

/**
 * Uniform random pages over `[basePage, basePage + pages)`.
 *
 * @internal
 * @example
 * const w = new UniformWorkload({ pages: 4096, writeFraction: 0.3 }, new Rng(1));
 * const pages = new Float64Array(1024), kinds = new Uint8Array(1024);
 * w.fill(pages, kinds); // 1024
 */
export class UniformWorkload extends GeneratedWorkload {
  /** Pages in the region. */
  readonly pages: number;

  constructor(options: UniformOptions, rng: Rng, where = "uniform") {
    super(rng, options, where);
    this.pages = checkPages(options.pages, pathJoin(where, "pages"));
  }

  protected get regionPages(): number {
    return this.pages;
  }

  protected describe(): string {
    return `uniform over ${formatCount(this.pages)} pages`;
  }

  protected generate(pages: Float64Array, count: number): number {
    const rng = this.pageRng;
    const n = this.pages;
    const base = this.basePage;
    for (let i = 0; i < count; i++) pages[i] = base + rng.int(n);
    return count;
  }
}
