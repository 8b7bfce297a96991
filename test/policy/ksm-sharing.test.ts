import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { KsmSharing, KsmSharingParams } from "../../src/policy/ksm-sharing";
import { ContentModelOptions } from "../../src/host/page-contents";
import { sharingSavings } from "../../src/policy/sharing-metrics";
import { SHARED } from "../../src/host/page-state";

/**
 * The KSM selftests' setup: one VM of `pages` resident pages, zero pages by default (the
 * selftests map zeroed memory); `sameContents` gives the first n one non-zero content instead.
 */
function ksmHost(pages: number, params: KsmSharingParams, model: ContentModelOptions = { zeroFraction: 1 }) {
  const host = new Host({ memory: 4000, seed: 1 });
  const vm = host.addVm({ name: "a", memory: pages, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
  for (let p = 0; p < pages; p++) vm.touch(p);
  const ksm = new KsmSharing({ pagesToScan: pages, ...params });
  return { host, vm, ksm };
}

/** Give pages [0, n) of the VM one (non-zero) content: ten identical pages, as the selftest maps. */
function sameContents(vm: ReturnType<typeof ksmHost>["vm"], n: number) {
  vm.contents!.write(0);
  for (let p = 1; p < n; p++) vm.contents!.ids[p] = vm.contents!.ids[0];
}

function fullScans(host: Host, ksm: KsmSharing, n: number) {
  const target = ksm.fullScans + n;
  while (ksm.fullScans < target) ksm.tick(host);
}

describe("KsmSharing (the Linux KSM selftest behaviours)", () => {
  it("merges 10 identical pages into shared 1 / sharing 9, and only after two full scans", () => {
    const { host, vm, ksm } = ksmHost(10, {});
    sameContents(vm, 10);
    fullScans(host, ksm, 1);
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([0, 0]);
    expect(ksm.pagesVolatile).toBe(10);
    fullScans(host, ksm, 1);
    expect([ksm.pagesShared, ksm.pagesSharing, ksm.pagesUnshared]).toEqual([1, 9, 0]);
    expect(ksm.fullScans).toBe(2);
    host.checkInvariants();
  });

  it("a write to a merged page unmerges it (copy-on-write)", () => {
    const { host, vm, ksm } = ksmHost(10, {});
    sameContents(vm, 10);
    fullScans(host, ksm, 2);
    const free = host.freePages;
    vm.writePage(3);
    expect(vm.hstate[3]).not.toBe(SHARED);
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([1, 8]);
    expect(host.freePages).toBe(free - 1);
    for (let p = 0; p < 10; p++) vm.writePage(p);
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([0, 0]);
    host.checkInvariants();
  });

  it("with useZeroPages, zero pages map the zero page and count 0 / 0", () => {
    const { host, ksm } = ksmHost(10, { useZeroPages: true });
    fullScans(host, ksm, 2);
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([0, 0]);
    expect(ksm.zeroPagesMerged).toBe(10);
    expect(sharingSavings(host)).toMatchObject({ savedPages: 9, zeroPages: 9 });
    host.checkInvariants();
  });

  it("without useZeroPages, zero pages merge like any other (shared 1 / sharing 9)", () => {
    const { host, ksm } = ksmHost(10, {});
    fullScans(host, ksm, 2);
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([1, 9]);
  });

  it("maxPageSharing splits equal pages into a chain of stable pages", () => {
    // 10 pages, at most 2 mappings each: 5 stable pages sharing 5.
    const two = ksmHost(10, { maxPageSharing: 2 });
    sameContents(two.vm, 10);
    fullScans(two.host, two.ksm, 2);
    expect([two.ksm.pagesShared, two.ksm.pagesSharing, two.ksm.pagesUnshared]).toEqual([5, 5, 0]);
    // At most 3: pages 1-3, 4-6, 7-9 share; the 10th waits alone in the unstable tree.
    const three = ksmHost(10, { maxPageSharing: 3 });
    sameContents(three.vm, 10);
    fullScans(three.host, three.ksm, 3);
    expect([three.ksm.pagesShared, three.ksm.pagesSharing, three.ksm.pagesUnshared]).toEqual([3, 6, 1]);
    three.host.checkInvariants();
  });

  it("counts distinct pages in the unstable tree as unshared, and scans pagesToScan per wake-up", () => {
    const { host, ksm } = ksmHost(20, { pagesToScan: 5 }, {});
    ksm.tick(host);
    expect(ksm.pagesScanned).toBe(5);
    fullScans(host, ksm, 2);
    expect([ksm.pagesShared, ksm.pagesSharing, ksm.pagesUnshared]).toEqual([0, 0, 20]);
  });

  it("flushes the unstable tree after each full scan: a page never matches last pass's entries", () => {
    const { host, vm, ksm } = ksmHost(10, { pagesToScan: 1 }, {});
    fullScans(host, ksm, 1);
    vm.contents!.ids[2] = vm.contents!.ids[5]; // page 2 turns equal to page 5 between passes
    fullScans(host, ksm, 1); // page 2 is volatile this pass; page 5 enters the unstable tree
    for (let i = 0; i < 3; i++) ksm.tick(host); // pages 0-2 of the next pass
    expect(ksm.pagesShared).toBe(0); // page 5's entry was flushed, so page 2 waits in the tree
    for (let i = 0; i < 3; i++) ksm.tick(host); // pages 3-5: page 5 finds page 2
    expect([ksm.pagesShared, ksm.pagesSharing]).toEqual([1, 1]);
  });

  it("a colliding checksum never merges different pages", () => {
    const { host, vm, ksm } = ksmHost(40, { hash: () => 7 }, { zeroFraction: 0.5 });
    fullScans(host, ksm, 3);
    host.checkInvariants(); // every shared page holds its frame's contents
    const zeros = Array.from(vm.contents!.ids).filter((id) => id === 0).length;
    expect(ksm.pagesShared).toBe(1);
    expect(ksm.pagesSharing).toBe(zeros - 1);
  });

  it("runs in the host every sleepMillisecs and shares across VMs", () => {
    const ksm = new KsmSharing({ pagesToScan: 500, sleepMillisecs: 20 });
    const host = new Host({ memory: 4000, seed: 2, policies: [ksm] });
    for (let i = 0; i < 2; i++) host.addVm({ name: `vm${i}`, memory: 600, contents: { os: { name: "linux", version: "6.1", pages: 400 } }, workload: { kind: "uniform", pages: 500 } });
    host.run({ seconds: 0.5, checkInvariants: true });
    expect(ksm.fullScans).toBeGreaterThanOrEqual(2);
    expect(ksm.pagesSharing).toBeGreaterThan(100);
    expect(sharingSavings(host).acrossPages).toBe(ksm.pagesSharing);
  });
});
