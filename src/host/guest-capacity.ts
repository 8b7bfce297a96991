/**
 * Whether a workload can ever fit in its guest. The guest keeps a workload's anonymous pages in
 * memory (beside the pages its kernel wires) or on its swap device; file-backed pages are dropped
 * and read back, so they need neither. A page read back from swap keeps its slot (guest-os.ts),
 * so bringing one back with swap full needs a slot to spare: memory plus swap minus one slot is
 * what a workload that revisits its pages can hold. More can only end in "guest ran out of
 * memory" seconds into a run, so the host refuses it when the VM is added (or its workload
 * changes), with the JSON path.
 */
import { MemvirtError } from "../util/errors";
import { mix32 } from "../util/rng";
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../util/units";
import { Workload } from "../workloads/workload";
import { GuestSettings } from "./guest-os";

/** Above this many footprint pages, file-backed pages are not counted one by one (the check is skipped). */
const COUNT_LIMIT_PAGES = 2 ** 24;

/**
 * The page-cache threshold of a file-backed fraction: a page is file-backed when its hash is below it.
 *
 * @example
 * fileBackedThreshold(0.25) // 1073741824
 */
export function fileBackedThreshold(fraction: number): number {
  return Math.round(fraction * 4294967296);
}

/**
 * Whether virtual page `vpn` is file-backed, for a threshold from `fileBackedThreshold` (a stable
 * hash, so the same every run).
 *
 * @example
 * isFileBackedPage(42, fileBackedThreshold(0.5))
 */
export function isFileBackedPage(vpn: number, threshold: number): boolean {
  if (threshold === 0) return false;
  return mix32((vpn >>> 0) ^ Math.imul((vpn / 4294967296) >>> 0, 0x9e3779b1)) < threshold;
}

/**
 * Anonymous pages among page ranges `[first, count]` (overlaps counted once), or undefined when
 * too many pages would have to be hashed to tell file-backed ones apart.
 *
 * @example
 * anonymousPagesIn([[0, 100], [50, 100]], 0) // 150
 */
export function anonymousPagesIn(ranges: ReadonlyArray<readonly [number, number]>, fileBackedFraction: number): number | undefined {
  const sorted = ranges.filter((r) => r[1] > 0).map((r) => [r[0], r[0] + r[1]]).sort((a, b) => a[0] - b[0]);
  const merged: number[][] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push(r.slice());
  }
  const total = merged.reduce((a, r) => a + r[1] - r[0], 0);
  const threshold = fileBackedThreshold(fileBackedFraction);
  if (threshold === 0) return total;
  if (total > COUNT_LIMIT_PAGES) return undefined;
  let anonymous = 0;
  for (const [from, to] of merged) for (let v = from; v < to; v++) if (!isFileBackedPage(v, threshold)) anonymous++;
  return anonymous;
}

/**
 * Anonymous pages a guest can hold: its memory beside the kernel, plus its swap less the one slot
 * a page coming back needs.
 *
 * @example
 * guestCapacityPages({ memoryPages: 1000, kernelPages: 16, swapPages: 500, fileBackedFraction: 0, where: "" }) // 1483
 */
export function guestCapacityPages(guest: GuestSettings): number {
  return guest.memoryPages - guest.kernelPages + Math.max(0, guest.swapPages - 1);
}

/**
 * Refuse a workload whose anonymous footprint exceeds what the guest can hold
 * (`guestCapacityPages`). Workloads of unknown footprint (traces) pass.
 *
 * @example
 * checkWorkloadFits(workload, vm.guest.settings, "vms[0].workload");
 */
export function checkWorkloadFits(workload: Workload | undefined, guest: GuestSettings, where: string): void {
  if (workload === undefined || typeof workload.footprint !== "function") return;
  const anonymous = anonymousPagesIn(workload.footprint(), guest.fileBackedFraction);
  if (anonymous === undefined) return;
  if (anonymous <= guestCapacityPages(guest)) return;
  const pages = (n: number) => `${formatCount(n)} pages (${formatBytes(n * PAGE_SIZE_BYTES)})`;
  throw new MemvirtError(
    `the workload touches ${pages(anonymous)} of anonymous memory, more than the guest can hold: ${pages(guest.memoryPages - guest.kernelPages)} of memory beside its kernel ` +
    `plus ${pages(guest.swapPages)} of guest swap, less the one slot a page coming back from swap needs; give the guest more swap ("guest": {"swap": ...}) or memory, or shrink the workload`,
    { where },
  );
}
