import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { SHARED, RESIDENT, G_WIRED } from "../../src/host/page-state";
import { READ, WRITE } from "../../src/workloads/workload";

/** Two VMs of the same OS, every page touched once (the first 64 pages are the OS image). */
function twoVms(memory = 4000) {
  const host = new Host({ memory, seed: 1 });
  const model = { os: { name: "linux", version: "6.1", pages: 64 } };
  const a = host.addVm({ name: "a", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
  const b = host.addVm({ name: "b", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
  for (let p = 0; p < 256; p++) { a.touch(p); b.touch(p); }
  return { host, a, b };
}

describe("copy-on-write page sharing in the host", () => {
  it("gives VMs of the same OS and version equal OS-image pages and distinct private pages", () => {
    const { a, b } = twoVms();
    expect(a.contents!.read(10)).toBe(b.contents!.read(10));
    expect(a.contents!.read(100)).not.toBe(b.contents!.read(100));
  });

  it("a merge frees one machine frame and keeps frames conserved", () => {
    const { host, a, b } = twoVms();
    const free = host.freePages;
    a.sharePage(10, -1);
    b.sharePage(10, a.p2m[10]);
    expect(host.freePages).toBe(free + 1);
    expect(b.hstate[10]).toBe(SHARED);
    expect(host.shared.refCount(a.p2m[10])).toBe(2);
    host.checkInvariants();
  });

  it("a write to a shared page copies it for that VM only; the other keeps the contents", () => {
    const { host, a, b } = twoVms();
    a.sharePage(10, -1);
    b.sharePage(10, a.p2m[10]);
    const before = a.contents!.read(10);
    const free = host.freePages;
    b.writePage(10);
    expect(host.freePages).toBe(free - 1);
    expect(b.hstate[10]).toBe(RESIDENT);
    expect(a.hstate[10]).toBe(SHARED);
    expect(a.contents!.read(10)).toBe(before);
    expect(b.contents!.read(10)).not.toBe(before);
    expect(host.shared.cowBreaks).toBe(1);
    host.checkInvariants();
    // The last sharer takes the frame back without a copy.
    a.writePage(10);
    expect(host.freePages).toBe(free - 1);
    expect(host.shared.frameCount).toBe(0);
    host.checkInvariants();
  });

  it("ballooning or host-swapping a shared page drops one reference", () => {
    const { host, a, b } = twoVms();
    a.sharePage(10, -1);
    b.sharePage(10, a.p2m[10]);
    const f = a.p2m[10];
    expect(b.swapOut(10)).toBe(true);
    expect(host.shared.refCount(f)).toBe(1);
    host.checkInvariants();
    const free = host.freePages;
    a.balloonPage(10);
    expect(host.shared.refCount(f)).toBe(0);
    expect(host.freePages).toBe(free + 1);
  });

  it("checkInvariants catches a shared frame whose reference count is wrong", () => {
    const { host, a, b } = twoVms();
    a.sharePage(10, -1);
    b.sharePage(10, a.p2m[10]);
    host.shared.addRef(a.p2m[10]);
    expect(() => host.checkInvariants()).toThrow(/references/);
  });

  it("counts references past 16 bits in the overflow table", () => {
    const { host, a } = twoVms();
    a.sharePage(10, -1);
    const f = a.p2m[10];
    for (let i = 0; i < 70_000; i++) host.shared.addRef(f);
    expect(host.shared.refCount(f)).toBe(70_001);
    for (let i = 0; i < 70_000; i++) host.shared.dropRef(f);
    expect(host.shared.refCount(f)).toBe(1);
  });

  it("rewrites pages at the content model's write rate while the host runs", () => {
    const host = new Host({ memory: 4000, seed: 1 });
    const vm = host.addVm({ name: "a", memory: 256, guest: { kernelOverhead: 0 }, contents: { writePagesPerSecond: 100 } });
    host.run({ seconds: 1, checkInvariants: true });
    expect(vm.contents!.writes).toBe(100);
  });
});

describe("the host timeline's sharing columns", () => {
  it("records shared frames, shared pages, saved pages and per-interval COW breaks and scan cost", () => {
    const scanner = {
      name: "fake-scanner", periodSeconds: 0.5, pagesHashed: 0, pagesCompared: 0, cpuSeconds: 0,
      tick(host: import("../../src/host/host-policy").HostControl) {
        // Share page 10 of both VMs once, then break it with a write; count a scan cost.
        const [a, b] = host.vms;
        if (a.hstate[10] === RESIDENT && b.hstate[10] === RESIDENT) {
          host.sharePage!(0, 10, -1);
          host.sharePage!(1, 10, a.p2m![10]);
        }
        this.pagesHashed += 2; this.pagesCompared += 1; this.cpuSeconds += 1e-6;
      },
    };
    const host = new Host({ memory: 4000, seed: 1, policies: [scanner] });
    const model = { os: { name: "linux", version: "6.1", pages: 64 } };
    const a = host.addVm({ name: "a", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    const b = host.addVm({ name: "b", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    for (let p = 0; p < 256; p++) { a.touch(p); b.touch(p); }
    host.at(0.2, "a and b share page 20, then b writes it", () => { a.sharePage(20, -1); b.sharePage(20, a.p2m[20]); b.writePage(20); });
    host.at(0.7, "b writes page 10", () => b.writePage(10));
    const run = host.run({ seconds: 1, sampleEvery: 0.5 });
    const rows = run.hostTimeline.objects() as Array<Record<string, number>>;
    expect(rows.map((r) => r.savedPages)).toEqual([1, 0]); // after the break, a alone maps the frame
    expect(rows.map((r) => r.cowBreaks)).toEqual([1, 1]);
    expect(rows.map((r) => r.pagesHashed)).toEqual([4, 0]); // ticks at 0 and 0.5 both precede the sample at 0.5
    expect(rows[0].scanCpuSeconds).toBeCloseTo(2e-6, 12);
  });

  it("has no sharing columns when no VM has contents", () => {
    const host = new Host({ memory: 4000 });
    host.addVm({ name: "a", memory: 256 });
    expect(host.run({ seconds: 0.1 }).hostTimeline.columnNames()).not.toContain("savedPages");
  });
});

describe("guest writes to shared pages", () => {
  it("a guest store to a shared page traps and copies it for that VM only; a load does not", () => {
    const host = new Host({ memory: 4000, seed: 1 });
    const model = { os: { name: "linux", version: "6.1", pages: 256 } };
    const a = host.addVm({ name: "a", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    const b = host.addVm({ name: "b", memory: 256, guest: { kernelOverhead: 0 }, contents: model, balloon: false });
    // The guest maps virtual page 0 to some guest-physical page; share that page with b's.
    a.guest.access(0, READ);
    const p = a.p2m.findIndex((f, i) => f >= 0 && (a.guest.flags[i] & G_WIRED) === 0);
    b.touch(p);
    a.sharePage(p, -1);
    b.sharePage(p, a.p2m[p]);
    a.guest.access(0, READ);
    expect(a.hstate[p]).toBe(SHARED);
    a.guest.access(0, WRITE);
    expect(a.hstate[p]).toBe(RESIDENT);
    expect(b.hstate[p]).toBe(SHARED);
    expect(host.shared.cowBreaks).toBe(1);
    host.checkInvariants();
  });
});
