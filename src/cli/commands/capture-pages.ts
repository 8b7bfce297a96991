/**
 * `memvirt capture-pages --pid PID --out FILE [--keep-bytes] [--json]`: snapshot a live Linux
 * process's resident pages (one 64-bit hash per page, its mapping kind, the bytes on request)
 * through /proc/PID/{maps,pagemap,mem}. Root only: the kernel lets no one else read another
 * process's pagemap and memory. `memvirt sharing` reads the file.
 */
import type { Command } from "commander";
import { MemvirtError } from "../../util/errors";
import { checkOutputFile } from "../../util/output-file";
import { formatBytes, formatCount } from "../../util/units";
import { capturePages } from "../../contents/capture-process";
import { writeSnapshot } from "../../contents/snapshot-file";
import { MAPPING_KINDS } from "../../contents/mapping-kind";
import type { PageSnapshot } from "../../contents/page-snapshot";
import { action, emit, parseIntFlag, progressBar } from "../io";

interface CapturePagesFlags {
  pid?: string;
  out?: string;
  keepBytes?: boolean;
  json?: boolean;
}

/**
 * Register `memvirt capture-pages`.
 *
 * @example
 * registerCapturePages(program);
 */
export function registerCapturePages(program: Command): void {
  program
    .command("capture-pages")
    .description("snapshot the resident pages of a live Linux process (root only): a 64-bit hash and the mapping kind of each page, the bytes on request")
    .option("--pid <pid>", "the process to capture")
    .option("--out <file>", "the snapshot file to write (gzip if it ends in .gz), e.g. python.mvpages.gz")
    .option("--keep-bytes", "store every page's bytes too (the file grows by the process's resident size)")
    .option("--json", "machine-readable summary on stdout")
    .action(action(async (opts: CapturePagesFlags) => {
      if (opts.pid === undefined) throw new MemvirtError("which process? give --pid PID", { where: "--pid" });
      if (opts.out === undefined) throw new MemvirtError("where to write the snapshot? give --out FILE (e.g. p.mvpages.gz)", { where: "--out" });
      const pid = parseIntFlag("--pid", opts.pid);
      if (pid < 1) throw new MemvirtError("a process id is a positive integer", { where: "--pid", value: opts.pid });
      checkOutputFile(opts.out); // before the capture: the directory exists and takes files
      const bar = progressBar(`capturing pid ${pid}`);
      let snap: PageSnapshot;
      try {
        snap = capturePages(pid, { keepBytes: opts.keepBytes === true, onProgress: bar.update });
      } finally {
        bar.stop();
      }
      const fileBytes = await writeSnapshot(opts.out, snap);
      const data = summaryData(snap, opts.out, fileBytes);
      emit(opts, data, () => summaryText(data));
    }));
}

function summaryData(snap: PageSnapshot, file: string, fileBytes: number) {
  const source = snap.info.source as { pid: number; command: string };
  const byKind: Record<string, number> = {};
  for (const kind of MAPPING_KINDS) byKind[kind] = 0;
  for (let i = 0; i < snap.pageCount; i++) byKind[snap.kind(i)]++;
  return {
    file,
    pid: source.pid,
    command: source.command,
    pages: snap.pageCount,
    zeroPages: snap.zeroPages,
    pageSizeBytes: snap.pageSizeBytes,
    regions: snap.regions.length,
    swappedPages: snap.info.counts?.swappedPages ?? 0,
    unreadablePages: snap.info.counts?.unreadablePages ?? 0,
    byKind,
    keptBytes: snap.bytes !== undefined,
    fileBytes,
  };
}

function summaryText(d: ReturnType<typeof summaryData>): string {
  const kinds = Object.entries(d.byKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${formatCount(n)}`).join(", ");
  return [
    `pid ${d.pid} (${d.command}): ${formatCount(d.pages)} resident pages (${formatBytes(d.pages * d.pageSizeBytes)}) in ${formatCount(d.regions)} mappings, ${formatCount(d.zeroPages)} of them zero pages`,
    `by mapping: ${kinds || "none"}`,
    `not captured: ${formatCount(d.swappedPages)} swapped-out pages, ${formatCount(d.unreadablePages)} unreadable pages`,
    `written to ${d.file} (${formatBytes(d.fileBytes)}, ${d.keptBytes ? "hashes and page bytes" : "hashes only"})`,
  ].join("\n");
}
