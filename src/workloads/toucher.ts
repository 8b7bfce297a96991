/**
 * The "toucher": uniform accesses over a working set whose size can change while it runs.
 * It is the knob of ballooning experiments: grow or shrink a VM's demand at a chosen moment
 * and watch the host's estimate and the balloon follow.
 *
 *   [ working set: workingSetPages ]  (pages beyond it are left alone, so they go idle)
 */
import { Rng } from "../util/rng";
import { formatCount } from "../util/units";
import { pathJoin } from "../util/errors";
import { GeneratedWorkload, GeneratorOptions } from "./generated-workload";
import { checkPages, Size } from "./validate";

/** Options of a toucher. */
export interface ToucherOptions extends GeneratorOptions {
  /** Initial working set, in pages (or a size string). */
  workingSetPages: Size;
}

/**
 * Uniform accesses over `[basePage, basePage + workingSetPages)`, resizable at run time.
 *
 * @example
 * const w = new ToucherWorkload({ workingSetPages: "64 MiB" }, new Rng(1));
 * w.setWorkingSetPages(1000); // later accesses touch only pages 0..999
 */
export class ToucherWorkload extends GeneratedWorkload {
  private workingSet: number;
  private readonly where: string;

  constructor(options: ToucherOptions, rng: Rng, where = "toucher") {
    super(rng, options, where);
    this.where = pathJoin(where, "workingSetPages");
    this.workingSet = checkPages(options.workingSetPages, this.where);
  }

  /** The current working set, in pages. */
  get workingSetPages(): number {
    return this.workingSet;
  }

  /**
   * Change the working set; the next `fill` uses the new size.
   *
   * @example
   * toucher.setWorkingSetPages("128 MiB");
   */
  setWorkingSetPages(pages: Size): void {
    this.workingSet = checkPages(pages, this.where);
  }

  protected get regionPages(): number {
    return this.workingSet;
  }

  protected describe(): string {
    return `toucher over a ${formatCount(this.workingSet)}-page working set`;
  }

  protected generate(pages: Float64Array, count: number): number {
    const rng = this.pageRng;
    const base = this.basePage;
    const n = this.workingSet;
    for (let i = 0; i < count; i++) pages[i] = base + rng.int(n);
    return count;
  }
}
