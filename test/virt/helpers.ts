/** Shared pieces of the random guest scripts that the virt property tests drive. */
import fc from "fast-check";
import type { Mmu } from "../../src/virt/mmu";
import { WRITE } from "../../src/workloads/workload";
import type { PageSize } from "../../src/mmu/page-size";

/**
 * A fork + exec burst: the child touches `touches` (stores), then exits, and the parent runs
 * again. Returns the machine frames the child's stores reached.
 */
export function forkExecBurst(mmu: Mmu, touches: number[]): number[] {
  const g = mmu.guest;
  const parent = g.current;
  const child = g.fork(parent);
  g.switchTo(child);
  g.exec(child);
  const frames = touches.map((p) => mmu.accessPage(p, WRITE));
  g.switchTo(parent);
  g.exit(child);
  return frames;
}

/** The hardware settings every mode shares, drawn at random. */
export const hardwareArb = {
  guestPageSize: fc.constantFrom<PageSize>("4K", "2M"),
  hostPageSize: fc.constantFrom<PageSize>("4K", "2M"),
  pwc: fc.constantFrom("none" as const, "uptc" as const, "stc" as const),
  nestedTlb: fc.boolean(),
  shadowCacheSize: fc.integer({ min: 1, max: 3 }),
  trapReads: fc.boolean(),
};
