/**
 * `memvirt balloon-vm --qmp PATH (--target SIZE | --schedule T:SIZE,…) [--seconds S]
 * [--sample S] [--out FILE.csv|.json] [--no-restore] [--json]`: move a running QEMU guest's virtio balloon
 * through QMP and record what QEMU and the guest report, beside the simulator's balloon on the
 * same schedule. See src/qemu/real-balloon.ts and balloon-compare.ts.
 */
import type { Command } from "commander";
import { MemvirtError } from "../../util/errors";
import { formatBytes } from "../../util/units";
import { RowWriter, writeTableRows } from "../../util/row-stream";
import { recordRealBalloon, type BalloonStep } from "../../qemu/real-balloon";
import { balloonResponse, simulateBalloonSchedule, type BalloonStepResponse } from "../../qemu/balloon-compare";
import { checkOutFlag, writeOutFile } from "../out-file";
import { action, emit, warn } from "../io";
import { qmpSocketExposure } from "../../qemu/qmp-client";

interface BalloonVmFlags {
  qmp?: string;
  target?: string;
  schedule?: string;
  seconds?: string;
  sample?: string;
  out?: string;
  restore?: boolean;
  json?: boolean;
}

/**
 * Parse `--schedule 1:96MiB,8:256MiB` (seconds:size pairs) into balloon steps.
 *
 * @example
 * parseScheduleFlag("1:96MiB,8:256MiB") // [{ atSeconds: 1, target: "96MiB" }, { atSeconds: 8, target: "256MiB" }]
 */
export function parseScheduleFlag(text: string): BalloonStep[] {
  return text.split(",").map((part) => {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*:\s*(\S.*?)\s*$/.exec(part);
    if (!m) throw new MemvirtError(`expected SECONDS:SIZE pairs separated by commas, e.g. 1:96MiB,8:256MiB; "${part}" is not one`, { where: "--schedule", value: text });
    return { atSeconds: Number(m[1]), target: m[2] };
  });
}

function positiveSeconds(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(text) || !(n > 0)) throw new MemvirtError("expected a positive number of seconds", { where: flag, value: text });
  return n;
}

/**
 * Register `memvirt balloon-vm`.
 *
 * @example
 * registerBalloonVm(program);
 */
export function registerBalloonVm(program: Command): void {
  program
    .command("balloon-vm")
    .description("move a running QEMU guest's virtio balloon through QMP and record QEMU's and the guest's view over time, beside the simulator's balloon on the same schedule")
    .option("--qmp <path>", "QEMU's QMP unix socket (the guest needs -device virtio-balloon-pci and its driver)")
    .option("--target <size>", "one step at 0 s: the memory the guest keeps, e.g. 96MiB")
    .option("--schedule <steps>", "SECONDS:SIZE pairs, e.g. 1:96MiB,8:256MiB")
    .option("--seconds <s>", "how long to record (default: the last step + 10)")
    .option("--sample <s>", "seconds between samples", "0.5")
    .option("--out <file>", "the samples: .csv (the real run's table) or .json (real and simulated tables with the steps)")
    .option("--no-restore", "leave the balloon at the last target (default: back to the guest's full memory at the end)")
    .option("--json", "machine-readable summary on stdout")
    .action(action(async (opts: BalloonVmFlags) => {
      if (opts.qmp === undefined) throw new MemvirtError("which QEMU? give --qmp PATH", { where: "--qmp" });
      if ((opts.target === undefined) === (opts.schedule === undefined)) throw new MemvirtError("give either --target SIZE or --schedule SECONDS:SIZE,…", { where: opts.target === undefined ? "--target" : "--schedule" });
      const schedule = opts.schedule !== undefined ? parseScheduleFlag(opts.schedule) : [{ atSeconds: 0, target: opts.target! }];
      const sampleSeconds = positiveSeconds("--sample", opts.sample ?? "0.5");
      const durationSeconds = opts.seconds === undefined ? undefined : positiveSeconds("--seconds", opts.seconds);
      const out = opts.out === undefined ? undefined : checkOutFlag(opts.out, []);
      const rename = (err: unknown) => {
        if (err instanceof MemvirtError && err.where?.startsWith("schedule[")) throw new MemvirtError(err.message.slice(err.where.length + 2), { where: opts.schedule !== undefined ? "--schedule" : "--target" });
        throw err;
      };
      const exposed = qmpSocketExposure(opts.qmp);
      if (exposed !== undefined) warn(`other local users can reach this guest's QMP socket ${opts.qmp}: ${exposed}; QMP reads all guest memory (start QEMU under umask 077, or put the socket in a private folder)`);
      // Ctrl-C puts the balloon back before exiting, rather than leaving the guest squeezed.
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const real = await recordRealBalloon({ qmpPath: opts.qmp, schedule, durationSeconds, sampleSeconds, restore: opts.restore !== false, signal: abort.signal })
        .catch(rename)
        .finally(() => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        });
      const sim = simulateBalloonSchedule({ memoryBytes: real.memoryBytes, schedule, durationSeconds: durationSeconds ?? schedule[schedule.length - 1].atSeconds + 10, sampleSeconds: Math.max(0.01, Math.round(sampleSeconds * 100) / 100) });
      const data = {
        qmp: opts.qmp,
        memoryBytes: real.memoryBytes,
        balloonPath: real.balloonPath,
        schedule: real.schedule,
        samples: real.table.numRows(),
        real: balloonResponse(real.table),
        simulated: balloonResponse(sim),
        last: real.table.objects().at(-1),
        file: out?.file,
      };
      if (out !== undefined) {
        await writeOutFile(out, async (file) => {
          if (out.format === "csv") {
            const rows = new RowWriter(file, "csv", real.table.columnNames());
            rows.begin();
            await writeTableRows(real.table, rows);
            rows.end();
            return;
          }
          file.write(`${JSON.stringify({ memoryBytes: real.memoryBytes, schedule: real.schedule, balloonPath: real.balloonPath, changes: real.changes })}`.slice(0, -1));
          for (const [name, table] of [["real", real.table], ["simulated", sim]] as const) {
            file.write(`,${JSON.stringify(name)}:`);
            const rows = new RowWriter(file, "json", table.columnNames());
            rows.begin();
            await writeTableRows(table, rows);
            rows.end();
          }
          file.write("}\n");
        });
      }
      emit(opts, data, () => humanText(data.memoryBytes, data.real, data.simulated, data.file));
    }));
}

function humanText(memoryBytes: number, real: BalloonStepResponse[], sim: BalloonStepResponse[], file: string | undefined): string {
  const step = (s: BalloonStepResponse | undefined) => (s === undefined ? "—"
    : s.settleSeconds === null ? `not reached in the run (ended at ${formatBytes(s.endBytes)})`
      : `${s.settleSeconds.toFixed(1)} s${s.bytesPerSecond === null ? "" : ` (${formatBytes(s.bytesPerSecond)}/s)`}`);
  const lines = [`guest of ${formatBytes(memoryBytes)}: time for QEMU's actual to reach each target (± one sample), real against simulated`];
  real.forEach((s, i) => lines.push(`  at ${s.atSeconds.toFixed(1)} s, ${formatBytes(s.fromBytes)} → ${formatBytes(s.targetBytes)}: real ${step(s)}, simulated ${step(sim[i])}`));
  if (file !== undefined) lines.push(`samples written to ${file}`);
  return lines.join("\n");
}
