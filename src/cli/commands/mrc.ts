/**
 * `memvirt mrc --trace FILE|- --method exact|shards`: the LRU miss-ratio curve of a Valgrind
 * Lackey trace, streamed (plain or gzip, a file or stdin; memory follows the footprint, not the
 * trace length).
 *
 *   memvirt mrc --trace data/traces/sort.lackey.gz                       exact, default sizes
 *   memvirt mrc --trace big.lackey.gz --method shards --rate 0.001 --json
 *   memvirt mrc --trace - --method shards --max-samples 8192 --sizes 64,1024,16MiB
 *
 * Without --sizes, the sizes are every size up to 64 pages, then 8 per doubling (about 9%
 * apart), and the footprint; the human table shows the powers of two among them and the
 * footprint, --json all of them. With --page-size above 4096, pages are that size: the trace's
 * 4 KiB page numbers are divided down, and a record crossing a 4 KiB boundary inside one larger
 * page counts as two accesses to it (the second a hit at every size).
 */
import type { Command } from "commander";
import { MemvirtError, renameWhere } from "../../util/errors";
import { formatBytes, formatCount, parsePages, parseBytes } from "../../util/units";
import { countOf } from "../../util/plural";
import { readLackey } from "../../trace/read-lackey";
import type { LackeyStats } from "../../trace/lackey-parser";
import { createMissRatioCurveEstimator, MISS_RATIO_CURVE_METHODS, type MissRatioCurveEstimator, type MissRatioCurveMethod } from "../../analysis/mrc-estimator";
import { finishMissRatioCurve, type MissRatioCurveData } from "../../analysis/miss-ratio-curve";
import { MRC_EVERY_SIZE_UP_TO_PAGES, MRC_SIZES_PER_DOUBLING, summaryMrcSizes } from "../../analysis/mrc-sizes";
import { Shards } from "../../analysis/shards";
import { action, emit, parseChoice, parseIntFlag, progressBar } from "../io";
import { rejectFlags } from "../flag-rules";

interface MrcFlags {
  trace?: string;
  method: string;
  rate?: string;
  maxSamples?: string;
  sizes?: string;
  pageSize: string;
  json?: boolean;
}

const TRACE_PAGE_BYTES = 4096;
const MAX_PAGE_BYTES = 2 ** 30;

/**
 * Register `memvirt mrc`.
 *
 * @example
 * registerMrc(program);
 */
export function registerMrc(program: Command): void {
  program
    .command("mrc")
    .description("the LRU miss-ratio curve of a Valgrind Lackey trace: exact (Mattson's stack) or estimated by SHARDS sampling")
    .option("--trace <file>", "Lackey trace (plain or gzip); - reads stdin")
    .option("--method <method>", `${MISS_RATIO_CURVE_METHODS.join(" or ")}`, "exact")
    .option("--rate <r>", "shards: sampling rate in (0, 1] (default 0.01; with --max-samples, the starting rate, default 1)")
    .option("--max-samples <n>", "shards: fixed size, track at most n pages and lower the rate as they fill")
    .option("--sizes <list>", "cache sizes, comma-separated: pages (64) or sizes (16MiB); default 1 page up to the footprint")
    .option("--page-size <bytes>", "page size: 4096 or a larger power of two, e.g. 2MiB (a record crossing a 4 KiB boundary inside one page counts twice, the second a hit)", "4096")
    .option("--json", "machine-readable output on stdout: [{ sizePages, missRatio }, ...]")
    .action(action(async (opts: MrcFlags, cmd: Command) => {
      if (opts.trace === undefined) throw new MemvirtError("a trace is required: --trace FILE, or --trace - for stdin", { where: "--trace" });
      const method = parseChoice<MissRatioCurveMethod>("--method", opts.method, MISS_RATIO_CURVE_METHODS);
      if (method === "exact") rejectFlags(cmd, ["--rate", "--max-samples"], "applies only to --method shards (the exact curve samples nothing)");
      const pageBytes = parsePageBytes(opts.pageSize);
      const sizes = opts.sizes === undefined ? undefined : parseSizes(opts.sizes, pageBytes);
      let estimator: MissRatioCurveEstimator;
      try {
        estimator = createMissRatioCurveEstimator({
          method,
          rate: opts.rate === undefined ? undefined : parseRate(opts.rate),
          maxSamples: opts.maxSamples === undefined ? undefined : parseIntFlag("--max-samples", opts.maxSamples),
        });
      } catch (err) {
        throw renameWhere(err, { rate: "--rate", maxSamples: "--max-samples" });
      }
      const framesPerPage = pageBytes / TRACE_PAGE_BYTES;
      const bar = opts.trace === "-" ? { update: () => {}, stop: () => {} } : progressBar(`mrc ${opts.trace}`);
      let stats: LackeyStats;
      try {
        stats = await readLackey(opts.trace, {
          onProgress: bar.update,
          onBatch: (pages, _kinds, n) => {
            if (framesPerPage > 1) for (let i = 0; i < n; i++) pages[i] = Math.floor(pages[i] / framesPerPage);
            estimator.feed(pages, 0, n);
          },
        });
      } finally {
        bar.stop();
      }
      const data = finishMissRatioCurve(estimator, sizes, "--rate");
      const rows = data.sizesPages.map((sizePages, i) => ({ sizePages, missRatio: data.missRatios[i] }));
      emit(opts, rows, () => humanText(data, { trace: opts.trace!, pageBytes, records: stats.records, shortened: sizes === undefined, shards: estimator instanceof Shards ? estimator : undefined }));
    }));
}

/** `--page-size`: bytes as digits, or a size with a unit; a power of two from 4 KiB to 1 GiB. */
function parsePageBytes(text: string): number {
  const bytes = /^\s*\d+\s*$/.test(text) ? Number(text) : parseBytes(text, "--page-size");
  if (!(bytes >= TRACE_PAGE_BYTES && bytes <= MAX_PAGE_BYTES && Number.isInteger(Math.log2(bytes)))) {
    throw new MemvirtError("must be a power of two from 4096 bytes (the trace's 4 KiB pages) to 1 GiB, e.g. 4096 or 2MiB", { where: "--page-size", value: text });
  }
  return bytes;
}

/** `--rate`: a plain decimal number (range checked by the sampler). */
function parseRate(text: string): number {
  if (!/^\s*(\d+\.?\d*|\.\d+)(e-?\d+)?\s*$/i.test(text)) throw new MemvirtError("must be a sampling rate in (0, 1], e.g. 0.01", { where: "--rate", value: text });
  return Number(text);
}

/** `--sizes 64,1024,16MiB`: page counts, or sizes that are whole pages of `pageBytes`. */
function parseSizes(text: string, pageBytes: number): number[] {
  const items = text.split(",").map((s) => s.trim());
  return items.map((item) => {
    const pages = /^\d+$/.test(item) ? Number(item) : /\d/.test(item) && /[a-z]/i.test(item) ? parsePagesOrNaN(item, pageBytes) : NaN;
    if (!(Number.isSafeInteger(pages) && pages >= 1)) {
      throw new MemvirtError(`${JSON.stringify(item)} is not a cache size: give pages (64) or a whole number of ${formatBytes(pageBytes)} pages with a unit (16MiB), at least one page, separated by commas`, { where: "--sizes", value: text });
    }
    return pages;
  });
}

function parsePagesOrNaN(item: string, pageBytes: number): number {
  try {
    return parsePages(item, "--sizes", pageBytes);
  } catch {
    return NaN;
  }
}

interface HumanContext {
  trace: string;
  pageBytes: number;
  records: number;
  /** The sizes were the defaults: show the short table. */
  shortened: boolean;
  shards?: Shards;
}

function humanText(data: MissRatioCurveData, ctx: HumanContext): string {
  const s = ctx.shards;
  const pageName = `${formatBytes(ctx.pageBytes)} pages`;
  const lines: string[] = [];
  if (s === undefined) lines.push(`Exact LRU miss-ratio curve of ${ctx.trace} (${pageName}):`);
  else {
    const how = s.fixedSize ? `fixed size: at most ${countOf(s.maxSamples, "page")} tracked, rate now ${formatRate(s.rate)}` : `rate ${formatRate(s.rate)}`;
    lines.push(`SHARDS estimate of the LRU miss-ratio curve of ${ctx.trace} (${pageName}; ${how}; ${formatCount(s.sampledAccesses)} of ${countOf(s.accesses, "access", "accesses")} sampled):`);
  }
  const shown = new Set(ctx.shortened ? summaryMrcSizes(data.sizesPages) : data.sizesPages);
  const rows = data.sizesPages.flatMap((size, i) => (shown.has(size) ? [[formatCount(size), formatBytes(size * ctx.pageBytes), data.missRatios[i].toFixed(4)]] : []));
  const header = ["size (pages)", "size", "miss ratio"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [header, ...rows]) lines.push(`  ${r.map((cell, c) => cell.padStart(widths[c])).join("  ")}`);
  if (ctx.shortened && shown.size < data.sizesPages.length) {
    lines.push(`  (powers of two and the footprint; --json gives all ${data.sizesPages.length} sizes: every size up to ${MRC_EVERY_SIZE_UP_TO_PAGES} pages, then ${MRC_SIZES_PER_DOUBLING} per doubling)`);
  }
  const approx = s === undefined ? "" : "≈ ";
  const footprint = Math.round(data.footprintPages);
  const cold = Math.round(data.coldMisses);
  lines.push(
    `Footprint ${approx}${countOf(footprint, "page")} (${formatBytes(footprint * ctx.pageBytes)}); ` +
      `${countOf(data.accesses, "access", "accesses")} from ${countOf(ctx.records, "record")}; ` +
      `cold misses ${approx}${formatCount(cold)} (${((100 * data.coldMisses) / data.accesses).toFixed(2)}% of accesses).`,
  );
  return lines.join("\n");
}

function formatRate(rate: number): string {
  return rate >= 0.001 ? String(Number(rate.toPrecision(4))) : rate.toExponential(3);
}
