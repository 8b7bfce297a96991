/**
 * ESX's free-memory states (Waldspurger, OSDI 2002): the fraction of machine memory that is free
 * decides how hard the host reclaims.
 *
 *   free ≥ 6% ──────────── HIGH  nothing
 *   free < 4% (soft) ───── SOFT  balloon (swap only where ballooning cannot)
 *   free < 2% (hard) ───── HARD  swap random pages (and keep ballooning)
 *   free < 1% (low)  ───── LOW   swap, and block VMs above their target
 *
 * A state is entered when free memory falls below its threshold, and left (upward) only once free
 * memory exceeds the next higher threshold, so the host does not flap: leaving SOFT needs 6%,
 * leaving HARD needs 4%, leaving LOW needs 2%. The high threshold is also the reclamation goal.
 */
import { MemvirtError, pathJoin } from "../util/errors";

/** Free-memory states, ordered from calm to desperate. */
export const HIGH = 0;
export const SOFT = 1;
export const HARD = 2;
export const LOW = 3;
export type FreeMemoryState = typeof HIGH | typeof SOFT | typeof HARD | typeof LOW;

/** State names as they appear in timelines. */
export const FREE_MEMORY_STATE_NAMES = ["high", "soft", "hard", "low"] as const;

/** The four thresholds, as fractions of machine memory. */
export interface FreeMemoryThresholds {
  high: number;
  soft: number;
  hard: number;
  low: number;
}

/** Waldspurger's defaults: 6%, 4%, 2%, 1%. */
export const DEFAULT_THRESHOLDS: Readonly<FreeMemoryThresholds> = Object.freeze({ high: 0.06, soft: 0.04, hard: 0.02, low: 0.01 });

/**
 * Validate thresholds (fractions, high > soft > hard > low ≥ 0), filling in defaults.
 *
 * @internal
 * @example
 * resolveThresholds({ high: 0.1 }) // { high: 0.1, soft: 0.04, hard: 0.02, low: 0.01 }
 */
export function resolveThresholds(value: Partial<FreeMemoryThresholds> | undefined, where = "reclamation.thresholds"): FreeMemoryThresholds {
  const t: FreeMemoryThresholds = { ...DEFAULT_THRESHOLDS };
  if (value === undefined) return t;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MemvirtError("must be an object {high, soft, hard, low}", { where, value });
  for (const [key, v] of Object.entries(value)) {
    if (!(key in t)) throw new MemvirtError("unknown field (valid fields: high, soft, hard, low)", { where: pathJoin(where, key), value: v });
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v >= 1) throw new MemvirtError("must be a fraction of machine memory in [0, 1)", { where: pathJoin(where, key), value: v });
    t[key as keyof FreeMemoryThresholds] = v;
  }
  if (!(t.high > t.soft && t.soft > t.hard && t.hard > t.low)) {
    throw new MemvirtError("must satisfy high > soft > hard > low", { where, value: t });
  }
  return t;
}

/**
 * The next state given the free fraction and the current state (with hysteresis).
 *
 * @internal
 * @example
 * classifyFreeMemory(0.03, HIGH) // SOFT
 * classifyFreeMemory(0.05, SOFT) // SOFT: leaving needs 6%
 * classifyFreeMemory(0.07, SOFT) // HIGH
 */
export function classifyFreeMemory(freeFraction: number, previous: FreeMemoryState, t: FreeMemoryThresholds = DEFAULT_THRESHOLDS): FreeMemoryState {
  const enter: FreeMemoryState = freeFraction < t.low ? LOW : freeFraction < t.hard ? HARD : freeFraction < t.soft ? SOFT : HIGH;
  const exit: FreeMemoryState = freeFraction >= t.high ? HIGH : freeFraction >= t.soft ? SOFT : freeFraction >= t.hard ? HARD : LOW;
  const held = previous < exit ? previous : exit;
  return (enter > held ? enter : held) as FreeMemoryState;
}
