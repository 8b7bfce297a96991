/**
 * The shipped VM snapshots (data/snapshots/vm/, made by src/scripts/make-vm-snapshots.mjs):
 * what the README's VM section says of them holds, and they give simulated VMs real guest
 * contents (`host.addVm({ contents: snapshot })`) on which the ESX and KSM scanners save exactly
 * what perfect sharing would (sharingReport's savable pages).
 */
import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { computeSharing } from "../../src/contents/sharing-report";
import { Host } from "../../src/host/host";
import { EsxSharing } from "../../src/policy/esx-sharing";
import { KsmSharing } from "../../src/policy/ksm-sharing";
import { sharingSavings } from "../../src/policy/sharing-metrics";

const root = join(__dirname, "..", "..");
const dir = join(root, "data", "snapshots", "vm");
const readme = readFileSync(join(root, "data", "snapshots", "README.md"), "utf8");
const num = (text: string) => Number(text.replace(/,/g, ""));
const files = readdirSync(dir).filter((f) => f.endsWith(".mvpages.gz")).sort();

describe("data/snapshots/vm", () => {
  it("holds hash-only 128 MiB guest snapshots, and the README lists each with its pages, zero pages, distinct contents and size", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    const rows = [...readme.matchAll(/^\| `vm\/([^`]+\.mvpages\.gz)` \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| (.+) \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual(files);
    let total = 0;
    for (const [, file, pages, zero, distinct, bytes] of rows) {
      const snap = readSnapshot(join(dir, file));
      const size = statSync(join(dir, file)).size;
      total += size;
      expect({ file, pages: num(pages), zero: num(zero), distinct: num(distinct), bytes: num(bytes) }).toEqual({
        file, pages: snap.pageCount, zero: snap.zeroPages, distinct: computeSharing([snap]).overall.distinctContents, bytes: size,
      });
      expect(snap.pageCount).toBe(32_768);
      expect(snap.bytes, "hashes only").toBeUndefined();
      expect(snap.info.source).toMatchObject({ kind: "guest", memoryBytes: 128 * 2 ** 20, paused: true });
      expect(snap.regions.map((r) => [r.kind, r.startAddress, r.endAddress])).toEqual([["physical", 0n, 128n * 2n ** 20n]]);
    }
    expect(readme).toContain(`The ${files.length} VM snapshots take ${total.toLocaleString("en-US")} bytes together`);
  });

  it("quotes the sharing figures memvirt computes for the six identical idle guests", () => {
    const idle = computeSharing([1, 2, 3, 4, 5, 6].map((i) => readSnapshot(join(dir, `idle-${i}.mvpages.gz`)))).overall;
    const flat = readme.replace(/\s+/g, " ");
    const m = /Six idle guests\*\*: ([\d,]+) pages, ([\d,]+) of them zero; perfect sharing would free ([\d,]+) \(([\d.]+)%\), without zero pages ([\d,]+) \(([\d.]+)%\); ([\d,]+) of the saving lies across guests/.exec(flat);
    expect(m, "the idle sentence").not.toBeNull();
    const pct = (x: number) => ((100 * x) / idle.pages).toFixed(1);
    expect(m!.slice(1)).toEqual([idle.pages, idle.zeroPages, idle.savablePages, pct(idle.savablePages), idle.nonZeroSavablePages, pct(idle.nonZeroSavablePages), idle.acrossPages].map((x) => (typeof x === "number" ? x.toLocaleString("en-US") : x)));
  });

  it("says how many contents the second idle guest shares with the first, with KASLR on and off", () => {
    const common = (names: string[]) => {
      const [a, b] = names.map((n) => readSnapshot(join(dir, `${n}.mvpages.gz`)));
      const own = [a, b].map((s) => computeSharing([s]).overall.distinctContents);
      const shared = own[0] + own[1] - computeSharing([a, b]).overall.distinctContents;
      return { shared: shared.toLocaleString("en-US"), of: own[1].toLocaleString("en-US"), pct: Math.round((100 * shared) / own[1]) };
    };
    const flat = readme.replace(/\s+/g, " ");
    const on = common(["idle-1", "idle-2"]);
    const off = common(["nokaslr-1", "nokaslr-2"]);
    expect(flat).toContain(`(${on.shared} of ${on.of}) are also in the first guest`);
    expect(flat).toContain(`share ${off.shared} of ${off.of} contents (${off.pct}%) instead of ${on.pct}%`);
    expect(off.pct).toBeGreaterThan(on.pct + 20);
  });

  it("quotes the workload and over-time figures as the files have them", () => {
    const flat = readme.replace(/\s+/g, " ");
    const one = (name: string) => computeSharing([readSnapshot(join(dir, `${name}.mvpages.gz`))]).overall;
    const pct = (x: number) => ((100 * x) / 32_768).toFixed(1);
    const alloc = one("alloc");
    expect(flat).toContain(`\`alloc\` (random bytes) has ${alloc.distinctContents.toLocaleString("en-US")} distinct contents and saves ${pct(alloc.nonZeroSavablePages)}% of its pages without zero pages, \`repeat\` (four processes holding the same 8 MiB) ${pct(one("repeat").nonZeroSavablePages)}%`);
    const series = ["00", "04", "12"].map((s) => readSnapshot(join(dir, `series-${s}s.mvpages.gz`)));
    const changed = (x: typeof series[0], y: typeof series[0]) => { let n = 0; for (let i = 0; i < x.pageCount; i++) if (x.hash(i) !== y.hash(i)) n++; return n; };
    expect(flat).toContain(`${changed(series[0], series[1])} pages changed in the first 4 s after it was ready, ${changed(series[0], series[2])} in 12 s`);
  });

  it("quotes how many pages ballooning zeroed", () => {
    const [before, after] = ["page-cache", "page-cache-ballooned"].map((n) => readSnapshot(join(dir, `${n}.mvpages.gz`)));
    const more = after.zeroPages - before.zeroPages;
    expect(readme.replace(/\s+/g, " ")).toContain(`the \`page-cache\` guest had ${more.toLocaleString("en-US")} more zero pages (${((more * 4096) / 2 ** 20).toFixed(1)} MiB)`);
    expect(more * 4096).toBeLessThanOrEqual(48 * 2 ** 20);
    // the page cache went into the balloon: far fewer distinct contents after it
    const distinct = [before, after].map((s) => computeSharing([s]).overall.distinctContents.toLocaleString("en-US"));
    expect(readme.replace(/\s+/g, " ")).toContain(`its distinct contents fell from ${distinct[0]} to ${distinct[1]}`);
  });

  for (const [label, make] of [["ESX", () => new EsxSharing()], ["KSM", () => new KsmSharing({ pagesToScan: 1, maxPageSharing: 1 << 20 })]] as const) {
    it(`give two simulated VMs real guest contents, on which ${label} saves exactly what perfect sharing would`, () => {
      const snaps = [1, 2].map((i) => readSnapshot(join(dir, `idle-${i}.mvpages.gz`)));
      const pages = snaps[0].pageCount;
      const host = new Host({ memory: 2 * pages + 64, seed: 3 });
      for (const [i, contents] of snaps.entries()) {
        const vm = host.addVm({ name: `idle-${i + 1}`, memory: pages, guest: { kernelOverhead: 0 }, balloon: false, contents });
        for (let p = 0; p < pages; p++) vm.touch(p);
      }
      const scanner = make();
      for (let pass = 0; pass < 3; pass++) {
        for (const vm of host.vms) for (let p = 0; p < pages; p++) scanner.scanPage(host, vm, p);
        if (scanner instanceof KsmSharing) while (scanner.fullScans === pass) scanner.tick(host);
      }
      const perfect = computeSharing(snaps).overall;
      const saved = sharingSavings(host);
      expect(saved.savedPages).toBe(perfect.savablePages);
      expect(saved.zeroPages).toBe(perfect.zeroPages - 1);
      expect(saved.savedPages - saved.zeroPages).toBe(perfect.nonZeroSavablePages);
    });
  }
});
