/**
 * The benchmark harness. Each `*.bench.ts` file under test/bench/ measures one capability and
 * prints one line per figure through `report`: `name  value  unit`. `npm run bench` runs them all.
 *
 * `throughput` runs a task with tinybench and reports operations per second, where a task
 * performs `opsPerRun` operations (accesses, misses, bytes...) per call.
 */
import { Bench } from "tinybench";

/** Print one figure: name, value, unit (tab-separated so it is easy to grep and paste). */
export function report(name: string, value: number, unit: string, target?: string): void {
  const shown = value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(4);
  process.stdout.write(`${name.padEnd(56)} ${shown.padStart(16)} ${unit}${target ? `   (target ${target})` : ""}\n`);
}

/**
 * Measure `fn`, which performs `opsPerRun` operations per call, and report ops per second.
 *
 * @example
 * await throughput("tlb hit path", 1_000_000, () => mmu.run(batch), "accesses/s", "≥ 20M");
 */
export async function throughput(name: string, opsPerRun: number, fn: () => void, unit: string, target?: string, timeMs = 1500): Promise<number> {
  const bench = new Bench({ time: timeMs, warmupTime: 300, iterations: 3 });
  bench.add(name, fn);
  await bench.run();
  const task = bench.tasks[0];
  const result = task.result as unknown as { latency?: { mean: number }; mean?: number; error?: unknown; state?: string };
  if (result?.error) throw result.error;
  const meanMs = result?.latency?.mean ?? result?.mean;
  if (meanMs === undefined) throw new Error(`benchmark ${name} produced no timing`);
  const perSecond = opsPerRun / (meanMs / 1000);
  report(name, perSecond, unit, target);
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
