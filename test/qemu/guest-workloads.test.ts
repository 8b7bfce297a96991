/** Workload names as users write them, and what the guest is told. */
import { describe, expect, it } from "vitest";
import { GUEST_DISK_MIB, initScript, parseGuestWorkload, readyLine, workloadKernelArgs } from "../../src/qemu/guest-workloads";

describe("parseGuestWorkload", () => {
  it("reads each workload with its defaults and parameters", () => {
    const one = (w: string) => parseGuestWorkload(w).parts[0];
    expect(parseGuestWorkload("idle")).toEqual({ parts: [{ kind: "idle", sizeMiB: 0, copies: 0, text: "idle" }], text: "idle", needsDisk: false });
    expect(one("page-cache")).toMatchObject({ kind: "page-cache", sizeMiB: 32, text: "page-cache:32MiB" });
    expect(parseGuestWorkload("page-cache").needsDisk).toBe(true);
    expect(one("page-cache:48MiB").sizeMiB).toBe(48);
    expect(parseGuestWorkload("alloc")).toEqual({ parts: [{ kind: "alloc", sizeMiB: 32, copies: 1, text: "alloc:32MiB" }], text: "alloc:32MiB", needsDisk: false });
    expect(one("alloc:64MiB").sizeMiB).toBe(64);
    expect(one("alloc:1GiB").sizeMiB).toBe(1024);
    expect(one("repeat")).toMatchObject({ kind: "repeat", copies: 4, sizeMiB: 8, text: "repeat:4x8MiB" });
    expect(one("repeat:2x16MiB")).toMatchObject({ copies: 2, sizeMiB: 16, text: "repeat:2x16MiB" });
    expect(parseGuestWorkload("repeat").needsDisk).toBe(true); // its copies hold disk bytes
  });

  it("joins workloads with +, run in order; the disk is attached when any part reads it", () => {
    const w = parseGuestWorkload("alloc:8MiB + page-cache");
    expect(w.parts.map((p) => p.kind)).toEqual(["alloc", "page-cache"]);
    expect(w.text).toBe("alloc:8MiB+page-cache:32MiB");
    expect(w.needsDisk).toBe(true);
    expect(() => parseGuestWorkload("idle+alloc", "--workload")).toThrow(/^--workload: idle cannot be combined with other workloads/);
    expect(() => parseGuestWorkload("alloc+stress", "--workload")).toThrow(/^--workload: unknown workload "stress"; the workloads are/);
  });

  it("refuses an unknown workload, listing the valid ones", () => {
    expect(() => parseGuestWorkload("stress", "--workload")).toThrow('--workload: unknown workload; the workloads are idle, page-cache[:SIZE], alloc[:SIZE], repeat[:NxSIZE], or several joined by + (e.g. alloc:32MiB, page-cache:16MiB+repeat:4x8MiB) (got "stress")');
  });

  it("refuses bad parameters, naming where they came from", () => {
    expect(() => parseGuestWorkload("alloc:64", "--workload")).toThrow(/^--workload: a size string needs a unit/);
    expect(() => parseGuestWorkload("alloc:1000KiB", "--workload")).toThrow(/whole number of MiB/);
    expect(() => parseGuestWorkload("idle:1MiB")).toThrow(/idle takes no parameters/);
    expect(() => parseGuestWorkload("repeat:4")).toThrow(/repeat:NxSIZE/);
    expect(() => parseGuestWorkload("repeat:0x8MiB")).toThrow(/1 to 64 copies/);
    expect(parseGuestWorkload("repeat:64x1MiB").parts[0].copies).toBe(64);
    expect(() => parseGuestWorkload("repeat:65x1MiB")).toThrow(/1 to 64 copies/);
    expect(parseGuestWorkload(Array(16).fill("alloc:1MiB").join("+")).parts.length).toBe(16);
    expect(() => parseGuestWorkload(Array(17).fill("alloc:1MiB").join("+"), "--workload")).toThrow(/^--workload: at most 16 workloads joined by \+/);
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
