/**
 * The benchmark harness. Each `*.bench.ts` file under test/bench/ measures one capability and
 * prints one line per figure through `report`: `name  value  unit`. `npm run bench` runs them all.
 *
 * `throughput` runs a task with tinybench and reports operations per second, where a task
 * performs `opsPerRun` operations (accesses, misses, bytes...) per call.
 */
import * as fs from "node:fs";
import { Bench } from "tinybench";

/** Print one figure: name, value, unit, then the target and any note (space-aligned, easy to grep). */
export function report(name: string, value: number, unit: string, target?: string, note?: string): void {
  const extra = [target ? `target ${target}` : "", note ?? ""].filter((x) => x !== "").join("; ");
  process.stdout.write(`${name.padEnd(56)} ${formatFigure(value).padStart(16)} ${unit}${extra ? `   (${extra})` : ""}\n`);
}

function formatFigure(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(4);
}

/**
 * Measure `fn`, which performs `opsPerRun` operations per call, and report ops per second: the
 * mean, and the range over single runs (this shared 2-core VM drifts up to 2× between runs, so
 * the range says how far to trust the mean).
 *
 * @example
 * await throughput("tlb hit path", 1_000_000, () => mmu.run(batch), "accesses/s", "≥ 20M");
 */
export async function throughput(name: string, opsPerRun: number, fn: () => void, unit: string, target?: string, timeMs = 1500): Promise<number> {
  const bench = new Bench({ time: timeMs, warmupTime: 300, iterations: 3 });
  bench.add(name, fn);
  await bench.run();
  const task = bench.tasks[0];
  const result = task.result as unknown as { latency?: { mean: number; min: number; max: number }; mean?: number; error?: unknown; state?: string };
  if (result?.error) throw result.error;
  const meanMs = result?.latency?.mean ?? result?.mean;
  if (meanMs === undefined) throw new Error(`benchmark ${name} produced no timing`);
  const perSecond = opsPerRun / (meanMs / 1000);
  const latency = result?.latency;
  const range = latency ? `runs ${formatFigure(opsPerRun / (latency.max / 1000))}–${formatFigure(opsPerRun / (latency.min / 1000))}` : undefined;
  report(name, perSecond, unit, target, range);
  return perSecond;
}

/**
 * Run a benchmark file's body; a failure exits non-zero so `npm run bench` notices.
 *
 * @example
 * runBench(async () => { await throughput(...); });
 */
export function runBench(body: () => Promise<void>): void {
  body().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/**
 * The process's peak resident memory in bytes (VmHWM on Linux, current RSS elsewhere).
 *
 * @example
 * report("peak RSS", peakRssBytes() / 2 ** 30, "GiB", "≤ 4 GiB");
 */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch { /* not Linux */ }
  return process.memoryUsage().rss;
}
