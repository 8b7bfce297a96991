/**
 * Per-page states, stored one byte per page in typed arrays (never per-page objects).
 *
 * Host side: every guest-physical page of a VM is in exactly one host state.
 *
 *   UNBACKED ──first touch──▶ RESIDENT ──host swap-out──▶ HOST_SWAPPED
 *      ▲                       │  ▲  ▲                        │
 *      │                       │  │  └──────swap-in───────────┘
 *      │                 invalidate│ trap
 *      │                       ▼  │
 *      │                     TRAPPED            (any state) ──balloon inflate──▶ BALLOONED
 *      └──────────────balloon deflate──────────────────────────────────────────────┘
 *
 * Invariants:
 * - A page holds a machine frame (P→M entry ≥ 0) exactly when it is RESIDENT or TRAPPED; a SHARED
 *   page maps a frame shared copy-on-write with other pages (scanners merge RESIDENT/TRAPPED pages
 *   into SHARED; a write, ballooning or a host swap-out takes the page out again).
 * - A page holds a host swap slot exactly when it is HOST_SWAPPED.
 * - A BALLOONED page holds neither: the guest pinned it and promised not to touch it.
 * - Only RESIDENT is the fast path: an access to a page in any other state is a host fault
 *   (handled by the host), which is how later policies (sampling, sharing) observe accesses.
 */

/**
 * Never touched since boot (or given back by the balloon): no frame, no swap slot.
 * @internal
 */
export const UNBACKED = 0;
/**
 * Backed by a machine frame and mapped: accesses run at memory speed.
 * @internal
 */
export const RESIDENT = 1;
/**
 * Backed by a machine frame but unmapped by the host, so the next access traps (sampling).
 * @internal
 */
export const TRAPPED = 2;
/**
 * Contents on the hypervisor swap device.
 * @internal
 */
export const HOST_SWAPPED = 3;
/**
 * Pinned by the guest's balloon driver and handed to the host.
 * @internal
 */
export const BALLOONED = 4;
/**
 * Mapped read-only to a frame shared copy-on-write (shared-frames.ts); a write copies it (Vm.writePage).
 * @internal
 */
export const SHARED = 5;

/**
 * Names of host page states, indexed by state.
 * @internal
 */
export const HOST_STATE_NAMES = ["unbacked", "resident", "trapped", "host-swapped", "ballooned", "shared"] as const;

/**
 * Guest-side flag bits, one byte per guest-physical page.
 * REF and DIRTY are the hardware accessed/dirty bits the guest's CLOCK reads.
 * @internal
 */
export const G_REF = 1;
/** @internal */
export const G_DIRTY = 2;
/**
 * The guest has allocated this page (it holds a virtual page, a kernel page or a balloon page).
 * @internal
 */
export const G_IN_USE = 4;
/**
 * Pinned by the balloon driver: the guest's replacement policy must skip it.
 * @internal
 */
export const G_PINNED = 8;
/**
 * Holds a file page (page cache), not anonymous memory.
 * @internal
 */
export const G_FILE = 16;
/**
 * Kernel memory sized by the configured memory (e.g. `struct page`): never paged.
 * @internal
 */
export const G_WIRED = 32;
/**
 * An anonymous page whose copy on the guest swap device is still valid (clean swap cache).
 * @internal
 */
export const G_SWAP_COPY = 64;
/**
 * Not a guest bit: the simulator's ground truth for working-set estimators. Every guest access
 * sets it together with REF (so the hot path pays nothing); the timeline counts and clears it
 * at each sample (`GuestOs.takeTouchedPages`). No guest or host decision ever reads it.
 * @internal
 */
export const G_TOUCHED = 128;

/**
 * Where a virtual page is, stored in the guest's V→P table when it is not in guest memory.
 * Non-negative values are guest-physical page numbers.
 * @internal
 */
export const V_UNTOUCHED = -1;
/** @internal */
export const V_GUEST_SWAPPED = -2;
/** @internal */
export const V_ON_FILE = -3;
