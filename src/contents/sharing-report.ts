/**
 * "How often do pages have the same content?": what perfect content-based sharing would save
 * across a set of snapshots, and where the saving lies.
 *
 * Definitions (a content is the page's bytes: the zero page is one content):
 * - `savablePages` = pages − distinct contents: keep one copy of each content, map the rest to it;
 * - a snapshot row's `withinPages` is its own `savablePages` (duplicates inside it); its
 *   `acrossPages` counts its pages whose content is not duplicated inside it but some earlier
 *   snapshot (in the order given) already holds;
 * - the overall row: `savablePages` over all pages together, `withinPages` = Σ the snapshots'
 *   own `savablePages`, `acrossPages` = overall `savablePages` − `withinPages` (= Σ the rows');
 * - `nonZeroSavablePages`: the savable pages that are not zero pages (Barker et al. report
 *   sharing without zero pages, usually under 15% of memory); zero pages save `zeroPages − 1`.
 * - By mapping kind, each savable page is attributed to its own kind: of each group of equal
 *   pages the first (in snapshot order, then address order) is the copy kept, every other is
 *   savable. So the kinds' rows add up to their snapshot's or the overall row.
 *
 * Contents are counted by 64-bit hash, or by bytes when every snapshot kept them (see
 * `assignContentIds`); `comparedBy` says which.
 */
import * as aq from "arquero";
import { assignContentIds } from "./content-index";
import { MAPPING_KINDS, type MappingKind } from "./mapping-kind";
import { PAGE_ZERO, type PageSnapshot } from "./page-snapshot";

/** The sharing figures of one snapshot, one kind, or all of them. */
export interface SharingCounts {
  /** Pages. */
  pages: number;
  /** Pages whose bytes are all zero. */
  zeroPages: number;
  /** Pages perfect sharing would free: pages − distinct contents. */
  savablePages: number;
  /** Savable pages that are not zero pages. */
  nonZeroSavablePages: number;
  /** Savable pages with a copy in the same snapshot. */
  withinPages: number;
  /** Savable pages whose only copy is in an earlier snapshot. */
  acrossPages: number;
}

/** One snapshot's (or the overall) figures, with its distinct contents and a per-kind breakdown. */
export interface SharingScope extends SharingCounts {
  /** The snapshot's name (its file), or "overall". */
  snapshot: string;
  /** Distinct contents (the zero page counts as one). */
  distinctContents: number;
  /** The same figures per mapping kind, for the kinds that have pages. */
  byKind: Array<SharingCounts & { kind: MappingKind }>;
}

/** What `computeSharing` returns. */
export interface SharingSummary {
  /** One entry per snapshot, in the order given. */
  snapshots: SharingScope[];
  /** All snapshots together. */
  overall: SharingScope;
  /** "bytes" when equal hashes were confirmed by comparing bytes, else "hash". */
  comparedBy: "bytes" | "hash";
  /** Contents that share a hash with another content (found only when comparing bytes). */
  collidingContents: number;
}

// Raw tallies per snapshot and kind: pages, zero pages, savable within the snapshot (all, not
// zero), savable across snapshots (all, not zero).
const [P, Z, W, WN, A, AN] = [0, 1, 2, 3, 4, 5];
const T = 6;
const K = MAPPING_KINDS.length;

/**
 * The sharing figures of `snapshots` (see the module comment for the definitions). Snapshots
 * of different page sizes or hash functions are refused, naming the odd one.
 *
 * @example
 * const s = computeSharing([readSnapshot("a.mvpages"), readSnapshot("b.mvpages")]);
 * s.overall.savablePages === s.overall.withinPages + s.overall.acrossPages // true
 */
export function computeSharing(snapshots: readonly PageSnapshot[]): SharingSummary {
  const { ids, idCount, comparedBy, collidingContents } = assignContentIds(snapshots);
  const seenIn = new Int32Array(idCount).fill(-1); // the last snapshot that held each content
  const tallies = snapshots.map((snap, s) => {
    const t = new Float64Array(K * T); // [kind][tally]
    const pageIds = ids[s];
    for (let i = 0; i < snap.pageCount; i++) {
      const c = pageIds[i];
      const at = snap.kinds[i] * T;
      const nonZero = (snap.flags[i] & PAGE_ZERO) === 0 ? 1 : 0;
      t[at + P]++;
      t[at + Z] += 1 - nonZero;
      if (seenIn[c] === s) {
        t[at + W]++;
        t[at + WN] += nonZero;
      } else {
        // The first copy in this snapshot: kept, unless an earlier snapshot holds the content.
        if (seenIn[c] !== -1) {
          t[at + A]++;
          t[at + AN] += nonZero;
        }
        seenIn[c] = s;
      }
    }
    return t;
  });
  const overall = new Float64Array(K * T);
  for (const t of tallies) for (let j = 0; j < K * T; j++) overall[j] += t[j];
  const summary = (name: string, t: Float64Array, whole: boolean): SharingScope => {
    const counts = (k: number): SharingCounts => {
      const at = k * T;
      return {
        pages: t[at + P],
        zeroPages: t[at + Z],
        savablePages: t[at + W] + (whole ? t[at + A] : 0),
        nonZeroSavablePages: t[at + WN] + (whole ? t[at + AN] : 0),
        withinPages: t[at + W],
        acrossPages: t[at + A],
      };
    };
    const byKind = MAPPING_KINDS.map((kind, k) => ({ kind, ...counts(k) })).filter((row) => row.pages > 0);
    const all: SharingCounts = { pages: 0, zeroPages: 0, savablePages: 0, nonZeroSavablePages: 0, withinPages: 0, acrossPages: 0 };
    for (const row of byKind) for (const key of Object.keys(all) as Array<keyof SharingCounts>) all[key] += row[key];
    return { snapshot: name, ...all, distinctContents: all.pages - all.savablePages, byKind };
  };
  return {
    snapshots: snapshots.map((snap, s) => summary(snap.name, tallies[s], false)),
    overall: summary("overall", overall, true),
    comparedBy,
    collidingContents,
  };
}

/** Columns of `sharingReport`'s table, in order. */
export const SHARING_COLUMNS = ["snapshot", "pages", "zeroPages", "distinctContents", "savablePages", "savablePercent", "nonZeroSavablePages", "nonZeroSavablePercent", "withinPages", "acrossPages"] as const;

/** Options of `sharingReport`. */
export interface SharingReportOptions {
  /** One row per snapshot (and overall) and mapping kind, with a `kind` column (default false). */
  byKind?: boolean;
}

/**
 * The sharing figures as an arquero table: one row per snapshot, then an `overall` row, with
 * the columns of `SHARING_COLUMNS` (percentages are of the row's pages). With `byKind`, one row
 * per snapshot (and overall) and mapping kind instead, with a `kind` column after `snapshot`
 * and without `distinctContents` (a content shared by two kinds belongs to neither).
 *
 * @example
 * const snaps = ["python-1", "python-2"].map((n) => readSnapshot(`data/snapshots/${n}.mvpages.gz`));
 * show(sharingReport(snaps));
 * show(sharingReport(snaps, { byKind: true }));
 */
export function sharingReport(snapshots: readonly PageSnapshot[], options: SharingReportOptions = {}): aq.ColumnTable {
  const s = computeSharing(snapshots);
  const scopes = [...s.snapshots, s.overall];
  const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
  const row = (snapshot: string, c: SharingCounts) => ({
    pages: c.pages,
    zeroPages: c.zeroPages,
    savablePages: c.savablePages,
    savablePercent: percent(c.savablePages, c.pages),
    nonZeroSavablePages: c.nonZeroSavablePages,
    nonZeroSavablePercent: percent(c.nonZeroSavablePages, c.pages),
    withinPages: c.withinPages,
    acrossPages: c.acrossPages,
    snapshot,
  });
  if (options.byKind) {
    const rows = scopes.flatMap((scope) => scope.byKind.map((k) => ({ ...row(scope.snapshot, k), kind: k.kind })));
    const columns = ["snapshot", "kind", ...SHARING_COLUMNS.filter((c) => c !== "snapshot" && c !== "distinctContents")];
    if (rows.length === 0) return aq.table(Object.fromEntries(columns.map((c) => [c, []])));
    return aq.from(rows).select(columns);
  }
  const rows = scopes.map((scope) => ({ ...row(scope.snapshot, scope), distinctContents: scope.distinctContents }));
  return aq.from(rows).select([...SHARING_COLUMNS]);
}
