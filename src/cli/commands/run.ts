/**
 * `memvirt run EXPERIMENT.json [--out results.csv|results.json] [--seed S] [--json]`
 *
 * Runs a host experiment described in JSON (schema in src/experiments/experiment-file.ts and the
 * README): a progress bar on stderr, a summary on stdout (JSON with --json), and the timeline
 * written atomically to --out (CSV: the per-VM timeline; JSON: summary + both timelines).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { MemvirtError } from "../../util/errors";
import { writeFileAtomic } from "../../util/fs";
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../../util/units";
import { loadExperimentFile, runExperiment, ExperimentResult } from "../../experiments/experiment-file";
import { action, emit, progressBar } from "../io";

interface RunFlags {
  out?: string;
  seed?: string;
  json?: boolean;
}

/**
 * Register `memvirt run`.
 *
 * @example
 * registerRun(program);
 */
export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a host experiment from a JSON file: VMs, workloads, ballooning and host swapping over simulated time")
    .argument("<experiment>", "experiment JSON file (see the README for the schema)")
    .option("--out <file>", "write results: .csv (the per-VM timeline) or .json (summary and timelines); written atomically")
    .option("--seed <seed>", "override the experiment's seed")
    .option("--json", "machine-readable summary on stdout")
    .action(action((file: string, opts: RunFlags) => {
      let format: "csv" | "json" | undefined;
      if (opts.out !== undefined) {
        const ext = path.extname(opts.out).toLowerCase();
        if (ext !== ".csv" && ext !== ".json") throw new MemvirtError("must end in .csv or .json", { where: "--out", value: opts.out });
        format = ext === ".csv" ? "csv" : "json";
        checkOutDir(opts.out); // before the run, which may take minutes
        if (path.resolve(opts.out) === path.resolve(file)) throw new MemvirtError("is the experiment file itself; results would overwrite it", { where: "--out", value: opts.out });
      }
      const experiment = loadExperimentFile(file);
      if (opts.seed !== undefined) experiment.seed = /^-?\d+$/.test(opts.seed) ? Number(opts.seed) : opts.seed;
      const bar = progressBar(`${experiment.name}`);
      let result: ExperimentResult;
      try {
        result = runExperiment(experiment, { onProgress: bar.update });
      } finally {
        bar.stop();
      }
      const summary = summaryData(result);
      if (opts.out !== undefined) {
        const run = result.run;
        const data = format === "csv"
          ? run.timeline.toCSV()
          : `${JSON.stringify({ ...summary, timeline: run.timeline.objects(), hostTimeline: run.hostTimeline.objects() })}\n`;
        writeFileAtomic(opts.out, data);
      }
      emit(opts, summary, () => summaryText(result, opts.out));
    }));
}

/** The directory of --out must exist now, so a long run does not end in "cannot write". */
function checkOutDir(out: string): void {
  const dir = path.dirname(path.resolve(out));
  let ok = false;
  try {
    ok = fs.statSync(dir).isDirectory();
  } catch { /* missing */ }
  if (!ok) throw new MemvirtError(`output directory ${dir} does not exist`, { where: "--out", value: out });
  if (/[\\/]$/.test(out) || (fs.existsSync(out) && fs.statSync(out).isDirectory())) throw new MemvirtError("is a directory; give a file name ending in .csv or .json", { where: "--out", value: out });
}

function summaryData(result: ExperimentResult) {
  const { experiment, run } = result;
  return {
    experiment: experiment.name,
    seed: experiment.seed,
    seconds: experiment.run.seconds,
    warmupSeconds: experiment.run.warmupSeconds,
    summary: run.summary,
    events: run.events,
  };
}

function summaryText(result: ExperimentResult, out: string | undefined): string {
  const { experiment, run } = result;
  const s = run.summary;
  const lines: string[] = [];
  lines.push(`experiment ${experiment.name}: ${experiment.run.seconds} s simulated${experiment.run.warmupSeconds ? ` after ${experiment.run.warmupSeconds} s of warm-up` : ""}, seed ${JSON.stringify(experiment.seed)}`);
  lines.push(`host: ${formatBytes(s.machinePages * PAGE_SIZE_BYTES)} of memory, ${formatBytes(s.hostSwapPages * PAGE_SIZE_BYTES)} of swap; free memory fell to ${(s.minFreeFraction * 100).toFixed(2)}%`);
  const states = Object.entries(s.secondsInState).map(([k, v]) => `${k} ${+v.toFixed(2)} s`).join(", ");
  if (states) lines.push(`time by state: ${states}`);
  const header = ["vm", "accesses/s", "resident", "ballooned", "host-swapped", "guest disk reads", "host swap faults", "double paging"];
  const rows = s.vms.map((v) => [v.name, formatCount(Math.round(v.throughput)), formatCount(v.finalResidentPages), formatCount(v.finalBalloonedPages),
    formatCount(v.finalHostSwappedPages), formatCount(v.guestDiskReads), formatCount(v.hostSwapFaults), formatCount(v.doublePagingEvents)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  lines.push(fmt(header));
  for (const r of rows) lines.push(fmt(r));
  if (out) lines.push(`results written to ${out}`);
  return lines.join("\n");
}
