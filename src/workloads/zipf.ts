/**
 * Zipf accesses: the page of popularity rank r (1-based) is touched with probability
 * proportional to r^-s. s = 0 is uniform; s around 1 is typical of web and cache traces.
 *
 * Rank to page: by default rank r is page basePage + r - 1 (the hot pages sit together at the
 * start of the region). With `scatter`, ranks are spread over the region by an affine
 * permutation  page = (rank * A + B) mod N  (A coprime to N), which costs no memory, so hot
 * pages do not share page-table pages or large pages by accident.
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { MemvirtError, pathJoin } from "../util/errors";
import { GeneratedWorkload, GeneratorOptions } from "./generated-workload";
import { checkBoolean, checkNumber, checkPages, Size } from "./validate";
import { ZipfMethod, zipfSampler, ZipfSampler } from "./zipf-sampler";

/**
 * Options of a Zipf generator.
 * @internal
 */
export interface ZipfOptions extends GeneratorOptions {
  /** Pages in the region. */
  pages: Size;
  /** Zipf exponent s >= 0. */
  exponent: number;
  /** Spread popularity ranks over the region instead of hot pages first (default false). */
  scatter?: boolean;
  /** Sampling method; by default an alias table up to 2^18 pages, "hybrid" above. */
  method?: ZipfMethod;
}

/**
 * Zipf-distributed pages over `[basePage, basePage + pages)`.
 *
 * @internal
 * @example
 * const w = new ZipfWorkload({ pages: 4096, exponent: 1.1 }, new Rng(1));
 * w.name // "zipf(1.1) over 4,096 pages"
 */
export class ZipfWorkload extends GeneratedWorkload {
  readonly pages: number;
  readonly exponent: number;
  readonly scatter: boolean;
  readonly sampler: ZipfSampler;
  private readonly multiplier: number;
  private readonly offset: number;

  constructor(options: ZipfOptions, rng: Rng, where = "zipf") {
    super(rng, options, where);
    this.pages = checkPages(options.pages, pathJoin(where, "pages"));
    this.exponent = checkNumber(options.exponent, pathJoin(where, "exponent"), 0, 100);
    this.scatter = options.scatter === undefined ? false : checkBoolean(options.scatter, pathJoin(where, "scatter"));
    if (options.method !== undefined && options.method !== "alias" && options.method !== "rejection" && options.method !== "hybrid") {
      throw new MemvirtError("must be \"alias\", \"hybrid\" or \"rejection\"", { where: pathJoin(where, "method"), value: options.method });
    }
    this.sampler = zipfSampler(this.pages, this.exponent, options.method);
    if (this.scatter && this.pages > 1) {
      const s = rng.split("scatter");
      // rank * A must stay exact in a double: rank < 2^40, A < 2^13 for large N.
      const span = Math.min(this.pages, this.pages > 2 ** 32 ? 2 ** 13 : 2 ** 21);
      let a = 1 + s.int(span - 1);
      while (gcd(a, this.pages) !== 1) a = a + 1 >= span ? 1 : a + 1;
      this.multiplier = a;
      this.offset = s.int(this.pages);
    } else {
      this.multiplier = 1;
      this.offset = 0;
    }
  }

  protected get regionPages(): number {
    return this.pages;
  }

  /**
   * The page (relative to basePage) that holds 0-based popularity rank `rank`.
   *
   * @example
   * new ZipfWorkload({ pages: 10, exponent: 1 }, new Rng(1)).pageOfRank(0) // 0
   */
  pageOfRank(rank: number): number {
    return (rank * this.multiplier + this.offset) % this.pages;
  }

  protected describe(): string {
    return `zipf(${this.exponent}) over ${formatCount(this.pages)} pages${this.scatter ? " (scattered)" : ""}`;
  }

  protected generate(pages: Float64Array, count: number): number {
    const rng = this.pageRng;
    const base = this.basePage;
    const n = this.pages;
    const a = this.multiplier;
    const b = this.offset;
    const sampler = this.sampler;
    if (sampler.method === "alias") {
      // Inlined alias draw: the hot loop of most experiments.
      const entries = (sampler as unknown as { entries: Uint32Array }).entries;
      if (a === 1 && b === 0) {
        for (let i = 0; i < count; i++) {
          const col = rng.int(n);
          pages[i] = base + (rng.nextUint32() < entries[2 * col] ? col : entries[2 * col + 1]);
        }
      } else {
        for (let i = 0; i < count; i++) {
          const col = rng.int(n);
          const rank = rng.nextUint32() < entries[2 * col] ? col : entries[2 * col + 1];
          const x = rank * a + b;
          pages[i] = base + (x - Math.floor(x / n) * n); // (x mod n); floor beats % on doubles
        }
      }
    } else {
      for (let i = 0; i < count; i++) {
        const x = sampler.sample(rng) * a + b;
        pages[i] = base + (x - Math.floor(x / n) * n);
      }
    }
    return count;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
