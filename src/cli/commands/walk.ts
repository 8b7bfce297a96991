/**
 * `memvirt walk`: one page walk with cold caches, reference by reference.
 *
 *   memvirt walk --mode nested                       the 24 references of a 4/4 2-D walk
 *   memvirt walk --mode nested --host-page-size 2M   19 references
 *   memvirt walk --mode shadow --explain             the story, OSTEP style
 *   memvirt walk --json                              machine-readable
 */
import type { Command } from "commander";
import { hex } from "../../mmu/pte";
import { parseLevels, parsePageSize } from "../../mmu/page-size";
import type { WalkCacheDesign } from "../../mmu/walk-cache";
import { MODE_NAMES } from "../../virt/mode-name";
import { walk, parseAddress, DEFAULT_WALK_ADDRESS } from "../../virt/walk";
import { countOf } from "../../util/plural";
import { action, emit, parseChoice } from "../io";
import { rejectFlags } from "../flag-rules";

interface WalkFlags {
  mode: string;
  guestLevels: string;
  hostLevels: string;
  guestPageSize: string;
  hostPageSize: string;
  address: string;
  pwc: string;
  nestedTlb?: boolean;
  explain?: boolean;
  json?: boolean;
}

/**
 * Register `memvirt walk`.
 *
 * @example
 * registerWalk(program);
 */
export function registerWalk(program: Command): void {
  program
    .command("walk")
    .description("show every memory reference of one page walk (cold caches): native, protected, shadow or nested (2-D) paging")
    .option("--mode <mode>", `translation mode: ${MODE_NAMES.join(", ")}`, "nested")
    .option("--guest-levels <n>", "guest page-table levels: 4 or 5", "4")
    .option("--host-levels <n>", "host page-table levels: 4 or 5 (not native)", "4")
    .option("--guest-page-size <size>", "guest page size: 4K, 2M or 1G", "4K")
    .option("--host-page-size <size>", "host page size: 4K, 2M or 1G (not native)", "4K")
    .option("--address <va>", "virtual address to translate (0x hex or decimal)", `0x${DEFAULT_WALK_ADDRESS.toString(16)}`)
    .option("--pwc <design>", "page-walk cache: none, uptc (AMD, by physical address) or stc (Intel, by address prefix)", "none")
    .option("--nested-tlb", "add a nested TLB (gPA→hPA) to the 2-D walk (nested mode only)")
    .option("--explain", "narrate the walk step by step")
    .option("--json", "machine-readable output on stdout")
    .action(action((opts: WalkFlags, cmd: Command) => {
      const mode = parseChoice("--mode", opts.mode, MODE_NAMES);
      // A flag the user typed must change something: reject those the mode makes moot.
      if (mode === "native") rejectFlags(cmd, ["--host-levels", "--host-page-size"], "native paging has no host page tables; drop it or choose another --mode");
      if (mode !== "nested") rejectFlags(cmd, ["--nested-tlb"], `a nested TLB exists only in nested paging, not --mode ${mode}`);
      const w = walk({
        mode,
        guestLevels: parseLevels(opts.guestLevels, "--guest-levels"),
        hostLevels: parseLevels(opts.hostLevels, "--host-levels"),
        guestPageSize: parsePageSize(opts.guestPageSize, "--guest-page-size"),
        hostPageSize: parsePageSize(opts.hostPageSize, "--host-page-size"),
        address: parseAddress(opts.address, "--address"),
        pwc: parseChoice<WalkCacheDesign>("--pwc", opts.pwc, ["none", "uptc", "stc"]),
        nestedTlb: opts.nestedTlb === true,
      });
      const data = {
        mode: w.mode,
        settings: w.settings,
        address: w.address,
        physicalAddress: w.physicalAddress,
        machineAddress: w.machineAddress,
        memoryReferences: w.memoryReferences,
        coldReferences: w.coldReferences,
        formula: w.formula,
        savedReferences: w.savedReferences,
        references: w.references,
      };
      emit(opts, data, () => (opts.explain ? w.explain() : table(w)));
    }));
}

function table(w: ReturnType<typeof walk>): string {
  const header = ["step", "dimension", "level", "table", "index", "entry", "translates"];
  const rows = w.references.map((r) => [String(r.step), w.mode === "shadow" ? "shadow" : r.dimension, `L${r.level}`, hex(r.tableAddress), String(r.index), hex(r.entry), r.translates]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 6 ? c : i === 0 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  const lines = [fmt(header), ...rows.map(fmt)];
  const chain = w.mode === "native" ? `VA ${hex(w.address)} → PA ${hex(w.machineAddress)}` : `gVA ${hex(w.address)} → gPA ${hex(w.physicalAddress)} → hPA ${hex(w.machineAddress)}`;
  lines.push(`${chain}: ${countOf(w.memoryReferences, "memory reference")} (cold: ${w.formula})`);
  return lines.join("\n");
}
