/**
 * Waldspurger's adjusted shares-per-page ratio with an idle memory tax (OSDI 2002, §5.2):
 *
 *   ρ = S / (P · (f + k·(1 − f))),   k = 1 / (1 − τ)
 *
 * S shares, P pages allocated, f the fraction of them actively used, τ the tax rate. An idle page
 * costs k times an active one, so a VM that hoards idle memory has a low ρ, and min-funding
 * revocation (reclaim from the lowest ρ first) takes its pages first. τ = 0 makes k = 1 and ρ plain
 * proportional share, S / P, whatever f is; τ → 1 would make idle pages infinitely costly, so τ
 * must stay below 1. Check values (BRIEF §3): S = 1000, P = 256, f = 0.25 gives ρ ≈ 1.202 at
 * τ = 0.75 (k = 4) and 3.906 at τ = 0.
 */
import { MemvirtError, pathJoin } from "../util/errors";

/** The inputs of ρ. */
export interface SharesPerPageInput {
  /** The VM's shares S (at least 0). */
  shares: number;
  /** Pages allocated to the VM, P (positive). */
  pages: number;
  /** The fraction f of those pages actively used, in [0, 1]. */
  activeFraction: number;
  /** The idle memory tax rate τ, in [0, 1). */
  taxRate: number;
}

/**
 * The cost of one allocated page relative to an active one: f + k·(1 − f), with k = 1/(1 − τ).
 * It is 1 at τ = 0 (or f = 1) and k for a wholly idle VM.
 *
 * @example
 * idleCostFactor(0.25, 0.75) // 0.25 + 4 × 0.75 = 3.25
 * idleCostFactor(0.25, 0)    // 1
 */
export function idleCostFactor(activeFraction: number, taxRate: number, where = "idleCostFactor"): number {
  const f = checkActiveFraction(activeFraction, pathJoin(where, "activeFraction"));
  const tau = checkTaxRate(taxRate, pathJoin(where, "taxRate"));
  if (tau === 0) return 1; // exactly proportional share, with no rounding from f + (1 − f)
  const k = 1 / (1 - tau);
  return f + k * (1 - f);
}

/**
 * ρ = S / (P·(f + k(1 − f))): shares per page, adjusted for idle memory. Reclaim from the VM
 * with the lowest ρ first.
 *
 * @example
 * sharesPerPage({ shares: 1000, pages: 256, activeFraction: 0.25, taxRate: 0.75 }) // ≈ 1.202
 * sharesPerPage({ shares: 1000, pages: 256, activeFraction: 0.25, taxRate: 0 })    // ≈ 3.906
 */
export function sharesPerPage(input: SharesPerPageInput, where = "sharesPerPage"): number {
  if (typeof input !== "object" || input === null) throw new MemvirtError("expected { shares, pages, activeFraction, taxRate }", { where, value: input });
  const { shares, pages } = input;
  if (typeof shares !== "number" || !Number.isFinite(shares) || shares < 0) throw new MemvirtError("must be a number of shares, at least 0", { where: pathJoin(where, "shares"), value: shares });
  if (typeof pages !== "number" || !Number.isFinite(pages) || pages <= 0) throw new MemvirtError("must be a positive number of pages", { where: pathJoin(where, "pages"), value: pages });
  return shares / (pages * idleCostFactor(input.activeFraction, input.taxRate, where));
}

/**
 * A tax rate τ in [0, 1), named by `where` when wrong.
 *
 * @example
 * checkTaxRate(0.75, "allocation.taxRate") // 0.75
 */
export function checkTaxRate(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new MemvirtError("must be a tax rate from 0 up to, not including, 1 (0.75 charges an idle page 4 times an active one)", { where, value });
  }
  return value;
}

function checkActiveFraction(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) throw new MemvirtError("must be a fraction from 0 to 1", { where, value });
  return value;
}
