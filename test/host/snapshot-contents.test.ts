import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { snapshotFromMemory } from "../../src/contents/snapshot-builder";
import { EsxSharing } from "../../src/policy/esx-sharing";
import { KsmSharing } from "../../src/policy/ksm-sharing";
import { sharingSavings } from "../../src/policy/sharing-metrics";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { SHARED } from "../../src/host/page-state";

const PAGE = 4096;

/** A memory dump whose page i is filled with byte `fill[i]` (0 makes a zero page). */
function dump(fill: number[]): Uint8Array {
  const m = new Uint8Array(fill.length * PAGE);
  fill.forEach((b, i) => m.fill(b, i * PAGE, (i + 1) * PAGE));
  return m;
}

/** Every non-zero page hashes alike: a deliberately useless hash, so only the bytes tell pages apart. */
const weak = { name: "weak", hash: () => 1n };

function hostOf(snapshots: ReturnType<typeof snapshotFromMemory>[]) {
  const host = new Host({ memory: 1000, seed: 1 });
  snapshots.forEach((contents, i) => {
    const vm = host.addVm({ name: `vm${i}`, memory: 8, guest: { kernelOverhead: 0 }, balloon: false, contents });
    for (let p = 0; p < 8; p++) vm.touch(p);
  });
  return host;
}

describe("VMs whose contents are real page snapshots", () => {
  it("share only pages whose bytes are equal, even when every hash collides (ESX and KSM)", () => {
    const a = snapshotFromMemory(dump([1, 2, 3, 0, 5, 6, 7, 8]), { keepBytes: true, hasher: weak });
    const b = snapshotFromMemory(dump([1, 9, 3, 0, 10, 11, 12, 13]), { keepBytes: true, hasher: weak });
    for (const make of [() => new EsxSharing(), () => new KsmSharing()]) {
      const host = hostOf([a, b]);
      const scanner = make();
      for (let round = 0; round < 3; round++) {
        for (const vm of host.vms) for (let p = 0; p < 8; p++) scanner.scanPage(host, vm, p);
        if (scanner instanceof KsmSharing) scanner.tick(host); // a pass ends (and flushes) through tick
      }
      host.checkInvariants();
      // Pages mapping one frame hold equal bytes.
      const bytesOf = new Map<number, string>();
      for (const vm of host.vms) for (let p = 0; p < 8; p++) {
        if (vm.hstate[p] !== SHARED) continue;
        const bytes = Buffer.from(vm.contents!.bytes!.subarray(p * PAGE, (p + 1) * PAGE)).toString("hex");
        const seen = bytesOf.get(vm.p2m[p]);
        if (seen !== undefined) expect(bytes === seen).toBe(true);
        bytesOf.set(vm.p2m[p], bytes);
      }
      const saved = sharingSavings(host);
      // KSM's trees keep every colliding page, so it finds all three equal pairs (pages 0, 2 and
      // the zero page 3); ESX's table keeps one entry per hash, so a useless hash costs it matches.
      if (scanner instanceof KsmSharing) expect(saved).toMatchObject({ savedPages: 3, zeroPages: 1, acrossPages: 2 });
      else expect(saved.savedPages).toBeGreaterThanOrEqual(2);
    }
  });

  it("a copy-on-write break with no free frame makes the host reclaim one", () => {
    const snap = snapshotFromMemory(dump([7, 7, 7, 7, 7, 7, 7, 7]));
    const host = new Host({ memory: 9, seed: 1, policies: [new ReclamationPolicy()] });
    const vm = host.addVm({ name: "a", memory: 8, guest: { kernelOverhead: 0 }, balloon: false, contents: snap });
    const other = host.addVm({ name: "b", memory: 8, guest: { kernelOverhead: 0 }, balloon: false });
    for (let p = 0; p < 8; p++) vm.touch(p);
    const esx = new EsxSharing();
    for (let p = 0; p < 8; p++) esx.scanPage(host, vm, p);
    expect(sharingSavings(host)).toMatchObject({ savedPages: 7, withinPages: 7, acrossPages: 0, zeroPages: 0 });
    for (let p = 0; p < 8; p++) other.touch(p); // the freed frames are used up
    expect(host.freePages).toBe(0);
    vm.writePage(0);
    expect(host.shared.cowBreaks).toBe(1);
    expect(vm.hostSwapOuts + other.hostSwapOuts).toBe(1);
    host.checkInvariants();
  });
});
