/**
 * Notebook 08 states numbers in its prose; they must hold for the shipped VM snapshots
 * (data/snapshots/vm/) and real balloon runs (data/vm-balloon/) and for the calls the notebook
 * makes (seed 42, the same guests, scanners and simulated balloons as its cells).
 */
import * as fs from "node:fs";
import * as aq from "arquero";
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { createSharingPolicy } from "../../src/policy/sharing-policy";
import { sharingSavings } from "../../src/policy/sharing-metrics";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { computeSharing } from "../../src/contents/sharing-report";
import type { PageSnapshot } from "../../src/contents/page-snapshot";
import { balloonResponse, simulateBalloonSchedule } from "../../src/qemu/balloon-compare";

const seed = 42;
const MIB_PAGES = 256;
const MiB = 2 ** 20;
const VM_PAGES = 32768;
const guest = (name: string) => readSnapshot(`data/snapshots/vm/${name}.mvpages.gz`);
// The notebook's identicalNames: six idle guests booted side by side; its scanners take the first four.
const identicalNames = ["idle-1", "idle-2", "idle-3", "idle-4", "idle-5", "idle-6"];
const simNames = identicalNames.slice(0, 4);
const pct = (part: number, whole: number) => (100 * part) / whole;

// Every number checked below is also looked up in the notebook's text (the last test): n("5,763")
// is 5763 and t("58.8") is "58.8", each recorded as stated.
const stated: string[] = [];
const n = (text: string) => (stated.push(text), Number(text.replace(/,/g, "")));
const t = (text: string) => (stated.push(text), text);
const one = (x: number) => x.toFixed(1);

/** The notebook's sharingOf: perfect sharing split into zero page, non-zero within, non-zero across. */
function sharingOf(snaps: PageSnapshot[]) {
  const s = computeSharing(snaps);
  const within = s.snapshots.reduce((a, r) => a + r.nonZeroSavablePages, 0);
  return {
    pages: s.overall.pages, savable: s.overall.savablePages, zeroSaved: s.overall.savablePages - s.overall.nonZeroSavablePages,
    nonZeroWithin: within, nonZeroAcross: s.overall.nonZeroSavablePages - within, nonZero: s.overall.nonZeroSavablePages,
  };
}

/** The non-zero contents of a snapshot. */
function nonZeroContents(snap: PageSnapshot): Set<bigint> {
  const set = new Set<bigint>();
  for (let p = 0; p < snap.pageCount; p++) if (!snap.isZero(p)) set.add(snap.hashes[p]);
  return set;
}

/** The notebook's pairOf: contents two guests have in common, and of the second guest's. */
function commonContents(a: PageSnapshot, b: PageSnapshot) {
  const own = [a, b].map((s) => computeSharing([s]).overall.distinctContents);
  return { common: own[0] + own[1] - computeSharing([a, b]).overall.distinctContents, second: own[1] };
}

/** Pages of `a` that are not zero and hold what `b` holds at the same guest-physical address. */
function samePlacePages(a: PageSnapshot, b: PageSnapshot): number {
  let n = 0;
  for (let p = 0; p < a.pageCount; p++) if (!a.isZero(p) && a.hashes[p] === b.hashes[p]) n++;
  return n;
}

/** The notebook's scanner cell: four VMs with the first four identical guests' contents, 30 s. */
function scan(sharing: object) {
  const host = new Host({ memory: 4 * VM_PAGES + 1024, seed: seed, policies: [createSharingPolicy(sharing)] });
  simNames.forEach((name, i) => host.addVm({ name: `vm${i + 1}`, memory: VM_PAGES, guest: { kernelOverhead: 0 }, balloon: false, contents: guest(name), workload: { kind: "scan", pages: VM_PAGES } }));
  const rows = host.run({ seconds: 30, sampleEvery: 1 }).hostTimeline.objects() as Array<Record<string, number>>;
  host.checkInvariants();
  const sum = (k: string) => rows.reduce((a, r) => a + r[k], 0);
  return { rows, saved: sharingSavings(host).savedPages, hashed: sum("pagesHashed"), compared: sum("pagesCompared"), cpuMs: 1000 * sum("scanCpuSeconds") };
}

interface Recorded {
  memoryBytes: number;
  schedule: Array<{ atSeconds: number; targetBytes: number }>;
  real: Array<Record<string, number>>;
}
const recorded = (file: string) => JSON.parse(fs.readFileSync(`data/vm-balloon/${file}`, "utf8")) as Recorded;

/** The notebook's simulated balloon for a recorded run: the real idle guest's used memory as kernel. */
function simulate(rec: Recorded, usedFraction: number, holding64MiB: boolean, guestOptions: object = {}) {
  const schedule = rec.schedule.map((s) => ({ atSeconds: s.atSeconds, target: s.targetBytes }));
  return simulateBalloonSchedule({ memoryBytes: rec.memoryBytes, schedule, durationSeconds: Math.round(rec.real[rec.real.length - 1].t), sampleSeconds: 0.5, seed,
    guest: { kernelOverhead: usedFraction, ...guestOptions }, maxFraction: 0.99 - usedFraction, workload: holding64MiB ? { kind: "scan", pages: 64 * 256 } : undefined });
}

describe("notebook 08's claims", () => {
  it("identical guests: 58.7%, 67.5%, 70.4%, 71.9%, 72.8%, 73.4% savable; zero pages 79.8% then 63.8% of it; without them 11.9% and 26.6%, 44.8% within", () => {
    const snaps = identicalNames.map(guest);
    expect(snaps.map((snap) => snap.pageCount)).toEqual(identicalNames.map(() => n("32,768")));
    expect(snaps[0].zeroPages).toBe(n("15,337"));
    expect(Math.round(pct(snaps[0].zeroPages, snaps[0].pageCount))).toBe(n("47"));
    const rows = [1, 2, 3, 4, 5, 6].map((k) => sharingOf(snaps.slice(0, k)));
    expect([rows[0].savable, rows[0].zeroSaved, rows[0].nonZeroWithin]).toEqual([n("19,227"), n("15,336"), n("3,891")]);
    expect(rows.map((r) => one(pct(r.savable, r.pages)))).toEqual([t("58.7"), t("67.5"), t("70.4"), t("71.9"), t("72.8"), t("73.4")]);
    expect(one(pct(rows[0].nonZero, rows[0].pages))).toBe(t("11.9"));
    // each further guest: about 5,770 non-zero pages (22.5 MiB) an earlier guest holds
    expect(rows[1].nonZeroAcross).toBe(n("5,763"));
    expect(rows[5].nonZeroAcross).toBe(n("28,855"));
    const about = n("5,770");
    for (const i of [1, 2, 3, 4, 5]) expect(Math.abs(rows[i].nonZeroAcross - rows[i - 1].nonZeroAcross - about)).toBeLessThan(10);
    expect(one(rows[5].nonZeroAcross / 5 / MIB_PAGES)).toBe(t("22.5"));
    expect(one(pct(rows[5].zeroSaved, rows[5].savable))).toBe(t("63.8"));
    expect(Math.round(pct(rows[5].zeroSaved, rows[5].savable))).toBe(n("64"));
    expect(one(pct(rows[0].zeroSaved, rows[0].savable))).toBe(t("79.8"));
    expect(one(pct(rows[5].nonZero, rows[5].pages))).toBe(t("26.6"));
    expect(one(pct(rows[5].nonZeroWithin, rows[5].nonZero))).toBe(t("44.8"));
    // fewer than half of the second guest's distinct contents are also in the first
    const { common, second } = commonContents(snaps[0], snaps[1]);
    expect([common, second]).toEqual([n("5,764"), n("13,533")]);
    expect(common / second).toBeLessThan(0.5);
    expect(second - common).toBe(n("7,769"));
    expect(Math.round(pct(common, second))).toBe(n("43"));
  });

  it("KASLR: two nokaslr guests have 9,608 of 13,527 contents in common (71%, not 43%), 52.4 MiB in place (not 37.3), 9,607 savable across (not 5,763): 26.5% without zero pages, not 20.7%", () => {
    const [a, b] = ["nokaslr-1", "nokaslr-2"].map(guest);
    const [idleA, idleB] = ["idle-1", "idle-2"].map(guest);
    const { common, second } = commonContents(a, b);
    expect([common, second]).toEqual([n("9,608"), n("13,527")]);
    expect(second - common).toBe(n("3,919"));
    // KASLR: about half of what two idle guests lack in common
    const idlePair = commonContents(idleA, idleB);
    expect(Math.abs((idlePair.second - idlePair.common - (second - common)) / (idlePair.second - idlePair.common) - 0.5)).toBeLessThan(0.05);
    expect(Math.round(pct(common, second))).toBe(n("71"));
    expect(one(samePlacePages(b, a) / MIB_PAGES)).toBe(t("52.4"));
    expect(one(samePlacePages(idleB, idleA) / MIB_PAGES)).toBe(t("37.3"));
    expect(one((b.pageCount - b.zeroPages) / MIB_PAGES)).toBe(t("68.1"));
    const [off, on] = [sharingOf([a, b]), sharingOf([idleA, idleB])];
    expect([off.nonZeroAcross, on.nonZeroAcross]).toEqual([n("9,607"), n("5,763")]);
    expect([one(pct(off.nonZero, off.pages)), one(pct(on.nonZero, on.pages))]).toEqual([t("26.5"), t("20.7")]);
    // KASLR off: more in common than any pair of idle guests with KASLR on
    for (let i = 1; i < identicalNames.length; i++) expect(sharingOf([idleA, guest(identicalNames[i])]).nonZeroAcross).toBeLessThan(off.nonZeroAcross * 0.7);
  });

  it("workloads: alloc 21,730 distinct and 1,651 (5.0%) duplicates; repeat 9,901 (30.2%), 6,010 more; page-cache 3,775 (11.5%); pairs 5,763/5,740/5,709/4,269; all four 59.0% and 27.8%", () => {
    const names = ["idle-1", "alloc", "page-cache", "repeat"];
    const all = computeSharing(names.map(guest));
    const [idle, alloc, pageCache, repeat] = all.snapshots;
    expect([alloc.distinctContents, idle.distinctContents]).toEqual([n("21,730"), n("13,541")]);
    expect(alloc.nonZeroSavablePages).toBe(n("1,651"));
    expect(one(pct(alloc.nonZeroSavablePages, alloc.pages))).toBe(t("5.0"));
    expect(repeat.nonZeroSavablePages).toBe(n("9,901"));
    expect(one(pct(repeat.nonZeroSavablePages, repeat.pages))).toBe(t("30.2"));
    expect(repeat.nonZeroSavablePages - idle.nonZeroSavablePages).toBe(n("6,010"));
    expect(Math.round((repeat.nonZeroSavablePages - idle.nonZeroSavablePages) / n("2,048"))).toBe(3);
    expect(pageCache.nonZeroSavablePages).toBe(n("3,775"));
    expect(one(pct(pageCache.nonZeroSavablePages, pageCache.pages))).toBe(t("11.5"));
    const across = ["idle-2", "alloc", "page-cache", "repeat"].map((other) => sharingOf([guest("idle-1"), guest(other)]).nonZeroAcross);
    expect(across).toEqual([n("5,763"), n("5,740"), n("5,709"), n("4,269")]);
    expect(one(pct(all.overall.savablePages, all.overall.pages))).toBe(t("59.0"));
    expect(one(pct(all.overall.nonZeroSavablePages, all.overall.pages))).toBe(t("27.8"));
  });

  it("over time: 58, 45 and 43 pages changed, 15,326 zero pages and 13,510 contents throughout; page-cache 28.5 MiB and alloc 23.2 MiB fewer zero pages; 37.3 of 68.1 MiB in place; ballooning 48 MiB zeroes 42.2 MiB and drops the page cache's disk data", () => {
    const snaps = ["series-00s", "series-04s", "series-08s", "series-12s"].map(guest);
    const changed = snaps.slice(1).map((snap, i) => {
      let k = 0;
      for (let p = 0; p < snap.pageCount; p++) if (snap.hashes[p] !== snaps[i].hashes[p]) k++;
      return k;
    });
    expect(changed).toEqual([n("58"), n("45"), n("43")]);
    for (const snap of snaps) {
      expect(snap.zeroPages).toBe(n("15,326"));
      expect(computeSharing([snap]).overall.distinctContents).toBe(n("13,510"));
    }
    const idle = guest("idle-1");
    const fewerZeroMiB = (name: string) => one((idle.zeroPages - guest(name).zeroPages) / MIB_PAGES);
    expect(fewerZeroMiB("page-cache")).toBe(t("28.5"));
    expect(fewerZeroMiB("alloc")).toBe(t("23.2"));
    const idle2 = guest("idle-2");
    expect(one(samePlacePages(idle2, idle) / MIB_PAGES)).toBe(t("37.3"));
    expect(one((idle2.pageCount - idle2.zeroPages) / MIB_PAGES)).toBe(t("68.1"));
    // the balloon took 48 MiB of the page-cache guest: 10,801 more zero pages (42.2 MiB)
    const before = guest("page-cache");
    const after = guest("page-cache-ballooned");
    expect(128 - n("80")).toBe(n("48"));
    expect(after.zeroPages - before.zeroPages).toBe(n("10,801"));
    expect(one((after.zeroPages - before.zeroPages) / MIB_PAGES)).toBe(t("42.2"));
    expect([computeSharing([after]).overall.distinctContents, computeSharing([before]).overall.distinctContents]).toEqual([n("12,269"), n("20,950")]);
    // the page-cache guest's own contents (disk data, per-boot kernel pages): 7,175 gone, most of 32 MiB of disk
    const idleContents = nonZeroContents(idle);
    const afterContents = nonZeroContents(after);
    const own = [...nonZeroContents(before)].filter((h) => !idleContents.has(h));
    expect(own.length).toBe(n("15,240"));
    const gone = own.filter((h) => !afterContents.has(h)).length;
    expect(gone).toBe(n("7,175"));
    expect(one(gone / MIB_PAGES)).toBe(t("28.0"));
    expect(gone / MIB_PAGES).toBeGreaterThan(n("32") * 0.75);
  });

  it("scanners: perfect 94,237 pages (368.1 MiB); ESX 9,245 at 1 s and 91,626 (97.2%) at 30 s; KSM nothing for 8.2 s, 93,940 (99.7%) from 17 s, 297 short by max_page_sharing; hashing and comparing costs", () => {
    const perfect = sharingOf(simNames.map(guest)).savable;
    expect(perfect).toBe(n("94,237"));
    expect(one(perfect / MIB_PAGES)).toBe(t("368.1"));
    const esx = scan({ scanner: "esx", pagesPerSecondPerVm: 4000, pagesPerSecondTotal: 100000 });
    const ksm = scan({ scanner: "ksm", pagesToScan: 320, sleepMillisecs: 20 });
    expect(esx.rows[0].savedPages).toBe(n("9,245"));
    expect(esx.saved).toBe(n("91,626"));
    expect(one(pct(esx.saved, perfect))).toBe(t("97.2"));
    const firstScanSeconds = one((n("131,072")) / n("16,000"));
    expect(firstScanSeconds).toBe(t("8.2"));
    for (const row of ksm.rows.filter((r) => r.t <= 8)) expect(row.savedPages).toBe(0);
    expect(ksm.saved).toBe(n("93,940"));
    expect(ksm.rows.find((r) => r.savedPages === ksm.saved)!.t).toBe(n("17"));
    expect(ksm.rows[ksm.rows.length - 1].savedPages).toBe(ksm.saved);
    expect(one(pct(ksm.saved, perfect))).toBe(t("99.7"));
    // max_page_sharing 256: a content with c copies needs ceil(c / 256) stable pages
    const copies = new Map<bigint, number>();
    for (const snap of simNames.map(guest)) {
      for (let p = 0; p < snap.pageCount; p++) {
        const key = snap.isZero(p) ? -1n : snap.hashes[p];
        copies.set(key, (copies.get(key) ?? 0) + 1);
      }
    }
    const maxPageSharing = n("256");
    let extra = 0;
    for (const c of copies.values()) extra += Math.ceil(c / maxPageSharing) - 1;
    expect(extra).toBe(n("297"));
    expect(perfect - ksm.saved).toBe(extra);
    expect(copies.get(-1n)).toBe(n("61,351"));
    expect(Math.ceil(copies.get(-1n)! / maxPageSharing)).toBe(n("240"));
    expect([...copies].some(([k, c]) => k !== -1n && c > maxPageSharing)).toBe(true);
    expect([ksm.hashed, ksm.compared, Math.round(ksm.cpuMs)]).toEqual([n("225,830"), n("154,608"), n("303")]);
    expect([esx.hashed, esx.compared, Math.round(esx.cpuMs)]).toEqual([n("218,714"), n("31,899"), n("235")]);
  });

  it("balloon: real steps within 0.5 s (≥ 320 MiB/s), simulated 2.5 s at 64 MiB/s; MemTotal 205.8 → 45.8, free 177.8 → 19.1 vs 17.8; holding 64 MiB the real one stops at 143.6 MiB, the simulated one pages out 40 MiB", () => {
    const idleRun = recorded("idle-256MiB.json");
    const allocRun = recorded("alloc-256MiB.json");
    const used = idleRun.memoryBytes - idleRun.real[0].guestFreeBytes;
    expect(one(used / MiB)).toBe(t("78.2"));
    const usedFraction = used / idleRun.memoryBytes;

    const realIdle = balloonResponse(aq.from(idleRun.real));
    expect(realIdle).toHaveLength(2);
    for (const step of realIdle) {
      expect(step.settleSeconds!).toBeLessThanOrEqual(n("0.5"));
      expect(step.bytesPerSecond! / MiB).toBeGreaterThanOrEqual(n("320"));
    }
    const simIdle = simulate(idleRun, usedFraction, false);
    for (const step of balloonResponse(simIdle)) {
      expect(step.settleSeconds).toBe(n("2.5"));
      expect(step.bytesPerSecond! / MiB).toBe(n("64"));
    }
    const during = idleRun.real.filter((r) => r.t > 3 && r.t < 8);
    for (const r of during) {
      expect(one(r.guestTotalBytes / MiB)).toBe(t("45.8"));
      expect(one(r.guestFreeBytes / MiB)).toBe(t("19.1"));
    }
    expect(one(idleRun.real[0].guestTotalBytes / MiB)).toBe(t("205.8"));
    expect(one(idleRun.real[0].guestFreeBytes / MiB)).toBe(t("177.8"));
    const simAt = (table: ReturnType<typeof simulate>, at: number) => (table.objects() as Array<Record<string, number>>).find((r) => Math.abs(r.t - at) < 1e-9)!;
    expect(one(simAt(simIdle, 6).guestFreeBytes / MiB)).toBe(t("17.8"));
    expect(one((during[0].guestFreeBytes - simAt(simIdle, 6).guestFreeBytes) / MiB)).toBe(t("1.3"));
    // the guest's stats arrive once a second: free memory lags QEMU's actual
    const firstDown = idleRun.real.find((r) => r.actualBytes === 96 * MiB)!;
    expect(firstDown.guestFreeBytes / MiB).toBeGreaterThan(170);

    // holding 64 MiB: the real balloon takes the free memory and stops
    const realAlloc = balloonResponse(aq.from(allocRun.real));
    expect(realAlloc[0].settleSeconds).toBeNull();
    expect(one(realAlloc[0].endBytes / MiB)).toBe(t("143.6"));
    expect(one((realAlloc[0].endBytes - 96 * MiB) / MiB)).toBe(t("47.6"));
    expect(one((allocRun.memoryBytes - realAlloc[0].endBytes) / MiB)).toBe(t("112.4"));
    expect(one(allocRun.real[0].guestFreeBytes / MiB)).toBe(t("114.8"));
    const held = allocRun.real.filter((r) => r.t > 3 && r.t < 8);
    for (const r of held) expect(one(r.guestFreeBytes / MiB)).toBe(t("2.4"));
    for (const r of allocRun.real) {
      expect(r.swapOutBytes).toBe(0);
      expect(r.majorFaults).toBe(0);
    }
    expect(one(allocRun.real[allocRun.real.length - 1].guestFreeBytes / MiB)).toBe(t("113.9"));

    const simAlloc = simulate(allocRun, usedFraction, true);
    const simRows = simAlloc.objects() as Array<Record<string, number>>;
    const ranOut = simRows.find((r) => r.guestFreeBytes === 0)!;
    expect(one(ranOut.actualBytes / MiB)).toBe(t("142.2"));
    expect(one(simAt(simAlloc, 8).actualBytes / MiB)).toBe(t("102.2"));
    expect(simAt(simAlloc, 8).guestPageOutBytes / MiB).toBe(n("40"));
    // paging out at its disk's pace: 8 MiB a second
    expect((simAt(simAlloc, 5).guestPageOutBytes - simAt(simAlloc, 4).guestPageOutBytes) / MiB).toBe(n("8"));
    expect(one(simRows[simRows.length - 1].guestFreeBytes / MiB)).toBe(t("153.8"));
    // without swap the simulator refuses the run: the guest is out of memory
    expect(() => simulate(allocRun, usedFraction, true, { swap: 0 })).toThrow(/out of memory/);
  });

  it("the notebook's cells make the calls checked above", () => {
    const nb = JSON.parse(fs.readFileSync("notebooks/08-real-vms.ipynb", "utf8")) as { cells: Array<{ cell_type: string; source: string[] }> };
    const code = nb.cells.filter((c) => c.cell_type === "code").map((c) => c.source.join("")).join("\n");
    for (const call of [
      "const seed = 42;",
      "const bootFreshGuests = false;",
      "const identicalNames = idleNames;",
      'const kaslr = aq.from([pairOf("idle-1", "idle-2"), pairOf("nokaslr-1", "nokaslr-2")]);',
      "const common = own[0] + own[1] - computeSharing([x, y]).overall.distinctContents;",
      'const kernelArgs = name.startsWith("nokaslr-") ? ["nokaslr"] : [];',
      'const mixedNames = ["idle-1", "alloc", "page-cache", "repeat"];',
      '{ scanner: "esx", pagesPerSecondPerVm: 4000, pagesPerSecondTotal: 100000 }',
      '{ scanner: "ksm", pagesToScan: 320, sleepMillisecs: 20 }',
      "const simNames = identicalNames.slice(0, 4);",
      "host.run({ seconds: 30, sampleEvery: 1 })",
      'guest: { kernelOverhead: 0 }, balloon: false, contents: guests.get(name), workload: { kind: "scan", pages: VM_PAGES }',
      "const usedFraction = (idleRun.memoryBytes - (idleRun.real.object(0) as any).guestFreeBytes) / idleRun.memoryBytes;",
      'readBalloonRun(path.join(BALLOON_DIR, file))',
      'durationSeconds: Math.round(real.get("t", real.numRows() - 1)), sampleSeconds: 0.5, seed: seed,',
      'guest: { kernelOverhead: usedFraction }, maxFraction: 0.99 - usedFraction, workload: label === "idle" ? undefined : { kind: "scan", pages: 64 * 256 }',
    ]) expect(code).toContain(call);
  });

  it("the notebook's text states every number checked above", () => {
    const nb = JSON.parse(fs.readFileSync("notebooks/08-real-vms.ipynb", "utf8")) as { cells: Array<{ cell_type: string; source: string[] }> };
    const text = nb.cells.filter((c) => c.cell_type === "markdown").map((c) => c.source.join("")).join("\n");
    expect(stated.length).toBeGreaterThan(60);
    const missing = [...new Set(stated)].filter((x) => !new RegExp(`(?<![\\d.,])${x.replace(/[.]/g, "\\.")}(?![\\d]|[.,]\\d)`).test(text));
    expect(missing).toEqual([]);
  });
});
