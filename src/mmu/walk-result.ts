/**
 * `Walk`: the result of one recorded page walk, with every memory reference in order, the cache
 * hits that replaced references, an OSTEP-style `explain()` and a `toTable()`.
 */
import * as aq from "arquero";
import { inspect } from "node:util";
import { formatCount } from "../util/units";
import type { PageSize } from "./page-size";
import { hex } from "./pte";
import type { WalkEvent, WalkRecorder, WalkReference } from "./walk-recorder";

/** The configuration a walk ran under. */
export interface WalkSettings {
  /** "native", "protected", "shadow" or "nested". */
  mode: string;
  guestLevels: number;
  hostLevels: number;
  guestPageSize: PageSize;
  hostPageSize: PageSize;
  /** One-line description of the page-walk cache. */
  walkCache: string;
  /** One-line description of the nested TLB (nested mode). */
  nestedTlb: string;
}

/**
 * Addresses a walk resolved and the reference count a cold walk has.
 * @internal
 */
export interface WalkOutcome {
  physicalAddress: number;
  machineAddress: number;
  /** References a walk with cold caches makes under these settings. */
  coldReferences: number;
  /** How `coldReferences` is derived, e.g. "(4+1)(4+1)−1 = 24". */
  formula: string;
}

/**
 * @example
 * const w = walk({ mode: "nested" });
 * w.memoryReferences // 24
 * console.log(w.explain());
 */
export class Walk {
  readonly settings: WalkSettings;
  readonly mode: string;
  /** The virtual address translated. */
  readonly address: number;
  /** The guest-physical address it maps to (the physical address, natively). */
  readonly physicalAddress: number;
  /** The machine (host-physical) address it maps to. */
  readonly machineAddress: number;
  /** Every memory reference, in order. */
  readonly references: readonly WalkReference[];
  /** References, cache hits and notes, in order. */
  readonly events: readonly WalkEvent[];
  /** How many memory references the walk made. */
  readonly memoryReferences: number;
  /** How many a walk with cold caches makes under these settings, and the formula. */
  readonly coldReferences: number;
  readonly formula: string;

  /** @internal */
  constructor(settings: WalkSettings, recorder: WalkRecorder, outcome: WalkOutcome) {
    this.settings = settings;
    this.mode = settings.mode;
    this.address = recorder.address;
    this.physicalAddress = outcome.physicalAddress;
    this.machineAddress = outcome.machineAddress;
    this.references = recorder.references;
    this.events = recorder.events;
    this.memoryReferences = recorder.references.length;
    this.coldReferences = outcome.coldReferences;
    this.formula = outcome.formula;
  }

  /** References saved by caches during this walk. */
  get savedReferences(): number {
    let n = 0;
    for (const e of this.events) if (e.kind === "cache-hit") n += e.savedReferences ?? 0;
    return n;
  }

  /**
   * The walk laid out as its grid (see walk-recorder.ts): one row per thing located (each guest
   * table, then the data page), one column per host level plus a last column for the guest
   * entry. `steps[r][c]` is the reference's step number, or null where no reference was made
   * (a cache answered, or the cell does not exist). A 1-D walk is one column.
   *
   * @example
   * const g = walk({ mode: "nested" }).grid();
   * g.steps[0] // [1, 2, 3, 4, 5]
   */
  grid(): { rows: string[]; columns: string[]; steps: Array<Array<number | null>>; dimensions: Array<Array<string | null>> } {
    const s = this.settings;
    const refs = this.references;
    const nRows = Math.max(0, ...refs.map((r) => r.row + 1), ...this.events.filter((e) => e.kind === "cache-hit").map((e) => (e.row ?? 0) + 1));
    const nCols = Math.max(1, ...refs.map((r) => r.column + 1));
    const nested = s.mode === "nested";
    const hostSteps = nCols - 1;
    const columns = nested
      ? [...Array.from({ length: hostSteps }, (_, i) => `host L${s.hostLevels - i}`), "guest entry"]
      : [s.mode === "shadow" ? "shadow entry" : "entry"];
    const firstGuestLevel = s.guestLevels;
    const rows = Array.from({ length: nRows }, (_, r) => {
      const level = firstGuestLevel - r;
      const lastRow = nested && r === nRows - 1;
      if (lastRow) return "data page";
      return `${nested ? "guest " : s.mode === "shadow" ? "shadow " : ""}L${level} table`;
    });
    const steps = Array.from({ length: nRows }, () => new Array<number | null>(columns.length).fill(null));
    const dimensions = Array.from({ length: nRows }, () => new Array<string | null>(columns.length).fill(null));
    for (const r of refs) {
      if (r.row < nRows && r.column < columns.length) {
        steps[r.row][r.column] = r.step;
        dimensions[r.row][r.column] = r.dimension;
      }
    }
    return { rows, columns, steps, dimensions };
  }

  /**
   * The walk as a story: settings, then each reference, then a one-line summary.
   *
   * @example
   * console.log(walk({ mode: "native" }).explain());
   */
  explain(): string {
    const s = this.settings;
    const lines: string[] = [];
    const host = s.mode === "native" ? "" : `; host ${s.hostLevels}-level tables, ${s.hostPageSize} pages`;
    lines.push(`Settings: mode ${s.mode}; guest ${s.guestLevels}-level tables, ${s.guestPageSize} pages${host}; ${s.walkCache}${s.mode === "nested" ? `; ${s.nestedTlb}` : ""}.`);
    lines.push(`The TLB misses on ${this.mode === "native" ? "VA" : "gVA"} ${hex(this.address)}, so the hardware walks. ${MODE_STORY[s.mode] ?? ""}`);
    for (const e of this.events) {
      if (e.kind === "reference" && e.reference) {
        const r = e.reference;
        const space = r.dimension === "guest" && s.mode === "nested" ? "gPA" : s.mode === "native" ? "PA" : "hPA";
        const dim = s.mode === "shadow" ? "shadow" : s.mode === "native" ? "native" : r.dimension;
        lines.push(`  ${String(r.step).padStart(2)}. ${dim.padEnd(6)} L${r.level} table ${space} ${hex(r.tableAddress)} [${String(r.index).padStart(3)}] = ${hex(r.entry)}   for ${r.translates}`);
      } else if (e.kind === "cache-hit") {
        lines.push(`   ·  ${e.cache} hit: ${e.text} (saves ${e.savedReferences} reference${e.savedReferences === 1 ? "" : "s"})`);
      } else if (e.text) {
        lines.push(`   !  ${e.text}`);
      }
    }
    const chain = this.mode === "native"
      ? `VA ${hex(this.address)} → PA ${hex(this.machineAddress)}`
      : `gVA ${hex(this.address)} → gPA ${hex(this.physicalAddress)} → hPA ${hex(this.machineAddress)}`;
    const saved = this.savedReferences;
    lines.push(`Summary: ${chain} in ${formatCount(this.memoryReferences)} memory reference${this.memoryReferences === 1 ? "" : "s"}${saved ? ` (caches saved ${saved})` : ""}; a cold walk here costs ${this.formula}.`);
    return lines.join("\n");
  }

  /**
   * What a bare `w` at the end of a notebook cell prints (Node's inspector): the translation, the
   * reference count and where to look next, instead of every reference object.
   *
   * @internal
   * @example
   * console.log(walk({ mode: "nested" })); // Walk (nested; ...): 24 memory references ...
   */
  [inspect.custom](): string {
    const s = this.settings;
    const host = s.mode === "native" ? "" : `, host ${s.hostLevels}-level ${s.hostPageSize}`;
    const chain = this.mode === "native"
      ? `VA ${hex(this.address)} → PA ${hex(this.machineAddress)}`
      : `gVA ${hex(this.address)} → gPA ${hex(this.physicalAddress)} → hPA ${hex(this.machineAddress)}`;
    const saved = this.savedReferences;
    return [
      `Walk (${s.mode}: guest ${s.guestLevels}-level ${s.guestPageSize}${host}; ${s.walkCache}${s.mode === "nested" ? `; ${s.nestedTlb}` : ""})`,
      `  ${chain} in ${formatCount(this.memoryReferences)} memory reference${this.memoryReferences === 1 ? "" : "s"}${saved ? ` (caches saved ${formatCount(saved)})` : ""}; a cold walk here: ${this.formula}`,
      `  .toTable(): every reference, in order; .explain() or show(…) tells the story`,
    ].join("\n");
  }

  /**
   * One row per memory reference: step, dimension, level, tableAddress, index, entry,
   * entryAddress (hex text), translates, row, column (grid position).
   *
   * @example
   * walk({ mode: "nested" }).toTable().numRows() // 24
   */
  toTable(): aq.ColumnTable {
    const refs = this.references;
    return aq.table({
      step: refs.map((r) => r.step),
      dimension: refs.map((r) => r.dimension),
      level: refs.map((r) => r.level),
      tableAddress: refs.map((r) => hex(r.tableAddress)),
      index: refs.map((r) => r.index),
      entry: refs.map((r) => hex(r.entry)),
      entryAddress: refs.map((r) => hex(r.entryAddress)),
      translates: refs.map((r) => r.translates),
      row: refs.map((r) => r.row),
      column: refs.map((r) => r.column),
    });
  }
}

const MODE_STORY: Record<string, string> = {
  native: "The OS's table maps VA → PA; starting at CR3 the walker reads one entry per level.",
  protected: "The guest's table already holds machine frames (the VMM translated each entry P → M when the guest wrote it), so the walker reads it directly: one entry per level, at machine addresses.",
  shadow: "The MMU walks the VMM's shadow table, which maps gVA → hPA directly (the guest's V → P combined with the VMM's P → M): one entry per level.",
  nested: "Guest tables live at guest-physical addresses, so before each guest entry is read the walker translates its table's gPA with a host walk; the final data gPA needs one more host walk.",
};
