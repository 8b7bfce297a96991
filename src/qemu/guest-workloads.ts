/**
 * The named workloads a memvirt guest runs, and the guest's `/init`.
 *
 * A workload is written `KIND` or `KIND:PARAMS`, or several joined by `+`, run in order
 * (e.g. `page-cache:16MiB+repeat:2x4MiB`):
 *
 * | workload            | what the guest does                                                       |
 * |---------------------|---------------------------------------------------------------------------|
 * | `idle`              | nothing: the kernel, busybox and the init shell                           |
 * | `page-cache[:SIZE]` | reads SIZE (default 32 MiB) of the image's disk (/dev/vda): page cache    |
 * | `alloc[:SIZE]`      | one process reads SIZE (default 32 MiB) of /dev/urandom into its own heap |
 * | `repeat[:NxSIZE]`   | N processes (default 4) each hold the same SIZE (default 8 MiB) of disk   |
 *
 * page-cache reads the block device itself (the kernel has no filesystem module for a disk):
 * its pages are file-backed page cache on the LRU like any file's, but /proc/meminfo counts
 * them under `Buffers` (and Active/Inactive(file)), not `Cached`. The disk's bytes are the same
 * on every machine (guest-image.ts), so guests reading it cache identical pages; alloc's bytes
 * come from /dev/urandom and differ in every guest; repeat's copies hold identical disk bytes.
 *
 * Each process that holds memory is a busybox `dd` whose buffer is the memory: it reads the
 * whole block (iflag=fullblock), then blocks writing it to a FIFO nobody reads, so it keeps it.
 * When set up the guest prints `MEMVIRT-READY <workload>` on the serial console, then stays.
 * With `memvirt.meminfo=S` on the kernel command line it also prints, every S seconds,
 * `MEMVIRT-MEMINFO {"uptimeSeconds":…,"MemTotal":…,…}`: every /proc/meminfo field, in KiB.
 */
import { MemvirtError } from "../util/errors";
import { MiB, parseBytes } from "../util/units";

/** The workload kinds, in the order errors list them. */
export const GUEST_WORKLOAD_KINDS = ["idle", "page-cache", "alloc", "repeat"] as const;
/** One of `GUEST_WORKLOAD_KINDS`. */
export type GuestWorkloadKind = (typeof GUEST_WORKLOAD_KINDS)[number];

/** One workload of a `+` list. Sizes are whole MiB. */
export interface GuestWorkloadPart {
  kind: GuestWorkloadKind;
  /** MiB read into the page cache (page-cache), allocated (alloc), or held by each copy (repeat). */
  sizeMiB: number;
  /** Processes (repeat; 1 for alloc, 0 otherwise). */
  copies: number;
  /** The canonical text, e.g. "alloc:64MiB". */
  text: string;
}

/** A parsed workload: one or more parts, run in order. */
export interface GuestWorkload {
  parts: GuestWorkloadPart[];
  /** The canonical text, e.g. "alloc:64MiB" or "page-cache:16MiB+repeat:2x4MiB"; the ready line carries it. */
  text: string;
  /** True when the guest needs the image's disk attached (/dev/vda). */
  needsDisk: boolean;
}

/** MiB of deterministic data on the image's disk: the most page-cache and repeat can read. */
export const GUEST_DISK_MIB = 256;

const DEFAULTS: Record<GuestWorkloadKind, { sizeMiB: number; copies: number }> = {
  idle: { sizeMiB: 0, copies: 0 },
  "page-cache": { sizeMiB: 32, copies: 0 },
  alloc: { sizeMiB: 32, copies: 1 },
  repeat: { sizeMiB: 8, copies: 4 },
};

const USAGE = "idle, page-cache[:SIZE], alloc[:SIZE], repeat[:NxSIZE], or several joined by + (e.g. alloc:32MiB, page-cache:16MiB+repeat:4x8MiB)";

/**
 * Parse a workload as the user wrote it. Errors name `where` and list the valid workloads.
 *
 * @example
 * parseGuestWorkload("alloc:64MiB") // { parts: [{ kind: "alloc", sizeMiB: 64, copies: 1, text: "alloc:64MiB" }], text: "alloc:64MiB", needsDisk: false }
 * parseGuestWorkload("page-cache+repeat").text // "page-cache:32MiB+repeat:4x8MiB"
 */
export function parseGuestWorkload(value: unknown, where = "workload"): GuestWorkload {
  if (typeof value !== "string") throw new MemvirtError(`expected a workload: ${USAGE}`, { where, value });
  const parts = value.trim().split("+").map((p) => parsePart(p.trim(), value, where));
  if (parts.length > 1 && parts.some((p) => p.kind === "idle")) throw new MemvirtError("idle cannot be combined with other workloads", { where, value });
  if (parts.length > 16) throw new MemvirtError("at most 16 workloads joined by +", { where, value });
  return { parts, text: parts.map((p) => p.text).join("+"), needsDisk: parts.some((p) => p.kind === "page-cache" || p.kind === "repeat") };
}

function parsePart(part: string, value: string, where: string): GuestWorkloadPart {
  const m = /^([a-z-]+)(?::(.*))?$/.exec(part);
  const kind = m?.[1] as GuestWorkloadKind | undefined;
  if (!m || kind === undefined || !(GUEST_WORKLOAD_KINDS as readonly string[]).includes(kind)) {
    throw new MemvirtError(`unknown workload${part !== value.trim() ? ` "${part}"` : ""}; the workloads are ${USAGE}`, { where, value });
  }
  let { sizeMiB, copies } = DEFAULTS[kind];
  const params = m[2];
  if (params !== undefined) {
    if (kind === "idle") throw new MemvirtError("idle takes no parameters", { where, value });
    let sizeText = params;
    if (kind === "repeat") {
      const r = /^([0-9]+)x(.+)$/.exec(params);
      if (!r) throw new MemvirtError("repeat is written repeat:NxSIZE, e.g. repeat:4x8MiB", { where, value });
      copies = Number(r[1]);
      if (copies < 1 || copies > 64) throw new MemvirtError("repeat takes 1 to 64 copies", { where, value });
      sizeText = r[2];
    }
    const bytes = parseBytes(sizeText, where);
    if (bytes === 0 || bytes % MiB !== 0) throw new MemvirtError("a workload size is a positive whole number of MiB", { where, value });
    sizeMiB = bytes / MiB;
  }
  if ((kind === "page-cache" || kind === "repeat") && sizeMiB > GUEST_DISK_MIB) {
    throw new MemvirtError(`${kind} reads the guest's ${GUEST_DISK_MIB} MiB disk: at most ${GUEST_DISK_MIB}MiB`, { where, value });
  }
  const text = kind === "idle" ? "idle" : kind === "repeat" ? `repeat:${copies}x${sizeMiB}MiB` : `${kind}:${sizeMiB}MiB`;
  return { kind, sizeMiB, copies, text };
}

/**
 * The kernel command-line words that select a workload (and the periodic meminfo line).
 *
 * @internal
 * @example
 * workloadKernelArgs(parseGuestWorkload("repeat:2x4MiB"), 1) // ["memvirt.workload=repeat:2x4MiB", "memvirt.meminfo=1"]
 */
export function workloadKernelArgs(workload: GuestWorkload, meminfoPeriodSeconds = 0): string[] {
  const args = [`memvirt.workload=${workload.text}`];
  if (meminfoPeriodSeconds > 0) args.push(`memvirt.meminfo=${meminfoPeriodSeconds}`);
  return args;
}

/**
 * The line the guest prints when its workload is set up.
 * @internal
 * @example
 * readyLine(parseGuestWorkload("idle")) // "MEMVIRT-READY idle"
 */
export function readyLine(workload: GuestWorkload): string {
  return `MEMVIRT-READY ${workload.text}`;
}

/**
 * The guest's /init (busybox sh). `modules` are file names under /lib/modules, in load order.
 * The guest repeats the parsing the host did, on the canonical text only.
 *
 * @internal
 * @example
 * initScript(["virtio_ring.ko", "virtio.ko"]).startsWith("#!/bin/sh") // true
 */
export function initScript(modules: readonly string[]): string {
  return `#!/bin/sh
# memvirt guest init: mount, load modules in dependency order, run the workload named on the
# kernel command line, say MEMVIRT-READY, then stay (init must never exit).
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /tmp
mount -t tmpfs tmpfs /tmp
echo 1 > /proc/sys/kernel/printk
for m in ${modules.join(" ")}; do
  insmod /lib/modules/$m || echo "MEMVIRT-ERROR insmod $m failed"
done
workload=idle
meminfo=0
for word in $(cat /proc/cmdline); do
  case "$word" in
    memvirt.workload=*) workload=\${word#memvirt.workload=} ;;
    memvirt.meminfo=*) meminfo=\${word#memvirt.meminfo=} ;;
  esac
done

# hold BYTES_MIB SOURCE NAME: a dd that keeps SIZE MiB of SOURCE in its own buffer.
hold() {
  avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
  mkfifo /tmp/$3
  exec 3<>/tmp/$3
  dd if=$2 of=/tmp/$3 bs=$1M count=1 iflag=fullblock 2>/dev/null &
  pid=$!
  exec 3>&-
  want=$(( $1 * 1024 ))
  while :; do
    rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status 2>/dev/null)
    [ -z "$rss" ] && { echo "MEMVIRT-ERROR $3 exited before holding $1 MiB (out of memory? the guest had $((avail / 1024)) MiB available)"; return 1; }
    [ "$rss" -ge "$want" ] && return 0
    sleep 0.2
  done
}

wait_disk() {
  tries=0
  while [ ! -b /dev/vda ]; do
    tries=$((tries + 1)); [ $tries -gt 100 ] && { echo "MEMVIRT-ERROR no /dev/vda"; return 1; }
    sleep 0.1
  done
}

n=0
for part in $(echo "$workload" | tr + ' '); do
  [ -n "$failed" ] && break
  n=$((n + 1))
  size=\${part#*:}; size=\${size%MiB}
  case "$part" in
    idle) ;;
    page-cache:*)
      wait_disk || failed=1
      # The last close of a block device drops its page cache: init keeps /dev/vda open.
      [ -z "$failed" ] && exec 4</dev/vda
      [ -z "$failed" ] && { dd if=/dev/vda of=/dev/null bs=1M count=$size 2>/dev/null || { echo "MEMVIRT-ERROR reading $size MiB of /dev/vda failed"; failed=1; }; } ;;
    alloc:*) hold $size /dev/urandom alloc$n || failed=1 ;;
    repeat:*)
      copies=\${size%%x*}; size=\${size#*x}
      wait_disk || failed=1
      i=0
      while [ -z "$failed" ] && [ $i -lt $copies ]; do hold $size /dev/vda repeat$n-$i || failed=1; i=$((i + 1)); done ;;
    *) echo "MEMVIRT-ERROR unknown workload $part"; failed=1 ;;
  esac
done
# A workload that failed has said why (MEMVIRT-ERROR); it is not ready.
[ -z "$failed" ] && echo "MEMVIRT-READY $workload"

if [ "$meminfo" != 0 ]; then
  while :; do
    awk -v up="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "MEMVIRT-MEMINFO {\\"uptimeSeconds\\":%s", up } { sub(":", "", $1); printf ",\\"%s\\":%s", $1, $2 } END { print "}" }' /proc/meminfo
    sleep $meminfo
  done
fi
while :; do sleep 3600; done
`;
}
