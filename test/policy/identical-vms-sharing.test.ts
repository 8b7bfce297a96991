import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { EsxSharing } from "../../src/policy/esx-sharing";
import { KsmSharing } from "../../src/policy/ksm-sharing";
import { sharingSavings } from "../../src/policy/sharing-metrics";

const PAGES = 1024;
const MODEL = { os: { name: "windows", version: "nt4", pages: 512 }, libraries: { pages: 128 }, zeroFraction: 0.25 };

/** N identical VMs, every page resident, scanned to completion by `scanner`. */
function sharedAfterScans(n: number, scanner: EsxSharing | KsmSharing) {
  const host = new Host({ memory: n * PAGES + 64, seed: 11 });
  for (let i = 0; i < n; i++) {
    const vm = host.addVm({ name: `vm${i}`, memory: PAGES, guest: { kernelOverhead: 0 }, balloon: false, contents: MODEL });
    for (let p = 0; p < PAGES; p++) vm.touch(p);
  }
  for (let pass = 0; pass < 3; pass++) {
    for (const vm of host.vms) for (let p = 0; p < PAGES; p++) scanner.scanPage(host, vm, p);
    if (scanner instanceof KsmSharing) while (scanner.fullScans === pass) scanner.tick(host);
  }
  host.checkInvariants();
  const zeros = host.vms.reduce((a, vm) => a + vm.contents!.ids.filter((id) => id === 0).length, 0);
  return { host, savings: sharingSavings(host), zeros };
}

describe("identical VMs (Waldspurger's Figure 4, in shape)", () => {
  for (const [label, make] of [["ESX", () => new EsxSharing()], ["KSM", () => new KsmSharing({ pagesToScan: 1, maxPageSharing: 1 << 20 })]] as const) {
    it(`${label}: saves every duplicate: (N − 1) × the OS and library pages, plus all zero pages but one`, () => {
      let lastFraction = 0;
      for (const n of [1, 2, 4, 8]) {
        const { savings, zeros } = sharedAfterScans(n, make());
        expect(savings.savedPages).toBe((n - 1) * 640 + zeros - 1);
        expect(savings.zeroPages).toBe(zeros - 1);
        expect(savings.acrossPages).toBe((n - 1) * 640);
        const fraction = savings.savedPages / (n * PAGES);
        expect(fraction).toBeGreaterThan(lastFraction);
        lastFraction = fraction;
      }
      // 640 of 1024 pages are image or library, a quarter of the rest zero: sharing nears 0.7.
      expect(lastFraction).toBeGreaterThan(0.6);
    });
  }
});
