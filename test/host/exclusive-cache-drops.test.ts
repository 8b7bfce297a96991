import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { ExclusiveCache } from "../../src/host/exclusive-cache";
import { MachineMemory } from "../../src/host/machine-memory";
import "../../src/policy/exclusive-cache-tracer"; // registers the tracer the host builds for `tracing`

describe("exclusive cache drops", () => {
  it("counts every entry a shrink or the host drops as an eviction", () => {
    const machine = new MachineMemory(100);
    const cache = new ExclusiveCache(50, machine);
    for (let k = 0; k < 50; k++) cache.put(k);
    cache.setCapacity(10);
    expect(cache.evictions).toBe(40);
    expect(cache.dropLru()).toBe(true);
    expect(cache.evictions).toBe(41);
    expect(machine.freePages).toBe(91);
  });

  it("when the host needs a frame, the fullest cache gives back its least recent entry", () => {
    const host = new Host({ memory: 4096, seed: 1 });
    const a = host.addVm({ name: "a", memory: 64, balloon: false, tracing: { exclusiveCache: { size: 16 } } });
    const b = host.addVm({ name: "b", memory: 64, balloon: false, tracing: { exclusiveCache: { size: 16 } } });
    for (let k = 0; k < 2; k++) a.cache!.put(k);
    for (let k = 0; k < 5; k++) b.cache!.put(k);
    expect((host as unknown as { dropCachePage(): boolean }).dropCachePage()).toBe(true);
    expect([a.cachePages, b.cachePages]).toEqual([2, 4]);
    expect(b.cache!.has(0)).toBe(false);
  });
});
