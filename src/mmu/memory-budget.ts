/**
 * The simulator's memory budget. Its state lives in typed arrays (off the V8 heap), sized by
 * the configuration: 14 bytes per guest page of a host VM, about 113 bytes per TLB entry. A
 * configuration whose state cannot fit in this machine's memory used to run for minutes and
 * die with an internal RangeError (or the OOM killer); now each constructor estimates what it
 * will allocate and calls `checkStateFits` first, so it is refused at once, with the figure.
 *
 * The budget is 3/4 of `os.totalmem()`: the rest is for Node, the notebook and the OS.
 */
import * as os from "node:os";
import { MemvirtError } from "../util/errors";
import { formatBytes } from "../util/units";

/** The share of the machine's memory the simulator's state may take. */
export const STATE_BUDGET_FRACTION = 0.75;

/**
 * Bytes of simulator state this machine allows (3/4 of its memory).
 *
 * @example
 * stateBudgetBytes() // e.g. 12884901888 on a 16 GiB machine
 */
export function stateBudgetBytes(): number {
  return Math.floor(os.totalmem() * STATE_BUDGET_FRACTION);
}

/**
 * Refuse, before allocating, state that will not fit in the budget: the error names `where`,
 * the estimate and the machine's memory.
 *
 * @example
 * checkStateFits(113 * 2 ** 30, "a TLB of 1,073,741,824 entries", "tlb.entries", 2 ** 30);
 * // throws "tlb.entries: a TLB of 1,073,741,824 entries needs about 113 GiB of simulator state; this machine has 16 GiB of memory, of which the simulator may use 12 GiB (got 1073741824)"
 */
export function checkStateFits(bytes: number, what: string, where: string, value?: unknown): void {
  const budget = stateBudgetBytes();
  if (bytes <= budget) return;
  const options = value === undefined ? { where } : { where, value };
  throw new MemvirtError(
    `${what} needs about ${formatBytes(bytes)} of simulator state; this machine has ${formatBytes(os.totalmem())} of memory, of which the simulator may use ${formatBytes(budget)}`,
    options,
  );
}
