/**
 * Records a walk, reference by reference, for `walk()`, `Mmu.access()` and explain text.
 *
 * The hardware walkers in src/virt take a recorder argument that is `null` on the simulation hot
 * path (no cost beyond one branch) and a `WalkRecorder` when a caller wants to see the walk.
 *
 * Grid coordinates place each reference in the picture of a 2-D walk (n guest, m host levels):
 *
 *               host L4  host L3  host L2  host L1 | guest entry
 *   row 0  gCR3    1        2        3        4    |     5        (guest L4 table)
 *   row 1          6        7        8        9    |    10        (guest L3 table)
 *   row 2         11       12       13       14    |    15        (guest L2 table)
 *   row 3         16       17       18       19    |    20        (guest L1 table)
 *   row 4  data   21       22       23       24    |              (the data page)
 *
 * A 1-D walk uses row = level position (0 at the root) and column 0.
 */
import { hex } from "./pte";

/** "guest" for the guest's (or the only) table, "host" for the nested (P→M) table. */
export type Dimension = "guest" | "host";

/** One memory reference of a walk. */
export interface WalkReference {
  /** 1-based position among the walk's memory references. */
  step: number;
  dimension: Dimension;
  /** Level of the table within its dimension (4 = PML4 in 4-level paging, 1 = PT). */
  level: number;
  /** Address of the table page, in its own dimension's physical space (gPA for guest tables under nested paging, machine address otherwise). */
  tableAddress: number;
  /** Entry index within the table (0..511). */
  index: number;
  /** The 64-bit entry value read (frame × 4096 + flags). */
  entry: number;
  /** The machine address the reference reads (table machine address + 8 × index). */
  entryAddress: number;
  /** What this reference translates, e.g. "gVA 0x7f…" or "gPA 0x1000 (guest L3 table)". */
  translates: string;
  /** Grid position (see the picture at the top of walk-recorder.ts). */
  row: number;
  column: number;
}

/** A reference a cache saved, or a note (fault, restart) in the walk's story. */
export interface WalkEvent {
  kind: "reference" | "cache-hit" | "note";
  /** For "reference": the reference. */
  reference?: WalkReference;
  /** For "cache-hit": which cache ("pwc", "stc", "nested-tlb"), and how many references it saved. */
  cache?: "pwc" | "stc" | "nested-tlb";
  savedReferences?: number;
  dimension?: Dimension;
  level?: number;
  row?: number;
  column?: number;
  /** Human text for cache hits and notes. */
  text?: string;
}

/**
 * Collects references and events during one (or several, after a fault) hardware walks.
 *
 * @internal
 * @example
 * const rec = new WalkRecorder(0x7f1234567abc, "gVA");
 * rec.reference(0, 4, 0x1000, 254, 0x2003, 0x1000 + 254 * 8, -1, -1, 0, 0);
 * rec.references.length // 1
 */
export class WalkRecorder {
  readonly references: WalkReference[] = [];
  readonly events: WalkEvent[] = [];
  /** The address being translated and what to call it ("gVA" or "VA"). */
  readonly address: number;
  readonly addressName: string;

  constructor(address: number, addressName = "gVA") {
    this.address = address;
    this.addressName = addressName;
  }

  /**
   * A memory reference. `targetAddress`/`targetLevel` say what a host reference translates:
   * the gPA of the guest table at `targetLevel`, or (targetLevel 0) the data page; for a guest
   * reference pass -1 and the recorder writes the virtual address.
   */
  reference(dimension: number, level: number, tableAddress: number, index: number, entry: number, entryAddress: number,
    targetAddress: number, targetLevel: number, row: number, column: number): void {
    const dim: Dimension = dimension === 0 ? "guest" : "host";
    const translates = dimension === 0 || targetAddress < 0
      ? `${this.addressName} ${hex(this.address)}`
      : `gPA ${hex(targetAddress)} (${targetLevel === 0 ? "data page" : `guest L${targetLevel} table`})`;
    const ref: WalkReference = { step: this.references.length + 1, dimension: dim, level, tableAddress, index, entry, entryAddress, translates, row, column };
    this.references.push(ref);
    this.events.push({ kind: "reference", reference: ref });
  }

  /** A cache answered instead of memory. */
  cacheHit(cache: "pwc" | "stc" | "nested-tlb", dimension: number, level: number, savedReferences: number, row: number, column: number, text: string): void {
    this.events.push({ kind: "cache-hit", cache, dimension: dimension === 0 ? "guest" : "host", level, savedReferences, row, column, text });
  }

  /** A line of story: a fault, a restart, a trap. */
  note(text: string): void {
    this.events.push({ kind: "note", text });
  }
}
