/** Test helpers for the host: a scripted workload that replays a fixed list of accesses. */
import { READ, Workload } from "../../src/workloads/workload";

/**
 * Replays `pages` (and `kinds`, default all reads) once, or forever with `loop`.
 *
 * @example
 * new ScriptWorkload([0, 1, 2]);
 */
export class ScriptWorkload implements Workload {
  readonly name: string;
  private i = 0;
  constructor(private readonly pages: number[], private readonly kinds: number[] = [], private readonly loop = false) {
    this.name = `script of ${pages.length} accesses`;
  }
  fill(pages: Float64Array, kinds: Uint8Array): number {
    let n = 0;
    while (n < pages.length) {
      if (this.i >= this.pages.length) {
        if (!this.loop || this.pages.length === 0) break;
        this.i = 0;
      }
      pages[n] = this.pages[this.i];
      kinds[n] = this.kinds[this.i] ?? READ;
      this.i++;
      n++;
    }
    return n;
  }
}

/** 0, 1, ..., n-1 */
export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
