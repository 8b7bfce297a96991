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
import { formatBytes, formatCount, PAGE_SIZE_BYTES } from "../../util/units";
import { checkSeed } from "../../util/rng";
import { RowWriter, writeTableRows } from "../../util/row-stream";
import { loadExperimentFile, runExperiment, Experiment, ExperimentResult } from "../../experiments/experiment-file";
import { action, emit, progressBar, warn } from "../io";
import { checkOutFlag, writeOutFile, type OutFlag, type OutInput } from "../out-file";

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
    .action(action(async (file: string, opts: RunFlags) => {
      const experiment = loadExperimentFile(file);
      // Checked before the run, which may take minutes: writable, and not one of its inputs.
      const out = opts.out === undefined ? undefined : checkOutFlag(opts.out, [{ path: file, what: "the experiment file" }, ...inputFiles(experiment)]);
      if (opts.seed !== undefined) experiment.seed = checkSeed(opts.seed, "--seed"); // "42" is 42, as in the JSON
      const bar = progressBar(`${experiment.name}`);
      let result: ExperimentResult;
      try {
        result = runExperiment(experiment, { onProgress: bar.update });
      } finally {
        bar.stop();
      }
      for (const w of result.run.warnings) warn(w);
      const summary = summaryData(result);
      if (out !== undefined) await writeResults(out, summary, result);
      emit(opts, summary, () => summaryText(result, opts.out));
    }));
}

/**
 * Stream the results to --out, row by row: a 2M-row timeline is too big for one string.
 * CSV: the per-VM timeline. JSON: the summary's fields, then `timeline` and `hostTimeline`.
 */
async function writeResults(out: OutFlag, summary: ReturnType<typeof summaryData>, result: ExperimentResult): Promise<void> {
  const { timeline, hostTimeline } = result.run;
  await writeOutFile(out, async (file) => {
    if (out.format === "csv") {
      const rows = new RowWriter(file, "csv", timeline.columnNames());
      rows.begin();
      await writeTableRows(timeline, rows);
      rows.end();
      return;
    }
    file.write(`${JSON.stringify(summary).slice(0, -1)},"timeline":`);
    for (const [name, table] of [["timeline", timeline], ["hostTimeline", hostTimeline]] as const) {
      if (name === "hostTimeline") file.write(`,"hostTimeline":`);
      const rows = new RowWriter(file, "json", table.columnNames());
      rows.begin();
      await writeTableRows(table, rows);
      rows.end();
    }
    file.write("}\n");
  });
}

/**
 * Files the experiment reads (trace workloads name them): any string in `vms` that names an
 * existing file, relative to the experiment's directory. Results must not overwrite them.
 */
function inputFiles(experiment: Experiment): OutInput[] {
  const found: OutInput[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === "string") {
      const p = path.resolve(experiment.baseDir, value);
      if (value !== "" && fs.existsSync(p)) found.push({ path: p, what: `the input file ${JSON.stringify(value)}` });
    } else if (typeof value === "object" && value !== null) {
      for (const v of Object.values(value)) visit(v, depth + 1);
    }
  };
  visit(experiment.vms, 0);
  return found;
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
    warnings: run.warnings,
    ...(run.summary.vms.some((v) => v.cache) ? { caches: cacheData(run) } : {}),
  };
}

/** Each traced VM's need estimate and the hypervisor's curve (sizes ≥ v) at the end of the run. */
function cacheData(run: ExperimentResult["run"]) {
  return Object.fromEntries(run.summary.vms.filter((v) => v.cache).map((v) => [v.name, { need: run.cacheNeed(v.name), curve: run.cacheCurve(v.name).objects() }]));
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
  const sharing = sharingLine(run.hostTimeline);
  if (sharing) lines.push(sharing);
  for (const v of s.vms) {
    const c = v.cache;
    if (!c) continue;
    const need = run.cacheNeed(v.name);
    const needText = need === null ? "no need estimate yet" : `need ${need.bound === "at-most" ? "at most " : need.bound === "more-than" ? "more than " : ""}${formatBytes(need.needPages * PAGE_SIZE_BYTES)} (v = ${formatBytes(need.directPages * PAGE_SIZE_BYTES)}; the hypervisor is blind below v)`;
    lines.push(`${v.name}'s exclusive cache (${formatBytes(c.capacityPages * PAGE_SIZE_BYTES)}): ${formatCount(c.hits)} hits of ${formatCount(c.probes)} disk reads, ${formatCount(c.puts)} puts; ` +
      `saved ${+c.savedSeconds.toFixed(3)} s of disk time, spent ${+c.putSeconds.toFixed(3)} s in puts; ${needText}`);
  }
  if (out) lines.push(`results written to ${out}`);
  return lines.join("\n");
}

/** One line on page sharing, when the run shared pages: the saving at the end and the run's totals. */
function sharingLine(hostTimeline: ExperimentResult["run"]["hostTimeline"]): string | undefined {
  if (!hostTimeline.columnNames().includes("savedPages") || hostTimeline.numRows() === 0) return undefined;
  const last = hostTimeline.numRows() - 1;
  const saved = hostTimeline.get("savedPages", last) as number;
  const sum = (name: string) => Array.from(hostTimeline.array(name) as ArrayLike<number>).reduce((a, b) => a + b, 0);
  return `page sharing: ${formatCount(saved)} machine pages saved at the end (${formatBytes(saved * PAGE_SIZE_BYTES)}); ` +
    `${formatCount(sum("cowBreaks"))} copy-on-write breaks, ${formatCount(sum("pagesHashed"))} pages hashed, ${formatCount(sum("pagesCompared"))} compared`;
}
