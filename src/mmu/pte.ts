/**
 * Page-table entry bits (x86-64 layout, the subset the model uses).
 *
 *   63            52 51                      12 11  8 7  6 5 4 3 2 1 0
 *  +----------------+--------------------------+-----+--+-+-+---+-+-+-+
 *  |    (unused)    |  frame number (4K units) | ign |PS|D|A|   |U|W|P|
 *  +----------------+--------------------------+-----+--+-+-+---+-+-+-+
 *
 * An entry's value is `frame * 4096 + flags`, exact in a double for frames below 2^41. In the
 * simulator the frame and the flags are stored in separate typed arrays (see PageTablePool).
 */

/**
 * Present: the entry maps something.
 * @internal
 */
export const PTE_PRESENT = 0x01;
/**
 * Writable: stores are allowed.
 * @internal
 */
export const PTE_WRITABLE = 0x02;
/**
 * User: user mode may access.
 * @internal
 */
export const PTE_USER = 0x04;
/**
 * Accessed: set by the walker when the entry is used.
 * @internal
 */
export const PTE_ACCESSED = 0x20;
/**
 * Dirty: set by the walker on a store through a leaf.
 * @internal
 */
export const PTE_DIRTY = 0x40;
/**
 * Page size: this non-level-1 entry is a leaf (2 MiB or 1 GiB page).
 * @internal
 */
export const PTE_LARGE = 0x80;

/**
 * The 64-bit entry value as a number: frame in bits 51..12, flags in bits 11..0.
 *
 * @internal
 * @example
 * pteValue(0x1234, PTE_PRESENT | PTE_WRITABLE) // 0x1234003
 */
export function pteValue(frame: number, flags: number): number {
  return frame * 4096 + (flags & 0xfff);
}

/**
 * Flags as letters, e.g. "P W U A D PS", for explain text and tables.
 *
 * @internal
 * @example
 * describePteFlags(PTE_PRESENT | PTE_WRITABLE) // "P W"
 */
export function describePteFlags(flags: number): string {
  const out: string[] = [];
  if (flags & PTE_PRESENT) out.push("P");
  if (flags & PTE_WRITABLE) out.push("W");
  if (flags & PTE_USER) out.push("U");
  if (flags & PTE_ACCESSED) out.push("A");
  if (flags & PTE_DIRTY) out.push("D");
  if (flags & PTE_LARGE) out.push("PS");
  return out.length ? out.join(" ") : "-";
}

/**
 * A hexadecimal address or entry value, `0x` prefixed (exact for integers below 2^53).
 *
 * @internal
 * @example
 * hex(4096) // "0x1000"
 */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
