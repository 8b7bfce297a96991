/**
 * Notebook 06 states numbers in its prose; they must hold for the calls it makes (seed 42, the
 * same VMs, content model and scanner settings as its cells).
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { createSharingPolicy } from "../../src/policy/sharing-policy";
import { sharingSavings } from "../../src/policy/sharing-metrics";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { computeSharing } from "../../src/contents/sharing-report";

const seed = 42;
const VM_PAGES = 8192;
const MIB = 256;
const model = { os: { name: "linux", version: "5.1", pages: "12 MiB" }, libraries: { pages: "6 MiB" }, zeroFraction: 0.3 };
const esx = { scanner: "esx", pagesPerSecondPerVm: 2000, pagesPerSecondTotal: 100000 };

function identicalVms(n: number, sharing: object, seconds: number, contents: object = model) {
  const host = new Host({ memory: n * VM_PAGES + 1024, seed: seed, policies: [createSharingPolicy(sharing)] });
  for (let i = 0; i < n; i++) {
    host.addVm({ name: `vm${i + 1}`, memory: VM_PAGES, guest: { kernelOverhead: 0 }, balloon: false, contents: contents, workload: { kind: "scan", pages: VM_PAGES } });
  }
  const run = host.run({ seconds: seconds, sampleEvery: 1 });
  host.checkInvariants();
  return { run, savings: sharingSavings(host) };
}

const percentOf = (pages: number, n: number) => (100 * pages) / (n * VM_PAGES);

describe("notebook 06's claims", () => {
  it("Figure 4: 4.3 MiB (13%) at one VM, 41% at two, 55% at four, 63% and 202 MiB at ten; shared 69% from two VMs on; zero pages about a fifth at ten", () => {
    const at = new Map([1, 2, 4, 10].map((n) => [n, identicalVms(n, esx, 20).savings]));
    expect((at.get(1)!.savedPages / MIB).toFixed(1)).toBe("4.3");
    expect(Math.round(percentOf(at.get(1)!.savedPages, 1))).toBe(13);
    expect(Math.round(percentOf(at.get(2)!.savedPages, 2))).toBe(41);
    expect(Math.round(percentOf(at.get(4)!.savedPages, 4))).toBe(55);
    expect(Math.round(percentOf(at.get(10)!.savedPages, 10))).toBe(63);
    expect(Math.round(at.get(10)!.savedPages / MIB)).toBe(202);
    for (const n of [2, 4, 10]) expect(Math.round(percentOf(at.get(n)!.sharedPages, n))).toBe(69);
    expect(at.get(10)!.zeroPages / at.get(10)!.savedPages).toBeCloseTo(0.2, 1);
    expect(at.get(10)!.withinPages).toBe(0);
  });

  it("writes: 69.9, 65.6 and 50.8 MiB reclaimed at 0, 20 and 100 pages/s per VM; 56 and 197 COW breaks a second at 20 s", () => {
    const last = (rate: number) => {
      const rows = identicalVms(4, esx, 20, { ...model, writePagesPerSecond: rate }).run.hostTimeline.objects() as Array<Record<string, number>>;
      return rows[rows.length - 1];
    };
    const [w0, w20, w100] = [last(0), last(20), last(100)];
    expect((w0.savedPages / MIB).toFixed(1)).toBe("69.9");
    expect((w20.savedPages / MIB).toFixed(1)).toBe("65.6");
    expect((w100.savedPages / MIB).toFixed(1)).toBe("50.8");
    expect([w0.cowBreaks, w20.cowBreaks, w100.cowBreaks]).toEqual([0, 56, 197]);
  });

  it("ESX against KSM at 8,000 pages/s: ESX merges from the first second, KSM nothing for 4 s and all by 9 s; 77,686 and 79,871 pages hashed", () => {
    const esxRows = identicalVms(4, esx, 20).run.hostTimeline.objects() as Array<Record<string, number>>;
    const ksmRows = identicalVms(4, { scanner: "ksm", pagesToScan: 160, sleepMillisecs: 20 }, 20).run.hostTimeline.objects() as Array<Record<string, number>>;
    expect((esxRows[0].savedPages / MIB).toFixed(1)).toBe("7.9");
    expect((esxRows[8].savedPages / MIB).toFixed(1)).toBe("60.7");
    for (const row of ksmRows.slice(0, 4)) expect(row.savedPages).toBe(0);
    expect((ksmRows[8].savedPages / MIB).toFixed(1)).toBe("70.4");
    expect((ksmRows[19].savedPages / MIB).toFixed(1)).toBe("70.4");
    const hashed = (rows: Array<Record<string, number>>) => rows.reduce((a, r) => a + r.pagesHashed, 0);
    expect([hashed(esxRows), hashed(ksmRows)]).toEqual([77686, 79871]);
  });

  it("the snapshots: 37.2% savable, 36.6% without zero pages, 98% of it across snapshots, almost all file pages; private memory 1.1%", () => {
    const snaps = ["python-1", "python-2", "python-3", "sleep", "bash"].map((n) => readSnapshot(`data/snapshots/${n}.mvpages.gz`));
    const { overall } = computeSharing(snaps);
    expect(overall.pages).toBe(11440);
    expect(((100 * overall.savablePages) / overall.pages).toFixed(1)).toBe("37.2");
    expect(((100 * overall.nonZeroSavablePages) / overall.pages).toFixed(1)).toBe("36.6");
    expect(Math.round((100 * overall.acrossPages) / overall.savablePages)).toBe(98);
    const kind = (k: string) => overall.byKind.find((r) => r.kind === k)!;
    expect(kind("file").acrossPages).toBe(4129);
    const privateKinds = ["anon", "heap", "stack"].map(kind);
    const privatePages = privateKinds.reduce((a, r) => a + r.pages, 0);
    const privateNonZero = privateKinds.reduce((a, r) => a + r.nonZeroSavablePages, 0);
    expect(privatePages).toBe(4099);
    expect(privateKinds.reduce((a, r) => a + r.savablePages, 0)).toBe(109);
    expect(((100 * privateNonZero) / privatePages).toFixed(1)).toBe("1.1");
  });
});
