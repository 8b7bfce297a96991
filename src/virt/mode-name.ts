/**
 * The four ways memory is translated, behind one interface (see translation-mode.ts):
 *
 *   native     VA ──guest table──▶ PA                      (no hypervisor)
 *   protected  gVA ──guest table holding machine frames──▶ hPA   (Xen PV direct paging)
 *   shadow     gVA ──VMM's shadow table (V→M)──▶ hPA        (guest V→P + VMM P→M combined)
 *   nested     gVA ──guest table──▶ gPA ──host table──▶ hPA (AMD NPT / Intel EPT, 2-D walk)
 */
import { MemvirtError } from "../util/errors";

/** A translation mode. */
export type ModeName = "native" | "protected" | "shadow" | "nested";

/** All modes, in teaching order. */
export const MODE_NAMES: readonly ModeName[] = ["native", "protected", "shadow", "nested"];

/**
 * Check a mode name, naming where it came from when it is wrong.
 *
 * @internal
 * @example
 * parseMode("nested", "--mode") // "nested"
 */
export function parseMode(value: unknown, where = "mode"): ModeName {
  if (typeof value === "string" && (MODE_NAMES as readonly string[]).includes(value)) return value as ModeName;
  throw new MemvirtError(`expected a mode: ${MODE_NAMES.join(", ")}`, { where, value });
}
