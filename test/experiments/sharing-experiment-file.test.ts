import { describe, expect, it } from "vitest";
import { parseExperiment, runExperiment } from "../../src/experiments/experiment-file";
import { KsmSharing } from "../../src/policy/ksm-sharing";
import { EsxSharing } from "../../src/policy/esx-sharing";

function experiment(sharing: unknown) {
  const vm = (name: string) => ({ name, memory: 600, contents: { os: { name: "linux", version: "6.1", pages: 400 }, zeroFraction: 0.5 }, workload: { kind: "uniform", pages: 500 } });
  return { seed: 7, host: { memory: 4000, sharing }, vms: [vm("a"), vm("b")], run: { seconds: 1, sampleEvery: 0.5 } };
}

describe("experiment JSON host.sharing", () => {
  it("runs a KSM scanner on VMs with content models and records the saving in the host timeline", () => {
    const { host, run } = runExperiment(parseExperiment(experiment({ scanner: "ksm", pagesToScan: 500 })));
    const ksm = host.policies.find((p) => p instanceof KsmSharing) as KsmSharing;
    expect(ksm).toBeDefined();
    expect(ksm.pagesSharing).toBeGreaterThan(0);
    const saved = run.hostTimeline.array("savedPages") as number[];
    expect(saved[saved.length - 1]).toBeGreaterThan(100);
    host.checkInvariants();
  });

  it("runs the ESX scanner with its parameters", () => {
    const { host } = runExperiment(parseExperiment(experiment({ scanner: "esx", pagesPerSecondPerVm: 3000, pagesPerSecondTotal: 6000 })));
    const esx = host.policies.find((p) => p instanceof EsxSharing) as EsxSharing;
    expect(esx.pagesPerSecondPerVm).toBe(3000);
    expect(esx.pagesScanned).toBeGreaterThan(0);
  });

  it("refuses an unknown scanner or parameter, naming its JSON path", () => {
    expect(() => parseExperiment(experiment({ scanner: "tps" }))).toThrow(/host\.sharing\.scanner/);
    expect(() => parseExperiment(experiment({ scanner: "ksm", pagesToScan: 0 }))).toThrow(/host\.sharing\.pagesToScan/);
    expect(() => parseExperiment(experiment({ scanner: "esx", pagesToScan: 10 }))).toThrow(/host\.sharing\.pagesToScan/);
  });
});
