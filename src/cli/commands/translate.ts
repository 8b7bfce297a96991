/**
 * `memvirt translate --trace FILE|- --mode M`: stream a Valgrind Lackey trace through one
 * translation mode and report the totals.
 *
 *   valgrind --tool=lackey --trace-mem=yes --log-fd=9 PROGRAM 9>&1 >/dev/null \
 *     | memvirt translate --trace - --mode nested --json
 *
 * The trace may be plain or gzip, from a file or stdin; it is streamed (memory does not grow
 * with its length). A malformed record stops the run with FILE:LINE and the offending text.
 */
import type { Command } from "commander";
import { MemvirtError, renameWhere } from "../../util/errors";
import { parsePages } from "../../util/units";
import { RowWriter } from "../../util/row-stream";
import type { OutputFile } from "../../util/output-file";
import { parseLevels, parsePageSize } from "../../mmu/page-size";
import type { WalkCacheDesign } from "../../mmu/walk-cache";
import { resolveTranslationCosts, type CostModel } from "../../mmu/cost-model";
import { MODE_NAMES } from "../../virt/mode-name";
import type { PvPolicy, ShadowPolicy } from "../../virt/translation-mode";
import { simulateTranslationStream, TRANSLATION_INTERVAL_COLUMNS, type TranslationResult } from "../../experiments/translation";
import { action, emit, parseChoice, parseIntFlag, progressBar, warn } from "../io";
import { rejectFlags } from "../flag-rules";
import { checkOutFlag, writeOutFile } from "../out-file";

interface TranslateFlags {
  trace?: string;
  mode: string;
  guestLevels: string;
  hostLevels: string;
  guestPageSize: string;
  hostPageSize: string;
  guestMemory: string;
  tlbEntries?: string;
  tlbWays?: string;
  tlb: boolean;
  pwc: string;
  nestedTlb?: boolean;
  trapReads: boolean;
  shadowPolicy: string;
  pvPolicy: string;
  processes: string;
  switchEvery: string;
  forkEvery: string;
  unmapEvery: string;
  accesses?: string;
  warmup: string;
  interval: string;
  cost: string[];
  out?: string;
  json?: boolean;
}

/**
 * Register `memvirt translate`.
 *
 * @example
 * registerTranslate(program);
 */
export function registerTranslate(program: Command): void {
  program
    .command("translate")
    .description("stream a Valgrind Lackey trace through native, protected, shadow or nested paging and report TLB misses, walk references, traps and cycles")
    .option("--trace <file>", "Lackey trace (plain or gzip); - reads stdin")
    .option("--mode <mode>", `translation mode: ${MODE_NAMES.join(", ")}`, "nested")
    .option("--guest-levels <n>", "guest page-table levels: 4 or 5", "4")
    .option("--host-levels <n>", "host page-table levels: 4 or 5 (not native)", "4")
    .option("--guest-page-size <size>", "guest page size: 4K, 2M or 1G", "4K")
    .option("--host-page-size <size>", "host page size: 4K, 2M or 1G (not native)", "4K")
    .option("--guest-memory <size>", "guest-physical memory, e.g. 1GiB (raise it for 1G pages)", "1GiB")
    .option("--tlb-entries <n>", "TLB entries (default 1536, Skylake STLB)")
    .option("--tlb-ways <n>", "TLB ways (default 12)")
    .option("--no-tlb", "no TLB at all: every access walks")
    .option("--pwc <design>", "page-walk cache: none, uptc or stc", "none")
    .option("--nested-tlb", "add a nested TLB (nested mode only)")
    .option("--no-trap-reads", "protected mode only: the guest reads the M→P table instead of trapping on page-table reads (what --pv-policy xen always does)")
    .option("--shadow-policy <policy>", "shadow mode only: kvm (a real shadow MMU: only shadowed tables trap, leaf tables unsync, write floods unshadow, dirty bits emulated) or slides (every guest page-table write traps)", "kvm")
    .option("--pv-policy <policy>", "protected mode only: xen (reads through the M→P table, updates batched into multicalls, tables written directly until pinned) or slides (every page-table write and read traps)", "xen")
    .option("--processes <n>", "guest processes time-sharing the CPU, each with its own address space", "1")
    .option("--switch-every <n>", "accesses between process switches (with --processes 2 or more)", "10000")
    .option("--fork-every <n>", "accesses between fork+exec bursts (0 = none)", "0")
    .option("--unmap-every <n>", "accesses between unmaps of a random page (0 = none)", "0")
    .option("--accesses <n>", "stop after this many measured accesses")
    .option("--warmup <n>", "accesses run before measuring starts", "0")
    .option("--interval <n>", "accesses per row of the --out table", "100000")
    .option("--cost <name=cycles>", "override a cycle cost, e.g. trapCycles=2000 (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--out <file>", "write the per-interval table, streamed as intervals close: .csv or .json (atomically)")
    .option("--json", "machine-readable totals on stdout")
    .action(action(async (opts: TranslateFlags, cmd: Command) => {
      if (opts.trace === undefined) throw new MemvirtError("a trace is required: --trace FILE, or --trace - for stdin", { where: "--trace" });
      const mode = parseChoice("--mode", opts.mode, MODE_NAMES);
      // A flag the user typed must change something: reject those the other flags make moot.
      if (mode === "native") rejectFlags(cmd, ["--host-levels", "--host-page-size"], "native paging has no host page tables; drop it or choose another --mode");
      if (mode !== "nested") rejectFlags(cmd, ["--nested-tlb"], `a nested TLB exists only in nested paging, not --mode ${mode}`);
      if (mode !== "protected") rejectFlags(cmd, ["--no-trap-reads"], `applies only to --mode protected, not --mode ${mode}`);
      if (mode !== "shadow") rejectFlags(cmd, ["--shadow-policy"], `applies only to --mode shadow, not --mode ${mode}`);
      if (mode !== "protected") rejectFlags(cmd, ["--pv-policy"], `applies only to --mode protected, not --mode ${mode}`);
      const shadowPolicy = parseChoice<ShadowPolicy>("--shadow-policy", opts.shadowPolicy, ["kvm", "slides"]);
      const pvPolicy = parseChoice<PvPolicy>("--pv-policy", opts.pvPolicy, ["xen", "slides"]);
      if (opts.tlb === false) rejectFlags(cmd, ["--tlb-entries", "--tlb-ways"], "conflicts with --no-tlb (there is no TLB to size)");
      if (opts.out === undefined) rejectFlags(cmd, ["--interval"], "sets the rows of the --out table; add --out FILE.csv or drop it");
      const count = (flag: string, text: string, min: number) => {
        const n = parseIntFlag(flag, text);
        if (n < min) throw new MemvirtError(`must be at least ${min}`, { where: flag, value: text });
        return n;
      };
      const processes = count("--processes", opts.processes, 1);
      if (processes === 1) rejectFlags(cmd, ["--switch-every"], "switches between processes; it needs --processes 2 or more");
      const costs: Partial<CostModel> = {};
      for (const c of opts.cost) {
        const m = /^([A-Za-z]+)=([0-9]+(?:\.[0-9]+)?)$/.exec(c);
        if (!m) throw new MemvirtError("expected name=cycles, e.g. trapCycles=2000", { where: "--cost", value: c });
        if (m[1] in costs) throw new MemvirtError(`${m[1]} given twice; give each cost once`, { where: "--cost", value: c });
        (costs as Record<string, number>)[m[1]] = Number(m[2]);
      }
      resolveTranslationCosts(costs, "--cost");
      const tlbEntries = opts.tlbEntries === undefined ? undefined : count("--tlb-entries", opts.tlbEntries, 1);
      const tlbWays = opts.tlbWays === undefined ? undefined : count("--tlb-ways", opts.tlbWays, 1);
      const options = {
        trace: opts.trace,
        mode,
        guestLevels: parseLevels(opts.guestLevels, "--guest-levels"),
        hostLevels: parseLevels(opts.hostLevels, "--host-levels"),
        guestPageSize: parsePageSize(opts.guestPageSize, "--guest-page-size"),
        hostPageSize: parsePageSize(opts.hostPageSize, "--host-page-size"),
        guestMemory: parsePages(opts.guestMemory, "--guest-memory"),
        tlb: opts.tlb === false ? (false as const) : { entries: tlbEntries, ways: tlbWays },
        pwc: parseChoice<WalkCacheDesign>("--pwc", opts.pwc, ["none", "uptc", "stc"]),
        nestedTlb: opts.nestedTlb === true,
        // Reads trap only under the slides' policy; Xen's never do (and --no-trap-reads says so).
        trapReads: pvPolicy === "slides" || opts.trapReads === false ? opts.trapReads : undefined,
        shadowPolicy,
        pvPolicy,
        costs,
        accesses: opts.accesses === undefined ? undefined : count("--accesses", opts.accesses, 1),
        warmupAccesses: count("--warmup", opts.warmup, 0),
        intervalAccesses: count("--interval", opts.interval, 1),
        guest: {
          processes,
          switchEvery: count("--switch-every", opts.switchEvery, 1),
          forkEvery: count("--fork-every", opts.forkEvery, 0),
          unmapEvery: count("--unmap-every", opts.unmapEvery, 0),
        },
        // The CLI prints totals only: interval rows go to --out as they close, none are kept.
        keepIntervals: 0,
      };
      // Checked before the run: writable, and not the trace it reads.
      const out = opts.out === undefined ? undefined : checkOutFlag(opts.out, opts.trace === "-" ? [] : [{ path: opts.trace, what: "the trace" }], { stdinIsInput: opts.trace === "-" });
      const simulate = async (file?: OutputFile) => {
        const bar = opts.trace === "-" ? { update: () => {}, stop: () => {} } : progressBar(`translating ${opts.trace}`);
        let rows: RowWriter | undefined;
        if (file !== undefined) {
          rows = new RowWriter(file, out!.format, TRANSLATION_INTERVAL_COLUMNS);
          rows.begin();
        }
        try {
          const r = await simulateTranslationStream({
            ...options,
            onBytes: bar.update,
            onInterval: rows === undefined ? undefined : (row) => rows!.row(TRANSLATION_INTERVAL_COLUMNS.map((c) => row[c])),
          });
          rows?.end();
          return r;
        } finally {
          bar.stop();
        }
      };
      let result: TranslationResult | undefined;
      try {
        if (out === undefined) result = await simulate();
        else await writeOutFile(out, async (file) => { result = await simulate(file); });
      } catch (err) {
        throw renameWhere(err, OPTION_FLAGS);
      }
      for (const w of result!.warnings) warn(w);
      emit(opts, jsonData(result!, opts.trace), () => humanText(result!, opts.out));
    }));
}

/** Library option paths and the flags that set them, so an error names what the user typed. */
const OPTION_FLAGS: Record<string, string> = {
  "tlb.entries": "--tlb-entries", "tlb.ways": "--tlb-ways", tlb: "--tlb-entries/--tlb-ways",
  guestMemory: "--guest-memory", guestLevels: "--guest-levels", hostLevels: "--host-levels",
  accesses: "--accesses", warmupAccesses: "--warmup", intervalAccesses: "--interval",
  "guest.processes": "--processes", "guest.switchEvery": "--switch-every", "guest.forkEvery": "--fork-every", "guest.unmapEvery": "--unmap-every",
};

function jsonData(result: TranslationResult, trace: string) {
  const t = result.totals;
  const { traps, guest, ...rest } = t;
  return {
    trace,
    mode: result.settings.mode,
    ...rest,
    traps: traps.total,
    trapsByKind: traps,
    guest,
    settings: { ...result.settings },
    warnings: result.warnings,
    traceStats: result.traceStats === undefined ? undefined : (({ lines, records, accesses, multiPageRecords, skipped }) => ({ lines, records, accesses, multiPageRecords, skipped }))(result.traceStats),
  };
}

function humanText(result: TranslationResult, out: string | undefined): string {
  const lines = result.explain().split("\n");
  if (out) lines.push(`interval table written to ${out}`);
  return lines.join("\n");
}
