import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { MemvirtError } from "../../src/util/errors";

function errorOf(fn: () => unknown): MemvirtError {
  try { fn(); } catch (e) { if (e instanceof MemvirtError) return e; throw e; }
  throw new Error("expected a MemvirtError");
}

describe("host and VM configuration", () => {
  it("rejects a VM larger than the host when the host has no swap, naming the VM's memory", () => {
    const host = new Host({ memory: "1 GiB", swap: 0 });
    const e = errorOf(() => host.addVm({ name: "big", memory: "2 GiB" }));
    expect(e.where).toBe("vms[0].memory");
    expect(e.message).toMatch(/more than the host's 262,144 pages \(1 GiB\) of memory plus 0 pages \(0 B\) of swap/);
  });

  it("admits the same VM with automatic swap (ESX-style: memory − min per VM)", () => {
    const host = new Host({ memory: "1 GiB" });
    host.addVm({ name: "big", memory: "2 GiB", min: "256 MiB" });
    expect(host.swap.capacityPages).toBe(524288 - 65536);
  });

  it("rejects reservations that exceed machine memory", () => {
    const host = new Host({ memory: 1000 });
    host.addVm({ name: "a", memory: 800, min: 600 });
    expect(errorOf(() => host.addVm({ name: "b", memory: 800, min: 600 })).where).toBe("vms[1].min");
  });

  it.each([
    [{ memory: -5 }, "vms[0].memory", /must not be negative/],
    [{ memory: "lots" }, "vms[0].memory", /expected a size/],
    [{ memory: "12 parsecs" }, "vms[0].memory", /unknown unit/],
    [{ memory: "1000 B" }, "vms[0].memory", /whole number of 4 KiB pages/],
    [{ memory: 0 }, "vms[0].memory", /at least one page/],
    [{ memory: 1000, max: 2000 }, "vms[0].max", /must not exceed the VM's memory/],
    [{ memory: 1000, max: 500, min: 600 }, "vms[0].min", /must not exceed max/],
    [{ memory: 1000, shares: -1 }, "vms[0].shares", /positive/],
    [{ memory: 1000, colour: "red" }, "vms[0].colour", /unknown field/],
    [{ memory: 1000, balloon: { maxFraction: 2 } }, "vms[0].balloon.maxFraction", /between 0 and 1/],
    [{ memory: 1000, balloon: { speed: 2 } }, "vms[0].balloon.speed", /unknown field/],
    [{ memory: 1000, guest: { swap: "-1 GiB" } }, "vms[0].guest.swap", /expected a size/],
    [{ memory: 1000, workload: { kind: "fractal", pages: 10 } }, "vms[0].workload.kind", /unknown workload kind/],
    [{ memory: 1000, workload: { kind: "uniform", pages: 10, skew: 1 } }, "vms[0].workload.skew", /unknown field/],
    [{ memory: 1000, workload: { kind: "zipf", pages: "ten" } }, "vms[0].workload.pages", /expected a size/],
  ])("rejects %j at %s", (vm, where, message) => {
    const host = new Host({ memory: 100_000 });
    const e = errorOf(() => host.addVm({ name: "a", ...(vm as object) } as never));
    expect(e.where).toBe(where);
    expect(e.message).toMatch(message);
  });

  it("rejects a missing or duplicate name", () => {
    const host = new Host({ memory: 10_000 });
    expect(errorOf(() => host.addVm({ memory: 10 } as never)).where).toBe("vms[0].name");
    host.addVm({ name: "a", memory: 10 });
    expect(errorOf(() => host.addVm({ name: "a", memory: 10 })).where).toBe("vms[1].name");
  });

  it.each([
    [{ memory: "4 GiB", swap: "lots" }, "host.swap"],
    [{ memory: "-4 GiB" }, "host.memory"],
    [{}, "host.memory"],
    [{ memory: 100, costs: { diskNs: 5 } }, "host.costs.diskNs"],
    [{ memory: 100, costs: { hitNs: -1 } }, "host.costs.hitNs"],
    [{ memory: 100, quantumSeconds: 0 }, "host.quantumSeconds"],
    [{ memory: 100, size: 3 }, "host.size"],
  ])("rejects host options %j at %s", (options, where) => {
    expect(errorOf(() => new Host(options as never)).where).toBe(where);
  });

  it("rejects run lengths that are not whole quanta", () => {
    const host = new Host({ memory: 100 });
    expect(errorOf(() => host.run({ seconds: 0.0123 })).where).toBe("run.seconds");
    expect(errorOf(() => host.run({ seconds: -1 })).where).toBe("run.seconds");
    expect(errorOf(() => host.run({ seconds: 1, sampleEvery: 2 })).where).toBe("run.sampleEvery");
  });
});
