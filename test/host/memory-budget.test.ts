import { beforeEach, describe, expect, it, vi } from "vitest";

// The budget follows os.totalmem(); the tests pick the machine's memory.
const machine = vi.hoisted(() => ({ bytes: 16 * 2 ** 30 }));
vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof import("node:os")>();
  return { ...os, totalmem: () => machine.bytes };
});

import { Host } from "../../src/host/host";
import { Vm } from "../../src/host/vm";
import { resolveVmSettings } from "../../src/host/host-config";
import { buildHost, parseExperiment } from "../../src/experiments/experiment-file";

beforeEach(() => { machine.bytes = 16 * 2 ** 30; });

/** The case: a 4 TiB host with seven 4 TiB VMs (28 TiB). */
const huge = () => ({
  host: { memory: "4 TiB" },
  vms: Array.from({ length: 7 }, (_, i) => ({ name: `vm${i}`, memory: "4 TiB", workload: { kind: "uniform", pages: "1 GiB" } })),
  run: { seconds: 1 },
});

describe("the host's memory budget", () => {
  it("refuses a 4 TiB host with 28 TiB of VMs at once, naming the VM where it outgrows the machine", () => {
    const t0 = performance.now();
    // The host's frames (4 GiB) fit in 12 GiB; with vms[0] (15 bytes per page, 15 GiB, plus its balloon list and V→P table) they do not.
    expect(() => buildHost(parseExperiment(huge()))).toThrow(
      /^vms\[0\]\.memory: a host of 4 TiB with 1 VM of 4 TiB in all \(vms\[0\] to here\) needs about 21\.66 GiB of simulator state; this machine has 16 GiB of memory, of which the simulator may use 12 GiB \(got "4 TiB"\)$/);
    expect(performance.now() - t0).toBeLessThan(2000); // nothing was allocated
  });

  it("refuses an experiment whose VMs together outgrow the machine before building any of them", () => {
    machine.bytes = 64 * 2 ** 20; // budget 48 MiB
    const spec = { host: { memory: "4 GiB" }, vms: Array.from({ length: 7 }, (_, i) => ({ name: `vm${i}`, memory: "1 GiB" })), run: { seconds: 1 } };
    expect(() => buildHost(parseExperiment(spec))).toThrow(
      /^vms\[5\]\.memory: a host of 4 GiB with 6 VMs of 6 GiB in all \(vms\[0\] to here\) needs about 48\.40 MiB of simulator state; this machine has 64 MiB/);
  });

  it("refuses a host whose frames alone will not fit, before allocating them", () => {
    machine.bytes = 2 ** 20; // budget 768 KiB; 1 GiB of frames take 1 MiB
    expect(() => new Host({ memory: "1 GiB" })).toThrow("host.memory: a host of 262,144 pages (1 GiB) needs about 1 MiB of simulator state; this machine has 1 MiB of memory, of which the simulator may use 768 KiB (got \"1 GiB\")");
    expect(() => buildHost(parseExperiment({ ...huge(), host: { memory: "1 GiB" } }))).toThrow(/^host\.memory: a host of 1 GiB needs about 1 MiB/);
    machine.bytes = 4 * 2 ** 30;
    expect(() => new Host({ memory: "4 TiB" })).toThrow(/^host\.memory: a host of 1,073,741,824 pages \(4 TiB\) needs about 4 GiB of simulator state; this machine has 4 GiB/);
  });

  it("counts every VM: the one that no longer fits is refused, before its state or workload is built", () => {
    machine.bytes = 64 * 2 ** 20; // budget 48 MiB
    const host = new Host({ memory: "4 GiB" }); // 4 MiB of frames
    const one = Vm.estimateStateBytes(resolveVmSettings({ name: "x", memory: "1 GiB" }, "x"));
    expect(one).toBe(15 * 262144 + 4 * Math.floor(0.65 * 262144) + 4 * 3 * 262144);
    const fits = Math.floor((48 * 2 ** 20 - 4 * 2 ** 20) / one);
    for (let i = 0; i < fits; i++) host.addVm({ name: `vm${i}`, memory: "1 GiB" });
    expect(host.stateBytes).toBeLessThanOrEqual(4 * 2 ** 20 + fits * one); // the estimate bounds what was built
    expect(() => host.addVm({ name: "last", memory: "1 GiB", workload: { kind: "zipf", pages: "1 GiB", exponent: 1 } }))
      .toThrow(new RegExp(`^vms\\[${fits}\\]\\.memory: with VM "last" \\(1 GiB, about 7\\.\\d+ MiB of state\\), the host needs about 48\\.40 MiB of simulator state; this machine has 64 MiB of memory, of which the simulator may use 48 MiB \\(got \"1 GiB\"\\)$`));
    expect(host.vms).toHaveLength(fits);
    // A VM that fits is still accepted after a refusal.
    expect(host.addVm({ name: "small", memory: "16 MiB" }).name).toBe("small");
  });
});
