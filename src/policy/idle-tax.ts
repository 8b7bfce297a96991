/**
 * The allocation option: share-based allocation with an idle memory tax (Waldspurger §5.2).
 *
 *   experiment JSON:  "allocation": { "taxRate": 0.75 }        beside "reclamation"
 *   code:             new ReclamationPolicy({ allocation: { taxRate: 0.75 } })
 *
 * With the option, the reclamation policy charges each VM's pages f + k(1 − f) (shares-per-page.ts)
 * when it decides whom to reclaim from, f coming from the VM's working-set estimator. Without it
 * (or at τ = 0) allocation is plain proportional share, as before the tax existed.
 *
 * f is the fraction of the pages the VM *holds* that are active. An estimator measures active
 * pages as a fraction of the VM's configured memory (it samples every guest-physical page, as
 * ESX does), so f = estimated active pages / resident pages, at most 1. A VM without an estimate
 * counts as wholly active: the tax never charges a VM it knows nothing about.
 */
import { MemvirtError, pathJoin } from "../util/errors";
import { VmView } from "../host/host-policy";
import { checkTaxRate } from "./shares-per-page";

/** Waldspurger's default tax rate: an idle page costs k = 1/(1 − 0.75) = 4 active ones. */
export const DEFAULT_TAX_RATE = 0.75;

/** The allocation option as users write it. */
export interface AllocationParams {
  /** The idle memory tax rate τ in [0, 1) (default 0.75; 0 is plain proportional share). */
  taxRate?: number;
}

/** The allocation option, validated. */
export interface AllocationSettings {
  taxRate: number;
}

const KEYS = ["taxRate"];

/**
 * Validate the allocation option, filling in the default tax rate.
 *
 * @example
 * resolveAllocation({})                 // { taxRate: 0.75 }
 * resolveAllocation({ taxRate: 0 })     // { taxRate: 0 }: plain proportional share
 * resolveAllocation({ taxRate: 1 }, "allocation") // throws "allocation.taxRate: must be a tax rate ..."
 */
export function resolveAllocation(value: unknown, where = "allocation"): AllocationSettings {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MemvirtError("must be an object such as {\"taxRate\": 0.75}", { where, value });
  for (const [key, v] of Object.entries(value)) {
    if (!KEYS.includes(key)) throw new MemvirtError(`unknown field (valid fields: ${KEYS.join(", ")})`, { where: pathJoin(where, key), value: v });
  }
  const raw = (value as AllocationParams).taxRate;
  return { taxRate: raw === undefined ? DEFAULT_TAX_RATE : checkTaxRate(raw, pathJoin(where, "taxRate")) };
}

/**
 * The active fraction f of the pages a VM holds, from its published estimate: 1 without an
 * estimate (never tax the unknown) or without pages.
 *
 * @example
 * activeFractionOf(host.vms[0]) // e.g. 0.05 for an idle VM holding 30,000 pages
 */
export function activeFractionOf(vm: VmView): number {
  const active = vm.estimatedActivePages;
  if (active === null || active === undefined || !(vm.residentPages > 0)) return 1;
  return Math.max(0, Math.min(1, active / vm.residentPages));
}
