import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import "../../src/policy/exclusive-cache-tracer"; // registers the tracer the host builds for `tracing`

describe("an exclusive cache's time accounting", () => {
  it("charges puts at cachePutNs and hits at cacheHitNs, and counts as saved only a disk read less a hit", () => {
    const costs = { guestDiskReadNs: 1_000_000, cacheHitNs: 300_000, cachePutNs: 7_000 };
    const host = new Host({ memory: "16 MiB", seed: 4, costs });
    host.addVm({ name: "web", memory: 512, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 700 }, tracing: { exclusiveCache: { size: 256 } } });
    const c = host.run({ seconds: 2 }).summary.vms[0].cache!;
    expect(c.hits).toBeGreaterThan(100);
    expect(c.savedSeconds).toBeCloseTo((c.hits * 700_000) / 1e9, 12);
    expect(c.hitSeconds).toBeCloseTo((c.hits * 300_000) / 1e9, 12);
    expect(c.putSeconds).toBeCloseTo((c.puts * 7_000) / 1e9, 12);
  });
});
