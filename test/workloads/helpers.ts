/** Test helpers: drain a workload into plain arrays. */
import { Workload } from "../../src/workloads/workload";

/** Take up to `count` accesses from a workload, in batches of `batch`. */
export function take(w: Workload, count: number, batch = 1000): { pages: number[]; kinds: number[] } {
  const p = new Float64Array(batch);
  const k = new Uint8Array(batch);
  const pages: number[] = [];
  const kinds: number[] = [];
  while (pages.length < count) {
    const n = w.fill(p.subarray(0, Math.min(batch, count - pages.length)), k.subarray(0, Math.min(batch, count - pages.length)));
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      pages.push(p[i]);
      kinds.push(k[i]);
    }
  }
  return { pages, kinds };
}

/** Counts of each value. */
export function histogram(values: number[]): Map<number, number> {
  const h = new Map<number, number>();
  for (const v of values) h.set(v, (h.get(v) ?? 0) + 1);
  return h;
}
