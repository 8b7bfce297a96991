/**
 * The nested TLB (NTLB): caches host-dimension translations gPA page → hPA page during 2-D
 * walks, tagged by VM (VPID/ASID of the guest). A hit replaces a whole host walk (m references)
 * by one lookup. Bhargava et al. (ASPLOS 2008) report it adds 3–7% on top of a nested-aware
 * page-walk cache.
 *
 * Default shape (≈): 16 entries, fully associative. AMD does not publish its NTLB size; small,
 * fully associative structures like this one are what the 2008 study evaluated.
 */
import { SetAssociativeCache } from "./set-associative-cache";
import { resolveShape } from "./tlb";

/** Nested TLB configuration. */
export interface NestedTlbOptions {
  entries?: number;
  ways?: number;
}

/** 16 entries, fully associative (≈). */
export const DEFAULT_NESTED_TLB: Readonly<Required<NestedTlbOptions>> = { entries: 16, ways: 16 };

/**
 * Keys are host-page numbers of guest-physical addresses; values the host frame of that page.
 *
 * @example
 * const ntlb = new NestedTlb();
 * ntlb.insert(0, gpaPage, hpaFrame, 0, 0);
 */
export class NestedTlb extends SetAssociativeCache {
  constructor(options: NestedTlbOptions = {}, where = "nestedTlb") {
    super(resolveShape(options, DEFAULT_NESTED_TLB, where), where);
  }
}
