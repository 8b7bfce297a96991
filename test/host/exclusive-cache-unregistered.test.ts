/**
 * The host never imports a policy: a VM's `tracing.exclusiveCache` gets its tracer from the factory
 * src/policy/exclusive-cache-tracer.ts registers when it loads (importing "memvirt" loads it). This
 * file imports the host alone, so the factory is missing, and the host says what to import.
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";

describe("a host without memvirt's policies loaded", () => {
  it("refuses tracing with a one-line error naming the path and what to import, and runs untraced VMs as ever", () => {
    const host = new Host({ memory: 4096, seed: 1 });
    const swapBefore = host.swap.capacityPages;
    expect(() => host.addVm({ name: "web", memory: 1024, tracing: { exclusiveCache: { size: 64 } } }))
      .toThrow(/^vms\[0\]\.tracing\.exclusiveCache: needs the exclusive-cache tracer, which registers when memvirt's policies load: import from "memvirt"/);
    expect(host.vms).toHaveLength(0);
    expect(host.swap.capacityPages).toBe(swapBefore); // refused before anything changed
    host.addVm({ name: "web", memory: 1024 });
    expect(host.run({ seconds: 0.1 }).summary.vms).toHaveLength(1);
  });
});
