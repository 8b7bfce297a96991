import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { Host } from "../../src/host/host";
import { SHARED } from "../../src/host/page-state";
import { EsxSharing } from "../../src/policy/esx-sharing";
import { sharingSavings } from "../../src/policy/sharing-metrics";
import { Vm } from "../../src/host/vm";
import { ContentModelOptions } from "../../src/host/page-contents";

/** A host with `n` VMs of `pages` pages each, every page touched (resident). */
function hostWith(n: number, model: ContentModelOptions, pages = 128, memory = 8000) {
  const host = new Host({ memory, seed: 3 });
  const vms: Vm[] = [];
  for (let i = 0; i < n; i++) {
    const vm = host.addVm({ name: `vm${i}`, memory: pages, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    for (let p = 0; p < pages; p++) vm.touch(p);
    vms.push(vm);
  }
  return { host, vms };
}

/** What VM `vm` reads at `ppn`: through its mapping (a shared frame's contents when shared). */
function readThroughMapping(host: Host, vm: Vm, ppn: number): number {
  return vm.hstate[ppn] === SHARED ? host.shared.content(vm.p2m[ppn]) : vm.contents!.read(ppn);
}

function scanAll(host: Host, scanner: EsxSharing) {
  for (const vm of host.vms) for (let p = 0; p < vm.memoryPages; p++) scanner.scanPage(host, vm, p);
}

describe("EsxSharing", () => {
  it("shares identical OS-image pages across VMs and frees one frame per extra copy", () => {
    const { host } = hostWith(3, { os: { name: "linux", version: "6.1", pages: 64 } });
    const scanner = new EsxSharing();
    const free = host.freePages;
    scanAll(host, scanner);
    host.checkInvariants();
    const s = sharingSavings(host);
    expect(s.savedPages).toBe(2 * 64);
    expect(s.acrossPages).toBe(128);
    expect(s.withinPages).toBe(0);
    expect(host.freePages).toBe(free + 128);
    expect(host.shared.merges).toBe(128);
  });

  it("merges zero pages into one zero frame and counts them as zero-page saving", () => {
    const { host } = hostWith(2, { zeroFraction: 1 }, 50);
    const scanner = new EsxSharing();
    scanAll(host, scanner);
    const s = sharingSavings(host);
    expect(s).toMatchObject({ sharedFrames: 1, savedPages: 99, zeroPages: 99, acrossPages: 0, withinPages: 0 });
  });

  it("does not share pages of different OS versions", () => {
    const host = new Host({ memory: 8000, seed: 3 });
    const a = host.addVm({ name: "a", memory: 64, guest: { kernelOverhead: 0 }, contents: { os: { name: "linux", version: "6.1", pages: 64 } }, balloon: false });
    const b = host.addVm({ name: "b", memory: 64, guest: { kernelOverhead: 0 }, contents: { os: { name: "linux", version: "6.2", pages: 64 } }, balloon: false });
    for (let p = 0; p < 64; p++) { a.touch(p); b.touch(p); }
    scanAll(host, new EsxSharing());
    expect(sharingSavings(host).savedPages).toBe(0);
  });

  it("drops a hint whose page changed before its match arrived, and never merges it", () => {
    const { host, vms } = hostWith(2, { os: { name: "linux", version: "6.1", pages: 64 } });
    const scanner = new EsxSharing();
    scanner.scanPage(host, vms[0], 5); // hint
    vms[0].writePage(5); // the hinted page is not write-protected: it just changes
    scanner.scanPage(host, vms[1], 5); // matches the hint's hash, but the rehash differs
    expect(scanner.staleHints).toBe(1);
    expect(vms[1].hstate[5]).not.toBe(SHARED);
    expect(sharingSavings(host).savedPages).toBe(0);
  });

  it("scans within the per-VM and total rate limits, at random pages", () => {
    const { host } = hostWith(8, {}, 64);
    const scanner = new EsxSharing({ periodSeconds: 1, pagesPerSecondPerVm: 50, pagesPerSecondTotal: 200 });
    scanner.tick(host);
    expect(scanner.pagesScanned).toBe(200);
    const few = hostWith(2, {}, 64);
    const s2 = new EsxSharing({ periodSeconds: 1 });
    s2.tick(few.host);
    expect(s2.pagesScanned).toBe(100);
  });

  it("never merges different contents, even with a hash that collides for every page", () => {
    const { host } = hostWith(3, { os: { name: "linux", version: "6.1", pages: 16 }, zeroFraction: 0.2 }, 64);
    const scanner = new EsxSharing({ hash: (id) => id % 3 });
    for (let round = 0; round < 3; round++) scanAll(host, scanner);
    host.checkInvariants(); // a shared page's contents equal its frame's
    expect(scanner.falseMatches).toBeGreaterThan(0);
    for (const vm of host.vms) for (let p = 0; p < vm.memoryPages; p++) expect(readThroughMapping(host, vm, p)).toBe(vm.contents!.read(p));
  });

  it("runs in the host as a policy: saving grows over time, frames conserved at every step", () => {
    const host = new Host({ memory: 4000, seed: 5, policies: [new EsxSharing({ pagesPerSecondPerVm: 2000, pagesPerSecondTotal: 8000 })] });
    for (let i = 0; i < 3; i++) host.addVm({ name: `vm${i}`, memory: 1000, contents: { os: { name: "linux", version: "6.1", pages: 500 }, zeroFraction: 0.3 }, workload: { kind: "uniform", pages: 600 } });
    host.run({ seconds: 1, sampleEvery: 0.5, checkInvariants: true });
    expect(sharingSavings(host).savedPages).toBeGreaterThan(100);
  });

  it("property: a write to a shared page never changes what another VM reads; frames stay conserved", () => {
    const op = fc.record({ write: fc.boolean(), vm: fc.integer({ min: 0, max: 2 }), ppn: fc.integer({ min: 0, max: 47 }) });
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
      const { host, vms } = hostWith(3, { os: { name: "linux", version: "6.1", pages: 24 }, zeroFraction: 0.5 }, 48, 400);
      const scanner = new EsxSharing();
      scanAll(host, scanner);
      for (const o of ops) {
        const vm = vms[o.vm];
        if (!o.write) { scanner.scanPage(host, vm, o.ppn); continue; }
        const before = vms.map((v) => Array.from({ length: 48 }, (_, p) => readThroughMapping(host, v, p)));
        vm.writePage(o.ppn);
        vms.forEach((v, i) => {
          for (let p = 0; p < 48; p++) if (i !== o.vm || p !== o.ppn) expect(readThroughMapping(host, v, p)).toBe(before[i][p]);
        });
        expect(readThroughMapping(host, vm, o.ppn)).not.toBe(before[o.vm][o.ppn]);
        host.checkInvariants();
      }
    }), { numRuns: 40 });
  });
});
