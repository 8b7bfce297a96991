import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { FETCH, READ, WRITE } from "../../src/workloads/workload";
import { MemvirtError } from "../../src/util/errors";
import { ScriptWorkload, range } from "./helpers";

/** A host with plenty of room and one VM whose guest we drive access by access. */
function oneGuest(memoryPages: number, guest: Record<string, unknown> = {}) {
  const host = new Host({ memory: 100_000, seed: 1 });
  const vm = host.addVm({ name: "g", memory: memoryPages, guest: { kernelOverhead: 0, ...guest } });
  return { host, vm, guest: vm.guest };
}

describe("GuestOs", () => {
  it("zero-fills the first touch of an anonymous page and reads a file page (FETCH) from disk", () => {
    const { guest, vm } = oneGuest(100);
    expect(guest.access(5, READ)).toBe(1_000 + 2_000 + 100); // zero-fill + host alloc + hit
    expect(guest.minorFaults).toBe(1);
    expect(vm.hostAllocFaults).toBe(1);
    expect(guest.access(5, READ)).toBe(100);
    expect(guest.access(6, FETCH)).toBe(5_000_000 + 2_000 + 100);
    expect(guest.guestDiskReads).toBe(1);
  });

  it("marks a stable fraction of pages as page cache when fileBackedFraction is set", () => {
    const { guest } = oneGuest(10, { fileBackedFraction: 0.3 });
    let file = 0;
    for (let v = 0; v < 10_000; v++) if (guest.isFileBacked(v)) file++;
    expect(file / 10_000).toBeGreaterThan(0.27);
    expect(file / 10_000).toBeLessThan(0.33);
    expect(guest.isFileBacked(1234)).toBe(guest.isFileBacked(1234));
  });

  it("never pages when the working set fits", () => {
    const { host, guest } = oneGuest(1000);
    guest.setWorkload(new ScriptWorkload(range(500), [], true));
    host.run({ seconds: 0.1 });
    expect(guest.accesses).toBeGreaterThan(100_000);
    expect(guest.guestPageOuts).toBe(0);
    expect(guest.guestDiskReads).toBe(0);
    expect(guest.minorFaults).toBe(500);
  });

  it("CLOCK keeps a page that is touched between every cold page (it is read back at most once, after the first all-referenced sweep)", () => {
    const { guest } = oneGuest(100, { swap: 5000 });
    const hot = 999_999;
    for (let cold = 0; cold < 2000; cold++) {
      guest.access(hot, READ);
      guest.access(cold, WRITE);
    }
    expect(guest.guestPageOuts).toBeGreaterThan(1800);
    expect(guest.vspace.get(guest.vspace.slotOf(hot))).toBeGreaterThanOrEqual(0);
    expect(guest.minorFaults).toBe(2001); // each page zero-filled exactly once, the hot one included
    // When every page is referenced, one sweep clears all bits and CLOCK degenerates to FIFO
    // once; after that the hot page's bit is always set when the hand passes.
    expect(guest.guestDiskReads).toBeLessThanOrEqual(1);
    guest.checkInvariants();
  });

  it("writes an evicted anonymous page to guest swap and reads it back on the next touch", () => {
    const { guest } = oneGuest(10);
    for (const v of range(20)) guest.access(v, WRITE);
    expect(guest.guestSwappedPages).toBe(10);
    expect(guest.swap.usedPages).toBe(10);
    const before = guest.guestDiskReads;
    guest.access(0, READ);
    expect(guest.guestDiskReads).toBe(before + 1);
    expect(guest.guestSwappedPages).toBe(10); // one came in, one went out
    guest.checkInvariants();
  });

  it("drops a clean page that still has its swap copy instead of writing it again", () => {
    const { guest } = oneGuest(10);
    for (const v of range(20)) guest.access(v, WRITE);
    const outs = guest.guestPageOuts;
    for (let pass = 0; pass < 3; pass++) for (const v of range(20)) guest.access(v, READ);
    expect(guest.guestDrops).toBeGreaterThan(0);
    // Only the pages dirtied in the first pass needed a write; re-read pages are dropped.
    expect(guest.guestPageOuts - outs).toBeLessThanOrEqual(10);
    expect(guest.swap.usedPages).toBe(20);
    guest.checkInvariants();
  });

  it("drops clean page-cache pages without a write", () => {
    const { guest } = oneGuest(10);
    for (const v of range(30)) guest.access(v, FETCH);
    expect(guest.guestPageOuts).toBe(0);
    expect(guest.guestDrops).toBe(20);
    expect(guest.swap.usedPages).toBe(0);
  });

  it("reports running out of memory with the path of the guest swap setting", () => {
    const { guest } = oneGuest(10, { swap: 0 });
    expect(() => { for (const v of range(20)) guest.access(v, WRITE); }).toThrow(/vms\[0\]\.guest\.swap: guest ran out of memory at t ≈ [\d.]+ s: every page/);
  });

  it("rejects an invalid page number from a workload, naming the workload", () => {
    const { guest } = oneGuest(10);
    let err: unknown;
    try { guest.access(-3, READ); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(MemvirtError);
    expect((err as Error).message).toMatch(/vms\[0\]\.workload/);
    expect(() => guest.access(1.5, READ)).toThrow(/invalid virtual page number/);
  });

  it("handles sparse trace-like page numbers through the hash", () => {
    const { guest } = oneGuest(100);
    const pages = [0x400, 0x7ff000000, 0x7ff000001, 2 ** 40];
    for (let i = 0; i < 3; i++) for (const p of pages) guest.access(p, WRITE);
    expect(guest.minorFaults).toBe(4);
    guest.checkInvariants();
  });
});
