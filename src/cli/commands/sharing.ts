/**
 * `memvirt sharing FILE… [--json]`: how often the pages of one or more snapshots have the same
 * content, i.e. what perfect content-based sharing would save, within each snapshot and across
 * them, with and without zero pages, by mapping kind. Definitions in
 * src/contents/sharing-report.ts.
 */
import type { Command } from "commander";
import { sameFile } from "../../util/fs";
import { formatCount } from "../../util/units";
import { readSnapshot } from "../../contents/snapshot-file";
import { computeSharing, type SharingCounts, type SharingScope, type SharingSummary } from "../../contents/sharing-report";
import type { PageSnapshot } from "../../contents/page-snapshot";
import { action, emit, warn } from "../io";

/**
 * Register `memvirt sharing`.
 *
 * @example
 * registerSharing(program);
 */
export function registerSharing(program: Command): void {
  program
    .command("sharing")
    .description("report how often pages have the same content in page snapshots: what perfect sharing would save, within and across snapshots, with and without zero pages, by mapping kind")
    .argument("<files...>", "snapshot files from capture-pages (plain or .gz)")
    .option("--json", "machine-readable report on stdout")
    .action(action((files: string[], opts: { json?: boolean }) => {
      files.forEach((f, i) => {
        const twin = files.slice(0, i).find((g) => g === f || sameFile(g, f));
        if (twin !== undefined) warn(`${f} is ${twin} again: each of its pages counts as shared across snapshots`);
      });
      const snapshots = files.map((f) => readSnapshot(f));
      const summary = computeSharing(snapshots);
      emit(opts, jsonData(summary), () => humanText(summary, snapshots));
    }));
}

const counts = (c: SharingCounts) => ({ pages: c.pages, zeroPages: c.zeroPages, savablePages: c.savablePages, nonZeroSavablePages: c.nonZeroSavablePages, withinPages: c.withinPages, acrossPages: c.acrossPages });

function jsonData(s: SharingSummary) {
  const scope = (x: SharingScope) => ({ distinctContents: x.distinctContents, nonZeroSavablePages: x.nonZeroSavablePages, byKind: x.byKind.map((k) => ({ kind: k.kind, ...counts(k) })) });
  return {
    snapshots: s.snapshots.map((x) => ({ file: x.snapshot, pages: x.pages, zeroPages: x.zeroPages, savablePages: x.savablePages, acrossPages: x.acrossPages, ...scope(x) })),
    overall: { pages: s.overall.pages, zeroPages: s.overall.zeroPages, savablePages: s.overall.savablePages, withinPages: s.overall.withinPages, acrossPages: s.overall.acrossPages, ...scope(s.overall) },
    contentsComparedBy: s.comparedBy,
    collidingContents: s.collidingContents,
  };
}

const percent = (part: number, whole: number) => (whole === 0 ? "0%" : `${((100 * part) / whole).toFixed(1)}%`);

/** Left-align the first column, right-align the rest. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd()).join("\n");
}

function humanText(s: SharingSummary, snapshots: PageSnapshot[]): string {
  const header = ["", "pages", "zero", "savable", "%", "savable w/o zero", "%", "within", "across"];
  const line = (name: string, c: SharingCounts) => [name, formatCount(c.pages), formatCount(c.zeroPages), formatCount(c.savablePages), percent(c.savablePages, c.pages), formatCount(c.nonZeroSavablePages), percent(c.nonZeroSavablePages, c.pages), formatCount(c.withinPages), formatCount(c.acrossPages)];
  const o = s.overall;
  const first = snapshots[0];
  const how = s.comparedBy === "bytes"
    ? `contents compared byte for byte (equal ${first.info.hash} hashes confirmed; ${formatCount(s.collidingContents)} hash collisions kept apart)`
    : `contents counted by their 64-bit ${first.info.hash} hash (zero pages by their bytes)`;
  const out = [
    `${snapshots.length === 1 ? "1 snapshot" : `${snapshots.length} snapshots`} of ${first.pageSizeBytes}-byte pages; ${how}`,
    "",
    table([header, ...s.snapshots.map((x) => line(x.snapshot, x)), line("overall", o)]),
    "",
    "overall, by mapping kind:",
    table([["kind", ...header.slice(1)], ...o.byKind.map((k) => line(k.kind, k))]),
    "",
    `Perfect sharing would free ${formatCount(o.savablePages)} of ${formatCount(o.pages)} pages (${percent(o.savablePages, o.pages)}); without zero pages ${formatCount(o.nonZeroSavablePages)} (${percent(o.nonZeroSavablePages, o.pages)}; Barker et al. found usually under 15%).`,
  ];
  if (snapshots.length > 1 && o.savablePages > 0) {
    out.push(`Of the saving, ${percent(o.withinPages, o.savablePages)} lies within one snapshot and ${percent(o.acrossPages, o.savablePages)} across snapshots (Barker et al.: over 90% within one machine).`);
  }
  out.push("savable = pages − distinct contents (the zero page is one content); within = duplicates inside a snapshot; across = pages an earlier snapshot already holds.");
  return out.join("\n");
}
