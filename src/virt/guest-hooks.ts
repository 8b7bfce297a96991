/**
 * What a guest OS does that the hardware and the VMM can see. The guest OS model calls these;
 * each translation mode implements them (a plain store natively, a trap under shadow paging, a
 * hypercall under protected paging...).
 */

/**
 * Page-table and address-space events of a guest OS.
 * @internal
 */
export interface GuestHooks {
  /** The guest read entry `index` of table `table` (an entry of `level`) in address space `asid`. */
  pteRead(asid: number, table: number, index: number, level: number): void;
  /** The guest wrote that entry; `page` is the first page it covers, `oldFlags` its flags before. */
  pteWrite(asid: number, table: number, index: number, level: number, page: number, oldFlags: number): void;
  /** INVLPG: the guest dropped a stale translation of `page`. */
  invalidatePage(asid: number, page: number): void;
  /** The guest flushed a whole address space's translations (after freeing page tables). */
  flushAddressSpace(asid: number): void;
  /** MOV CR3: the guest now runs `asid`. */
  switchAddressSpace(asid: number): void;
  /** A new address space (empty root table) exists. */
  createAddressSpace(asid: number): void;
  /** An address space is gone (its tables are freed). */
  destroyAddressSpace(asid: number): void;
  /**
   * The guest starts a run of page-table updates it will not rely on before `leaveLazyMmu`
   * (Linux's lazy MMU mode, around fork's copy, munmap's and exit's zap, mprotect), so a
   * paravirtual VMM may batch them.
   */
  enterLazyMmu(asid: number): void;
  /** End of that run: updates still queued must reach the VMM now. */
  leaveLazyMmu(asid: number): void;
  /** The guest is about to drop every mapping and table of `asid` (exit_mmap; exec drops the old image so). */
  beginTeardown(asid: number): void;
  /** The teardown is done; if `asid` still exists (exec), its empty root serves the new image. */
  endTeardown(asid: number): void;
}

/**
 * Hooks that do nothing (a guest OS before a mode is attached).
 *
 * @internal
 * @example
 * guest.hooks = NULL_HOOKS;
 */
export const NULL_HOOKS: GuestHooks = {
  pteRead() {},
  pteWrite() {},
  invalidatePage() {},
  flushAddressSpace() {},
  switchAddressSpace() {},
  createAddressSpace() {},
  destroyAddressSpace() {},
  enterLazyMmu() {},
  leaveLazyMmu() {},
  beginTeardown() {},
  endTeardown() {},
};
