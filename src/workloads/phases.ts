/**
 * Phases: a sequence of sub-workloads, each for a number of accesses, so the active set moves
 * over time (a program that initialises, computes on one array, then on another).
 *
 *   accesses: |---- phase 0 ----|-- phase 1 --|------ phase 2 ------|(repeat?)
 *   source:      uniform @0        zipf @5000     scan @9000
 *
 * Invariants: phases switch at exact access counts, even in the middle of a batch; a finite
 * sub-workload that ends early ends its phase; each sub-workload keeps its own stream, so a
 * repeated phase continues where it left off rather than replaying.
 */
import { formatCount } from "../util/units";
import { MemvirtError, pathJoin } from "../util/errors";
import { Workload } from "./workload";
import { checkBoolean, checkCount } from "./validate";

/**
 * How deep phases may nest. Building, naming and running a phased workload recurse once per
 * level, so a spec nested thousands deep overflowed the stack; 64 is far beyond any real use.
 * @internal
 */
export const MAX_PHASES_DEPTH = 64;

/**
 * A config path shortened for an error line: the first and last levels of a deeply nested
 * phases path, with the count of levels left out.
 *
 * @internal
 * @example
 * shortenPhasesPath("w.phases[0].workload.phases[0].workload") // unchanged: short enough
 */
export function shortenPhasesPath(where: string): string {
  const levels = where.split(/(?=\.phases\[)/);
  if (levels.length <= 6) return where;
  return `${levels.slice(0, 3).join("")}…(${levels.length - 5} more levels)…${levels.slice(-2).join("")}`;
}

/**
 * One phase: a workload and how many accesses it runs for (default: until it ends).
 * @internal
 */
export interface Phase {
  workload: Workload;
  accesses?: number;
}

/**
 * Options of a phased workload.
 * @internal
 */
export interface PhasesOptions {
  /** Start again at phase 0 after the last phase (default false). */
  repeat?: boolean;
  /** Total accesses, after which `fill` returns 0 (default: until the phases end). */
  accesses?: number;
}

/**
 * Run sub-workloads one after another.
 *
 * @internal
 * @example
 * const rng = new Rng(1);
 * const w = new PhasesWorkload([
 *   { workload: new UniformWorkload({ pages: 100 }, rng.split("a")), accesses: 1000 },
 *   { workload: new UniformWorkload({ pages: 100, basePage: 100 }, rng.split("b")), accesses: 1000 },
 * ]);
 */
export class PhasesWorkload implements Workload {
  readonly phases: readonly Phase[];
  readonly repeat: boolean;
  readonly accesses: number;
  /** Levels of phases, this one included (a phase that is itself phased adds one). */
  readonly depth: number;
  private index = 0;
  private leftInPhase: number;
  private producedCount = 0;
  private progressThisRound = false;

  constructor(phases: readonly Phase[], options: PhasesOptions = {}, where = "phases") {
    if (!Array.isArray(phases) || phases.length === 0) throw new MemvirtError("needs at least one phase", { where: pathJoin(where, "phases"), value: phases });
    phases.forEach((p, i) => {
      if (p.accesses !== undefined) checkCount(p.accesses, pathJoin(where, "phases", i, "accesses"), 1);
    });
    // Each child's depth is known when it is built, so this needs no recursion.
    let deepest = 0;
    for (const p of phases) if (p.workload instanceof PhasesWorkload && p.workload.depth > deepest) deepest = p.workload.depth;
    this.depth = deepest + 1;
    if (this.depth > MAX_PHASES_DEPTH) {
      throw new MemvirtError(`phases nest ${this.depth} deep; at most ${MAX_PHASES_DEPTH} levels are allowed`, { where: shortenPhasesPath(where) });
    }
    this.phases = phases;
    this.repeat = options.repeat === undefined ? false : checkBoolean(options.repeat, pathJoin(where, "repeat"));
    this.accesses = options.accesses === undefined ? Infinity : checkCount(options.accesses, pathJoin(where, "accesses"));
    this.leftInPhase = phases[0].accesses ?? Infinity;
  }

  /** Index of the phase the next access comes from (phases.length once finished). */
  /**
   * Every phase's footprint; a phase whose footprint is unknown is left out (a lower bound).
   *
   * @example
   * phased.footprint() // [[0, 100], [100, 100]]
   */
  footprint(): ReadonlyArray<readonly [number, number]> {
    const ranges: Array<readonly [number, number]> = [];
    for (const p of this.phases) if (typeof p.workload.footprint === "function") ranges.push(...p.workload.footprint());
    return ranges;
  }

  get phaseIndex(): number {
    return this.index;
  }

  /** Accesses produced so far. */
  get produced(): number {
    return this.producedCount;
  }

  get name(): string {
    const parts = this.phases.map((p) => `${p.workload.name}${p.accesses === undefined ? "" : ` for ${formatCount(p.accesses)}`}`);
    return `phases${this.repeat ? " (repeating)" : ""}: ${parts.join("; then ")}`;
  }

  fill(pages: Float64Array, kinds: Uint8Array): number {
    let cap = pages.length < kinds.length ? pages.length : kinds.length;
    const left = this.accesses - this.producedCount;
    if (left < cap) cap = left;
    let filled = 0;
    while (filled < cap) {
      if (this.index >= this.phases.length) {
        if (!this.repeat || !this.progressThisRound) break;
        this.index = 0;
        this.progressThisRound = false;
        this.leftInPhase = this.phases[0].accesses ?? Infinity;
      }
      const want = Math.min(cap - filled, this.leftInPhase);
      // Views only when the batch is split: the common case passes the caller's arrays through.
      const whole = filled === 0 && want === pages.length && want === kinds.length;
      const got = this.phases[this.index].workload.fill(
        whole ? pages : pages.subarray(filled, filled + want),
        whole ? kinds : kinds.subarray(filled, filled + want),
      );
      filled += got;
      this.leftInPhase -= got;
      if (got > 0) this.progressThisRound = true;
      if (got === 0 || this.leftInPhase <= 0) this.nextPhase();
    }
    this.producedCount += filled;
    return filled;
  }

  private nextPhase(): void {
    this.index++;
    if (this.index < this.phases.length) this.leftInPhase = this.phases[this.index].accesses ?? Infinity;
  }
}
