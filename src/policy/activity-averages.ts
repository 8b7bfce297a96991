/**
 * The smoothing of Waldspurger's working-set estimate (OSDI 2002, §5.3): from the sampled
 * fraction f = t/n of each period, keep
 *
 *   slow  ← slow + g_slow·(f − slow)              an average that forgets slowly
 *   fast  ← fast + g_fast·(f − fast)              one that follows a change within a few periods
 *   fast+current = fast + g_fast·(t_now/n − fast)  the fast average with the period in progress
 *                                                 (t_now/n only grows, so it is a lower bound)
 *   estimate = max(slow, fast, fast+current)
 *
 * so the estimate rises as soon as the sampled pages are touched, and falls no faster than the
 * slow average: a VM that pauses for a minute does not lose its memory at once.
 *
 * The gains. ESX does not publish its own (esxtop shows the averages as %ACTVS and %ACTVF, and the
 * last sample as %ACTV). Ours give the shape of the paper's Figure 5:
 * - g_fast = 1/2: each period closes half the remaining gap, a time constant of 1.4 periods;
 * - g_slow = 1/8: a time constant of 7.5 periods, about four minutes at the default 30 s period,
 *   the time Figure 5's estimate takes to come down after its working set drops.
 * Both averages start at the first period's f (no guess before there is a sample).
 */
import { MemvirtError } from "../util/errors";

/** The slow average's gain per period (see the file comment for the choice). */
export const SLOW_GAIN = 1 / 8;
/** The fast average's gain per period. */
export const FAST_GAIN = 1 / 2;

/** The averages at one moment, as fractions of the sampled memory. */
export interface ActivitySnapshot {
  slow: number;
  fast: number;
  /** The fast average including the period in progress. */
  fastCurrent: number;
  /** max(slow, fast, fastCurrent). */
  estimate: number;
}

/**
 * Periods an average with gain `g` takes to close all but 1/e of a step: −1 / ln(1 − g).
 *
 * @example
 * timeConstantPeriods(1 / 2) // ≈ 1.44
 * timeConstantPeriods(1 / 8) // ≈ 7.49
 */
export function timeConstantPeriods(gain: number): number {
  return gain >= 1 ? 0 : -1 / Math.log(1 - gain);
}

/**
 * A gain in (0, 1], named by `where` when wrong.
 *
 * @example
 * checkGain(0.125, "vms[0].sampling.slowGain")
 */
export function checkGain(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw new MemvirtError("must be a gain per period in (0, 1] (1 keeps only the last period)", { where, value });
  }
  return value;
}

/**
 * The slow, fast and in-progress averages of one VM's sampled fractions.
 *
 * @example
 * const avg = new ActivityAverages();
 * avg.closePeriod(0.2); avg.closePeriod(0.6);
 * avg.snapshot(0.3).estimate // max(slow 0.25, fast 0.4, fast+current 0.35) = 0.4
 */
export class ActivityAverages {
  readonly slowGain: number;
  readonly fastGain: number;
  private slowValue = NaN;
  private fastValue = NaN;
  /** Periods closed so far. */
  periods = 0;

  constructor(slowGain = SLOW_GAIN, fastGain = FAST_GAIN, where = "sampling") {
    this.slowGain = checkGain(slowGain, `${where}.slowGain`);
    this.fastGain = checkGain(fastGain, `${where}.fastGain`);
  }

  /**
   * Fold in a finished period's sampled fraction f (the first period sets both averages to f).
   *
   * @example
   * avg.closePeriod(touched / sampled);
   */
  closePeriod(fraction: number): void {
    if (this.periods === 0) {
      this.slowValue = fraction;
      this.fastValue = fraction;
    } else {
      this.slowValue += this.slowGain * (fraction - this.slowValue);
      this.fastValue += this.fastGain * (fraction - this.fastValue);
    }
    this.periods++;
  }

  /**
   * The averages now, given the fraction of this period's sample touched so far; null before
   * the first period has closed.
   *
   * @example
   * avg.snapshot(touchedSoFar / sampled)?.estimate
   */
  snapshot(partialFraction: number): ActivitySnapshot | null {
    if (this.periods === 0) return null;
    const slow = this.slowValue;
    const fast = this.fastValue;
    const fastCurrent = fast + this.fastGain * (partialFraction - fast);
    return { slow, fast, fastCurrent, estimate: Math.max(slow, fast, fastCurrent) };
  }
}
