/**
 * `memvirt capture-vm --qmp PATH --out FILE [--name N] [--chunk SIZE] [--no-pause] [--keep-bytes]
 * [--json]`: snapshot the guest-physical memory of a running QEMU through its QMP socket (any
 * QEMU started with `-qmp unix:PATH,server=on,wait=off`, booted by memvirt or not), in the
 * format `capture-pages` writes, so `memvirt sharing` reads both. See src/qemu/capture-vm.ts.
 * The guest is paused for the dump unless `--no-pause` (then a warning says the snapshot is no
 * single instant); Ctrl-C resumes it and removes the temp dump before exiting.
 */
import type { Command } from "commander";
import { MemvirtError } from "../../util/errors";
import { checkOutputFile } from "../../util/output-file";
import { formatBytes, formatCount, parseBytes } from "../../util/units";
import { writeSnapshot } from "../../contents/snapshot-file";
import type { PageSnapshot } from "../../contents/page-snapshot";
import { captureVm } from "../../qemu/capture-vm";
import { qmpSocketExposure } from "../../qemu/qmp-client";
import { action, emit, progressBar, warn } from "../io";

interface CaptureVmFlags {
  qmp?: string;
  out?: string;
  name?: string;
  chunk?: string;
  pause?: boolean;
  keepBytes?: boolean;
  json?: boolean;
}

/**
 * Register `memvirt capture-vm`.
 *
 * @example
 * registerCaptureVm(program);
 */
export function registerCaptureVm(program: Command): void {
  program
    .command("capture-vm")
    .description("snapshot a running QEMU guest's physical memory through its QMP socket (pmemsave in chunks): a 64-bit hash per page, the bytes on request")
    .option("--qmp <path>", "QEMU's QMP unix socket (-qmp unix:PATH,server=on,wait=off)")
    .option("--out <file>", "the snapshot file to write (gzip if it ends in .gz), e.g. guest.mvpages.gz")
    .option("--name <name>", "a label stored in the snapshot (default: guest at PATH)")
    .option("--chunk <size>", "bytes dumped per pmemsave into the private temp file", "64MiB")
    .option("--pause", "stop the guest's CPUs during the dump (a consistent picture), then resume them (the default)")
    .option("--no-pause", "let the guest run during the dump: its pages may change while they are read")
    .option("--keep-bytes", "store every page's bytes too (the file grows by the guest's memory size)")
    .option("--json", "machine-readable summary on stdout")
    .action(action(async (opts: CaptureVmFlags) => {
      if (opts.qmp === undefined) throw new MemvirtError("which QEMU? give --qmp PATH (its -qmp unix:PATH,server=on socket)", { where: "--qmp" });
      if (opts.out === undefined) throw new MemvirtError("where to write the snapshot? give --out FILE (e.g. guest.mvpages.gz)", { where: "--out" });
      const chunkBytes = parseBytes(opts.chunk ?? "64MiB", "--chunk");
      if (chunkBytes % 4096 !== 0 || chunkBytes === 0) throw new MemvirtError("must be a positive whole number of 4 KiB pages", { where: "--chunk", value: opts.chunk });
      checkOutputFile(opts.out); // before the capture: the directory exists and takes files
      const exposed = qmpSocketExposure(opts.qmp);
      if (exposed !== undefined) warn(`other local users can reach this guest's QMP socket ${opts.qmp}: ${exposed}; QMP reads all guest memory (start QEMU under umask 077, or put the socket in a private folder)`);
      const bar = progressBar("capturing guest memory");
      let snap: PageSnapshot;
      const t0 = performance.now();
      // Ctrl-C must not leave the guest stopped or a dump in /dev/shm: captureVm cleans up, then rejects.
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        snap = await captureVm({ qmpPath: opts.qmp, name: opts.name, chunkBytes, pause: opts.pause !== false, keepBytes: opts.keepBytes === true, onProgress: bar.update, signal: abort.signal });
      } catch (err) {
        if (err instanceof MemvirtError && err.where === "keepBytes") throw new MemvirtError(err.message.slice("keepBytes: ".length).replace(/ \(got true\)$/, "").replace("(without keepBytes)", "(without --keep-bytes)"), { where: "--keep-bytes" });
        throw err;
      } finally {
        bar.stop();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      if ((snap.info.source as { consistent?: boolean }).consistent === false) warn("the guest ran during the dump (--no-pause): pages may have changed while they were read, so the snapshot is no single instant");
      const seconds = (performance.now() - t0) / 1000;
      const fileBytes = await writeSnapshot(opts.out, snap);
      const data = summaryData(snap, opts.out, fileBytes, seconds);
      emit(opts, data, () => summaryText(data));
    }));
}

function summaryData(snap: PageSnapshot, file: string, fileBytes: number, seconds: number) {
  const source = snap.info.source as unknown as { qmp: string; qemu: string; memoryBytes: number; pluggedMemoryBytes: number };
  return {
    file,
    name: snap.name,
    qmp: source.qmp,
    qemu: source.qemu,
    memoryBytes: source.memoryBytes,
    pluggedMemoryBytes: source.pluggedMemoryBytes,
    pages: snap.pageCount,
    zeroPages: snap.zeroPages,
    pageSizeBytes: snap.pageSizeBytes,
    ranges: snap.regions.map((r) => ({ name: r.name, startAddress: `0x${r.startAddress.toString(16)}`, pages: r.pageCount })),
    keptBytes: snap.bytes !== undefined,
    fileBytes,
    seconds,
  };
}

function summaryText(d: ReturnType<typeof summaryData>): string {
  const ranges = d.ranges.map((r) => `${r.name} at ${r.startAddress} (${formatCount(r.pages)} pages)`).join(", ");
  return [
    `guest at ${d.qmp} (QEMU ${d.qemu}): ${formatCount(d.pages)} pages (${formatBytes(d.pages * d.pageSizeBytes)}), ${formatCount(d.zeroPages)} of them zero pages, in ${d.seconds.toFixed(2)} s`,
    `guest RAM: ${ranges}${d.pluggedMemoryBytes > 0 ? `; ${formatBytes(d.pluggedMemoryBytes)} of hot-plugged memory not captured` : ""}`,
    `written to ${d.file} (${formatBytes(d.fileBytes)}, ${d.keptBytes ? "hashes and page bytes" : "hashes only"})`,
  ].join("\n");
}
