/**
 * What page sharing saves, and where the saving comes from, read off the host's pages.
 *
 *   a shared frame with r references from k distinct VMs saves r − 1 machine pages:
 *     zero page            → all r − 1 are zero-page saving
 *     otherwise            → k − 1 across VMs, r − k within one VM
 *
 * Scan cost is counted by the scanners (`ScanCost`); this module only adds it up.
 */
import { HostControl } from "../host/host-policy";
import type { Host } from "../host/host";
import { SHARED } from "../host/page-state";
import { ZERO_CONTENT } from "../host/page-contents";

/** Cumulative cost of a scanner: pages hashed, pages compared in full, modelled CPU time. */
export interface ScanCost {
  pagesScanned: number;
  pagesHashed: number;
  pagesCompared: number;
  /** Modelled CPU seconds: hashed × hashNs + compared × compareNs. */
  cpuSeconds: number;
}

/** Machine pages saved by sharing, in total and by source. */
export interface SharingSavings {
  /** Guest pages mapping a shared frame. */
  sharedPages: number;
  /** Shared frames. */
  sharedFrames: number;
  /** Machine pages saved: sharedPages − sharedFrames. */
  savedPages: number;
  /** Of the saving: pages that were zero pages. */
  zeroPages: number;
  /** Of the saving: non-zero pages matched by a page of the same VM. */
  withinPages: number;
  /** Of the saving: non-zero pages matched by a page of another VM. */
  acrossPages: number;
}

/**
 * The saving of page sharing on this host now (O(guest pages)). Takes the `Host` a notebook holds
 * (or the `HostControl` a policy sees: the same object).
 *
 * @example
 * const s = sharingSavings(host); // { savedPages, zeroPages, withinPages, acrossPages, ... }
 */
export function sharingSavings(hostOrControl: Host | HostControl): SharingSavings {
  const host = hostOrControl as unknown as HostControl; // a Host is its own HostControl
  const refs = new Map<number, number>();
  const vmsOf = new Map<number, Set<number>>();
  for (const vm of host.vms) {
    const hstate = vm.hstate;
    const p2m = vm.p2m;
    if (!p2m) continue;
    for (let p = 0; p < hstate.length; p++) {
      if (hstate[p] !== SHARED) continue;
      const f = p2m[p];
      refs.set(f, (refs.get(f) ?? 0) + 1);
      let set = vmsOf.get(f);
      if (!set) vmsOf.set(f, (set = new Set()));
      set.add(vm.index);
    }
  }
  const out: SharingSavings = { sharedPages: 0, sharedFrames: refs.size, savedPages: 0, zeroPages: 0, withinPages: 0, acrossPages: 0 };
  for (const [f, r] of refs) {
    out.sharedPages += r;
    out.savedPages += r - 1;
    if (host.shared?.content(f) === ZERO_CONTENT) out.zeroPages += r - 1;
    else {
      const k = vmsOf.get(f)!.size;
      out.acrossPages += k - 1;
      out.withinPages += r - k;
    }
  }
  return out;
}
