import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { experimentError } from "./experiment-error";
import { buildHost, loadExperimentFile, parseExperiment, runExperiment } from "../../src/experiments/experiment-file";
import { MemvirtError } from "../../src/util/errors";

const base = () => ({
  name: "t",
  seed: 7,
  host: { memory: 4000, costs: { hitNs: 10_000 } },
  reclamation: { periodSeconds: 0.5 },
  vms: [
    { name: "a", memory: 3000, workload: { kind: "toucher", workingSetPages: 1000, writeFraction: 0.3 } },
    { name: "b", memory: 3000, balloon: false, workload: { kind: "uniform", pages: 1500 } },
  ],
  run: { seconds: 2, sampleEvery: 0.5 },
});

const errorOf = experimentError;

function edit(f: (s: any) => void) {
  const s = base() as ReturnType<typeof base> & Record<string, any>;
  f(s);
  return s;
}


/** A small overcommitted experiment: random choices (zipf ranks, swap victims) show in its timeline. */
function overcommitted(seed?: unknown) {
  return {
    ...(seed === undefined ? {} : { seed }),
    host: { memory: 5000 },
    reclamation: { periodSeconds: 0.2 },
    vms: [
      { name: "web", memory: 3000, workload: { kind: "zipf", pages: 2800, exponent: 0.9, writeFraction: 0.2 } },
      { name: "db", memory: 3000, balloon: false, workload: { kind: "uniform", pages: 2500 } },
    ],
    run: { seconds: 0.5, sampleEvery: 0.5 },
  };
}
describe("experiment files", () => {
  it("run to a timeline, the same for the same seed", () => {
    const a = runExperiment(parseExperiment(base())).run;
    const b = runExperiment(parseExperiment(base())).run;
    expect(a.timeline.numRows()).toBe(8);
    expect(b.timeline.objects()).toEqual(a.timeline.objects());
  });

  it("gives seeds that used to collide different results; \"42\" and 42 are one seed", () => {
    const timeline = (seed: unknown) => runExperiment(parseExperiment(overcommitted(seed))).run.timeline.objects();
    expect(timeline(8)).not.toEqual(timeline(7));
    expect(timeline(2 ** 32 + 7)).not.toEqual(timeline(7));
    expect(timeline(-7)).not.toEqual(timeline(7));
    expect(timeline("42")).toEqual(timeline(42));
    expect(parseExperiment(edit((s) => { s.seed = "42"; })).seed).toBe(42);
    expect(parseExperiment(edit((s) => { s.seed = "run-a"; })).seed).toBe("run-a");
  });

  it("a file without a seed runs as seed 1", () => {
    const spec = (seed?: number) => overcommitted(seed);
    const timeline = (seed?: number) => runExperiment(parseExperiment(spec(seed))).run.timeline.objects();
    expect(parseExperiment(spec()).seed).toBe(1);
    const unseeded = timeline();
    expect(unseeded).toEqual(timeline(1));
    expect(unseeded).not.toEqual(timeline(2));
  });

  it.each([
    ["a fractional seed", (s: any) => { s.seed = 1.5; }, "seed", /must be a whole number between/],
    ["a seed beyond 2^53", (s: any) => { s.seed = 1e300; }, "seed", /must be a whole number between/],
    ["a seed that is an object", (s: any) => { s.seed = { n: 1 }; }, "seed", /must be a whole number or a string/],
    ["a number-like seed string", (s: any) => { s.seed = "4294967296.5"; }, "seed", /looks like a number/],
    ["an unknown top-level key", (s: any) => { s.colour = "red"; }, "colour", /unknown field/],
    ["an unknown host key", (s: any) => { s.host.size = 3; }, "host.size", /unknown field/],
    ["an unknown run key", (s: any) => { s.run.duration = 3; }, "run.duration", /unknown field/],
    ["an unknown VM key", (s: any) => { s.vms[1].colour = 1; }, "vms[1].colour", /unknown field/],
    ["an unknown balloon key", (s: any) => { s.vms[0].balloon = { speed: 1 }; }, "vms[0].balloon.speed", /unknown field/],
    ["an unknown reclamation key", (s: any) => { s.reclamation.aggressive = true; }, "reclamation.aggressive", /unknown field/],
    ["a bad threshold", (s: any) => { s.reclamation.thresholds = { soft: 0.5 }; }, "reclamation.thresholds", /high > soft/],
    ["a negative size", (s: any) => { s.vms[1].memory = "-5 GiB"; }, "vms[1].memory", /expected a size/],
    ["a negative page count", (s: any) => { s.vms[1].memory = -5; }, "vms[1].memory", /must not be negative/],
    ["a size string without a unit", (s: any) => { s.vms[1].memory = "3000"; }, "vms[1].memory", /needs a unit: write 3000 \(a number, in pages\)/],
    ["a workload size string without a unit", (s: any) => { s.vms[1].workload.pages = "1500"; }, "vms[1].workload.pages", /needs a unit/],
    ["an unparseable size", (s: any) => { s.host.memory = "plenty"; }, "host.memory", /expected a size/],
    ["an unknown workload", (s: any) => { s.vms[0].workload = { kind: "fractal" }; }, "vms[0].workload.kind", /unknown workload kind/],
    ["a bad workload field", (s: any) => { s.vms[1].workload.pages = "many"; }, "vms[1].workload.pages", /expected a size/],
    ["a VM larger than a host without swap", (s: any) => { s.host.swap = 0; s.vms[0].memory = 5000; }, "vms[0].memory", /more than the host's 4,000 pages/],
    ["a missing run length", (s: any) => { delete s.run.seconds; }, "run.seconds", /is required/],
    ["a sample interval longer than the run", (s: any) => { s.run.sampleEvery = 5; }, "run.sampleEvery", /must not exceed/],
    ["no VMs", (s: any) => { s.vms = []; }, "vms", /non-empty array/],
    ["an event for an unknown VM", (s: any) => { s.events = [{ at: 1, vm: "zz", max: 100 }]; }, "events[0].vm", /must name a VM/],
    ["an event after the run", (s: any) => { s.events = [{ at: 9, vm: "a", max: 100 }]; }, "events[0].at", /up to, not including, run.seconds \(2\)/],
    ["an event at the end of the run", (s: any) => { s.events = [{ at: 1, vm: "a", max: 1500 }, { at: 2, vm: "a", max: 1500 }]; }, "events[1].at", /up to, not including, run.seconds \(2\): an event at the end of the run would never fire/],
    ["an event in the run's last half-quantum", (s: any) => { s.events = [{ at: 1.996, vm: "a", max: 1500 }]; }, "events[0].at", /last half-quantum .* so it would never fire; the latest time that fires is 1.99/],
    ["an event in the last half-quantum of a coarse quantum", (s: any) => { s.host.quantumSeconds = 0.5; s.events = [{ at: 1.75, vm: "a", max: 1500 }]; }, "events[0].at", /nearest 0.5 s quantum.* is 1.5/],
    ["an event with no change", (s: any) => { s.events = [{ at: 1, vm: "a" }]; }, "events[0]", /exactly one change/],
    ["an event with a bad size", (s: any) => { s.events = [{ at: 1, vm: "a", max: "huge" }]; }, "events[0].max", /expected a size/],
    ["a limit above the VM's memory", (s: any) => { s.events = [{ at: 1, vm: "a", max: 9000 }]; }, "events[0].max", /between the VM's min and memory/],
    ["a null reclamation", (s: any) => { s.reclamation = null; }, "reclamation", /must be an object/],
    ["a reclamation list", (s: any) => { s.reclamation = [1]; }, "reclamation", /must be an object/],
    ["a negative reservation", (s: any) => { s.vms[0].min = -1; }, "vms[0].min", /must not be negative/],
    ["a workload larger than guest memory plus swap", (s: any) => { s.vms[1].workload.pages = 9000; }, "vms[1].workload", /touches 9,000 pages .* more than the guest can hold: 2,953 pages .* plus 6,000 pages/],
    ["a working set that outgrows the guest", (s: any) => { s.events = [{ at: 1, vm: "a", workingSet: 9000 }]; }, "events[0].workingSet", /touches 9,000 pages/],
    ["a null workload", (s: any) => { s.vms[0].workload = null; }, "vms[0].workload", /workload object/],
    ["a working-set change for a VM that is not a toucher", (s: any) => { s.events = [{ at: 1, vm: "b", workingSet: 10 }]; }, "events[0].workingSet", /toucher/],
  ])("rejects %s, naming its JSON path", (_what, change, where, message) => {
    const e = errorOf(edit(change));
    expect(e.where).toBe(where);
    expect(e.message).toMatch(message);
  });

  it("rejects a top level that is not an object, naming the file", () => {
    expect(() => parseExperiment([1, 2], { file: "exp.json" })).toThrow(/^exp\.json: must be a JSON object/);
    expect(() => parseExperiment(null)).toThrow(/^experiment: must be a JSON object/);
  });

  it("rejects run lengths that are not whole quanta before simulating", () => {
    const exp = parseExperiment(edit((s) => { s.run.seconds = 1.005; s.host.quantumSeconds = 0.01; }));
    expect(() => runExperiment(exp)).toThrow(/run\.seconds: must be a whole number of host quanta/);
  });

  it("applies events: a lowered limit balloons the VM down, a working-set change resizes the toucher", () => {
    const exp = parseExperiment(edit((s) => {
      s.events = [{ at: 0.5, vm: "a", max: 1500 }, { at: 1, vm: "a", workingSet: 500 }];
    }));
    const { host, run } = runExperiment(exp);
    expect(host.vm("a").maxPages).toBe(1500);
    expect(host.vm("a").balloonedPages).toBe(1500);
    expect((host.vm("a").workload as any).workingSetPages).toBe(500);
    expect(run.events.map((e) => e.text).join("\n")).toMatch(/limit of a is set to 1,500 pages/);
  });

  it("fires an event in the run's last quantum, with or without warm-up", () => {
    for (const warmupSeconds of [0, 1]) {
      const { host, run } = runExperiment(parseExperiment(edit((s) => {
        s.run.warmupSeconds = warmupSeconds;
        s.events = [{ at: 0, vm: "b", max: 2900 }, { at: 1.994, vm: "a", max: 1500 }];
      })));
      expect(host.vm("a").maxPages).toBe(1500);
      expect(run.events.filter((e) => /limit of/.test(e.text))).toEqual([
        { t: warmupSeconds, text: "the limit of b is set to 2,900 pages (11.33 MiB)" },
        { t: warmupSeconds + 1.99, text: "the limit of a is set to 1,500 pages (5.86 MiB)" },
      ]);
    }
  });

  it("checks onProgress before running", () => {
    expect(() => runExperiment(parseExperiment(base()), { onProgress: 5 as never })).toThrow(/^onProgress: must be a function/);
  });

  it("warms up without recording, then measures", () => {
    const { run } = runExperiment(parseExperiment(edit((s) => { s.run.warmupSeconds = 1; })));
    expect(run.summary.startSeconds).toBe(1);
    expect(run.timeline.array("t")[0]).toBe(1.5);
  });

  it("runs without a reclamation policy when reclamation is false", () => {
    const { host } = runExperiment(parseExperiment(edit((s) => { s.reclamation = false; })));
    expect(host.policies).toHaveLength(0);
  });

  it("names the file when it is not valid JSON", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-"));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, "{ \"host\": ");
    expect(() => loadExperimentFile(file)).toThrow(new RegExp(`${file.replace(/[.\\/]/g, "\\$&")}: is not valid JSON`));
    expect(() => loadExperimentFile(file + ".missing")).toThrow(/cannot read the experiment file: ENOENT/);
  });

  it("data/experiments/overcommit.json does what its description says: soft at 32 s, high by 34 s, no host swapping, equal balloons", () => {
    const { run } = runExperiment(loadExperimentFile(path.resolve(__dirname, "..", "..", "data", "experiments", "overcommit.json")));
    expect(run.summary.stateChanges.map((c) => [c.to, c.t])).toEqual([["soft", 32], ["high", 34]]);
    expect(run.summary.vms.every((v) => v.finalBalloonedPages > 0 && v.hostSwapOuts === 0)).toBe(true);
    const balloons = run.summary.vms.map((v) => v.finalBalloonedPages);
    expect(Math.max(...balloons) - Math.min(...balloons)).toBeLessThanOrEqual(0.01 * Math.max(...balloons));
  });

  it("accepts every example in data/experiments", () => {
    const dir = path.resolve(__dirname, "..", "..", "data", "experiments");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const exp = loadExperimentFile(path.join(dir, f));
      expect(buildHost(exp).vms.length).toBeGreaterThan(0);
    }
  });
});
