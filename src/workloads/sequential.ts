/**
 * Sequential accesses: a scan walks the region once, page by page; a loop walks it forever.
 *
 *   scan: 0 1 2 ... N-1            (then finished)
 *   loop: 0 1 2 ... N-1 0 1 2 ...  (endless)
 *
 * `accessesPerPage` repeats each page k times in a row, like a program reading a page
 * 64 bytes at a time (k = 64), which is what makes TLBs effective on scans.
 * A loop one page larger than an LRU memory misses on every access: the classic LRU pathology.
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { MemvirtError, pathJoin } from "../util/errors";
import { GeneratedWorkload, GeneratorOptions } from "./generated-workload";
import { checkCount, checkPages, Size } from "./validate";

/**
 * Options of a scan or loop.
 * @internal
 */
export interface SequentialOptions extends GeneratorOptions {
  /** Pages in the region. */
  pages: Size;
  /** Consecutive accesses to each page before moving on (default 1). */
  accessesPerPage?: number;
}

/**
 * One pass over `[basePage, basePage + pages)`, then finished. An `accesses` longer than one
 * pass (pages × accessesPerPage) is refused: that is a loop.
 *
 * @internal
 * @example
 * const w = new ScanWorkload({ pages: 3 }, new Rng(1));
 * const p = new Float64Array(8), k = new Uint8Array(8);
 * w.fill(p, k); // 3, with p = [0, 1, 2, ...]
 */
export class ScanWorkload extends GeneratedWorkload {
  readonly pages: number;
  readonly accessesPerPage: number;
  /** Whether the walk restarts at the first page (loop) or ends (scan). */
  readonly repeat: boolean;
  private page = 0;
  private repetition = 0;

  constructor(options: SequentialOptions, rng: Rng, where = "scan", repeat = false) {
    super(rng, options, where);
    this.pages = checkPages(options.pages, pathJoin(where, "pages"));
    this.accessesPerPage = options.accessesPerPage === undefined ? 1 : checkCount(options.accessesPerPage, pathJoin(where, "accessesPerPage"), 1);
    this.repeat = repeat;
    // A scan ends after one pass; a longer length would be silently cut while its name claims it.
    const passAccesses = this.pages * this.accessesPerPage;
    if (!repeat && this.accesses !== Infinity && this.accesses > passAccesses) {
      throw new MemvirtError(
        `is more than one pass over the scan's region (${formatCount(this.pages)} pages × ${formatCount(this.accessesPerPage)} = ${formatCount(passAccesses)} accesses), ` +
        `and a scan ends after one pass: use "kind": "loop" to go round again, or leave accesses out`,
        { where: pathJoin(where, "accesses"), value: options.accesses },
      );
    }
  }

  protected get regionPages(): number {
    return this.pages;
  }

  protected describe(): string {
    const per = this.accessesPerPage > 1 ? `, ${formatCount(this.accessesPerPage)} accesses per page` : "";
    return `${this.repeat ? "loop" : "scan"} over ${formatCount(this.pages)} pages${per}`;
  }

  protected generate(pages: Float64Array, count: number): number {
    const base = this.basePage;
    const n = this.pages;
    const k = this.accessesPerPage;
    let page = this.page;
    let rep = this.repetition;
    let i = 0;
    while (i < count) {
      if (page >= n) {
        if (!this.repeat) break;
        page = 0;
      }
      pages[i++] = base + page;
      if (++rep === k) {
        rep = 0;
        page++;
      }
    }
    this.page = page;
    this.repetition = rep;
    return i;
  }
}

/**
 * An endless loop over `[basePage, basePage + pages)`.
 *
 * @internal
 * @example
 * const w = new LoopWorkload({ pages: 3 }, new Rng(1));
 * // pages 0 1 2 0 1 2 ...
 */
export class LoopWorkload extends ScanWorkload {
  constructor(options: SequentialOptions, rng: Rng, where = "loop") {
    super(options, rng, where, true);
  }
}
