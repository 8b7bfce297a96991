/**
 * Who gives up memory: proportional-share revocation (Waldspurger §5).
 *
 * Each VM has ρ = shares / (allocated pages × costFactor). Memory is reclaimed from the VM with
 * the lowest ρ (the most pages per share) first. With costFactor = 1 this is plain proportional
 * share; the idle memory tax sets costFactor = f + k(1 − f), charging idle pages k times more.
 *
 * Taking pages one at a time from the lowest-ρ VM equals water-filling: find the level L such
 * that every VM keeps max(min, min(allocated, L · shares / costFactor)) pages and the pages
 * taken add up to what is needed. We binary-search L, then settle the few pages left by
 * rounding one at a time, so the result matches the page-at-a-time definition (up to ties).
 *
 * Invariants: reclaim[i] ≤ allocated[i] − min[i] (never below a reservation); the total is
 * min(need, Σ reclaimable).
 */

/**
 * One VM as the plan sees it.
 * @internal
 */
export interface ReclaimCandidate {
  /** Pages the VM holds (or will hold once in-flight reclamation completes). */
  allocatedPages: number;
  /** Reservation: never reclaim below this. */
  minPages: number;
  shares: number;
  /** Multiplies allocated pages when comparing ρ (default 1; the idle memory tax raises it). */
  costFactor?: number;
}

/**
 * Pages to reclaim from each VM so that `needPages` come back from the lowest-ρ VMs.
 *
 * @internal
 * @example
 * planReclaim([{ allocatedPages: 800, minPages: 0, shares: 1 }, { allocatedPages: 200, minPages: 0, shares: 1 }], 400)
 * // [400, 0]: the first VM drops to 400 pages, still not below the second's 200
 */
export function planReclaim(vms: readonly ReclaimCandidate[], needPages: number): number[] {
  const n = vms.length;
  const out = new Array<number>(n).fill(0);
  if (!(needPages > 0) || n === 0) return out;
  const weight = vms.map((v) => v.shares / (v.costFactor ?? 1)); // pages per unit of level
  const keep = (i: number, level: number) => Math.max(vms[i].minPages, Math.min(vms[i].allocatedPages, Math.floor(level * weight[i])));
  let reclaimable = 0;
  for (const v of vms) reclaimable += Math.max(0, v.allocatedPages - v.minPages);
  const need = Math.min(Math.floor(needPages), reclaimable);
  if (need === 0) return out;
  const taken = (level: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.max(0, vms[i].allocatedPages - keep(i, level));
    return sum;
  };
  // Largest level at which at least `need` pages are taken.
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) hi = Math.max(hi, (vms[i].allocatedPages + 1) / Math.max(weight[i], 1e-300));
  for (let iter = 0; iter < 200 && hi - lo > hi * 1e-15; iter++) {
    const mid = (lo + hi) / 2;
    if (taken(mid) >= need) lo = mid;
    else hi = mid;
  }
  for (let i = 0; i < n; i++) out[i] = Math.max(0, vms[i].allocatedPages - keep(i, hi));
  let left = need - out.reduce((a, b) => a + b, 0);
  // Settle rounding: one page at a time from the VM with the lowest ρ after what it already gives.
  while (left > 0) {
    let best = -1;
    let bestRho = Infinity;
    for (let i = 0; i < n; i++) {
      const remaining = vms[i].allocatedPages - out[i];
      if (remaining <= vms[i].minPages) continue;
      const rho = weight[i] / remaining;
      if (rho < bestRho) { bestRho = rho; best = i; }
    }
    if (best < 0) break;
    out[best]++;
    left--;
  }
  return out;
}
