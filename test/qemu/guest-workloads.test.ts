/** Workload names as users write them, and what the guest is told. */
import { describe, expect, it } from "vitest";
import { GUEST_DISK_MIB, initScript, parseGuestWorkload, readyLine, workloadKernelArgs } from "../../src/qemu/guest-workloads";

describe("parseGuestWorkload", () => {
  it("reads each workload with its defaults and parameters", () => {
    expect(parseGuestWorkload("idle")).toMatchObject({ kind: "idle", text: "idle", needsDisk: false });
    expect(parseGuestWorkload("page-cache")).toMatchObject({ kind: "page-cache", sizeMiB: 32, text: "page-cache:32MiB", needsDisk: true });
    expect(parseGuestWorkload("page-cache:48MiB").sizeMiB).toBe(48);
    expect(parseGuestWorkload("alloc")).toMatchObject({ kind: "alloc", sizeMiB: 32, copies: 1, text: "alloc:32MiB", needsDisk: false });
    expect(parseGuestWorkload("alloc:64MiB").sizeMiB).toBe(64);
    expect(parseGuestWorkload("alloc:1GiB").sizeMiB).toBe(1024);
    expect(parseGuestWorkload("repeat")).toMatchObject({ kind: "repeat", copies: 4, sizeMiB: 8, text: "repeat:4x8MiB", needsDisk: true });
    expect(parseGuestWorkload("repeat:2x16MiB")).toMatchObject({ copies: 2, sizeMiB: 16, text: "repeat:2x16MiB" });
  });

  it("refuses an unknown workload, listing the valid ones", () => {
    expect(() => parseGuestWorkload("stress", "--workload")).toThrow('--workload: unknown workload; the workloads are idle, page-cache[:SIZE], alloc[:SIZE], repeat[:NxSIZE] (e.g. alloc:32MiB, repeat:4x8MiB) (got "stress")');
  });

  it("refuses bad parameters, naming where they came from", () => {
    expect(() => parseGuestWorkload("alloc:64", "--workload")).toThrow(/^--workload: a size string needs a unit/);
    expect(() => parseGuestWorkload("alloc:1000KiB", "--workload")).toThrow(/whole number of MiB/);
    expect(() => parseGuestWorkload("idle:1MiB")).toThrow(/idle takes no parameters/);
    expect(() => parseGuestWorkload("repeat:4")).toThrow(/repeat:NxSIZE/);
    expect(() => parseGuestWorkload("repeat:0x8MiB")).toThrow(/1 to 64 copies/);
    expect(() => parseGuestWorkload(`page-cache:${GUEST_DISK_MIB + 1}MiB`)).toThrow(/at most 256MiB/);
    expect(() => parseGuestWorkload(3)).toThrow(/expected a workload/);
  });

  it("passes the canonical workload on the kernel command line and waits for it in the ready line", () => {
    const w = parseGuestWorkload("repeat:2x4MiB");
    expect(workloadKernelArgs(w)).toEqual(["memvirt.workload=repeat:2x4MiB"]);
    expect(workloadKernelArgs(w, 1)).toEqual(["memvirt.workload=repeat:2x4MiB", "memvirt.meminfo=1"]);
    expect(readyLine(w)).toBe("MEMVIRT-READY repeat:2x4MiB");
  });

  it("the init script loads the modules in the order given and echoes the ready line", () => {
    const script = initScript(["virtio_ring.ko", "virtio.ko"]);
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toContain("for m in virtio_ring.ko virtio.ko; do");
    expect(script).toContain('echo "MEMVIRT-READY $workload"');
  });
});
