import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";

/** A 4,000-page host with two VMs of `vmPages` each (overcommitted above 2,000). */
function host(vmPages: number, policies: ReclamationPolicy[] = []): Host {
  const h = new Host({ memory: 4000, seed: 1, policies });
  for (const name of ["a", "b"]) h.addVm({ name, memory: vmPages, workload: { kind: "uniform", pages: Math.floor(vmPages * 0.8) } });
  return h;
}

describe("run.warnings", () => {
  it("says loudly when an overcommitted host runs no policy, with the fix, in warnings and first in explain()", () => {
    const run = host(3000).run({ seconds: 0.1 });
    expect(run.warnings).toHaveLength(1);
    const w = run.warnings[0];
    expect(w).toMatch(/^the host is overcommitted \(the VMs' memory adds up to 6,000 pages \(23\.44 MiB\), more than its 4,000 pages \(15\.63 MiB\)\) and runs no policy/);
    expect(w).toContain("nothing balloons");
    expect(w).toContain("policies: [new ReclamationPolicy()]");
    expect(w).toContain("host.addPolicy(new ReclamationPolicy())");
    expect(run.explain().split("\n")[0]).toBe(`WARNING: ${w}.`);
  });

  it("is empty when the VMs fit in machine memory, or when a policy reclaims", () => {
    expect(host(2000).run({ seconds: 0.1 }).warnings).toEqual([]);
    expect(host(3000, [new ReclamationPolicy()]).run({ seconds: 0.1 }).warnings).toEqual([]);
    const added = host(3000);
    added.addPolicy(new ReclamationPolicy());
    const run = added.run({ seconds: 0.1 });
    expect(run.warnings).toEqual([]);
    expect(run.explain()).not.toMatch(/WARNING/);
  });

  it("counts a VM added between runs", () => {
    const h = new Host({ memory: 4000, seed: 1 });
    h.addVm({ name: "a", memory: 3000 });
    expect(h.run({ seconds: 0.1 }).warnings).toEqual([]);
    h.addVm({ name: "b", memory: 3000 });
    expect(h.run({ seconds: 0.1 }).warnings).toHaveLength(1);
  });
});
