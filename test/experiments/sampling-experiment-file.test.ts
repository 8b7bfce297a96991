/**
 * The experiment file's `allocation` (the idle memory tax) and per-VM `sampling` keys, from JSON
 * to the timeline, and through `memvirt run`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildHost, parseExperiment, runExperiment } from "../../src/experiments/experiment-file";
import { WorkingSetSampler } from "../../src/policy/working-set-sampler";
import { DamonEstimator } from "../../src/policy/damon-estimator";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";
import { removeTempDirs, runCli, tempDir } from "../cli/run-cli";
import { experimentError } from "./experiment-error";

afterAll(removeTempDirs);

const base = (): Record<string, any> => ({
  name: "sampled",
  seed: 3,
  host: { memory: 6000, costs: { hitNs: 20_000 } },
  reclamation: { periodSeconds: 0.5 },
  vms: [
    { name: "web", memory: 4000, workload: { kind: "toucher", workingSetPages: 1500 }, sampling: { samplePages: 200, periodSeconds: 1 } },
    { name: "db", memory: 4000, workload: { kind: "uniform", pages: 2500 }, sampling: { estimator: "damon", periodSeconds: 1, sampleIntervalSeconds: 0.1, maxRegions: 50 } },
  ],
  run: { seconds: 4, sampleEvery: 1 },
});

const errorOf = (spec: unknown): string => experimentError(spec).message;

describe("experiment files with sampling and allocation", () => {
  it("run each VM's estimator before the reclamation policy, and the timeline carries estimate beside truth", () => {
    const exp = parseExperiment({ ...base(), allocation: { taxRate: 0.5 } });
    expect(exp.vms.every((v) => !("sampling" in v))).toBe(true);
    const { host, run } = runExperiment(exp);
    expect(host.policies.map((p) => p.constructor)).toEqual([WorkingSetSampler, DamonEstimator, ReclamationPolicy]);
    expect((host.policies[2] as ReclamationPolicy).taxRate).toBe(0.5);
    const rows = run.timeline.objects() as Array<Record<string, number | string | null>>;
    const web = rows.filter((r) => r.vm === "web" && (r.t as number) >= 2);
    for (const r of web) expect(Math.abs((r.estimatedActivePages as number) - (r.trueActivePages as number))).toBeLessThan(0.15 * 4000);
    expect(rows.find((r) => r.vm === "db" && r.t === 2)!.estimatedActivePages).not.toBeNull();
    const text = run.explain();
    expect(text).toMatch(/working-set sampling of web every 0\.01 s: 200 random pages of web per 1 s of its own run time/);
    expect(text).toMatch(/DAMON-style regions of db/);
    expect(text).toMatch(/idle memory tax of 50%/);
    expect(text).toMatch(/sampling web: \d+ of 200 sampled pages touched in 1 s of its time/);
  });

  it("gives a VM without `sampling` the default sampler under a nonzero tax; `false` opts out; τ = 0 adds none", () => {
    const spec = base();
    delete spec.vms[0].sampling;
    spec.vms[1].sampling = false;
    const taxed = buildHost(parseExperiment({ ...spec, allocation: {} }));
    expect(taxed.policies.map((p) => p.name)).toEqual(["working-set sampling of web", "reclamation"]);
    expect((taxed.policies[0] as WorkingSetSampler).samplePages).toBe(100);
    expect((taxed.policies[1] as ReclamationPolicy).taxRate).toBe(0.75);
    const zero = buildHost(parseExperiment({ ...spec, allocation: { taxRate: 0 } }));
    expect(zero.policies.map((p) => p.name)).toEqual(["reclamation"]);
    const sampledTrue = buildHost(parseExperiment({ ...spec, vms: [{ ...spec.vms[0], sampling: true }, spec.vms[1]] }));
    expect(sampledTrue.policies.map((p) => p.name)).toEqual(["working-set sampling of web", "reclamation"]);
  });

  it("at τ = 0 runs exactly the experiment without `allocation`", () => {
    const spec = base();
    for (const v of spec.vms) delete v.sampling;
    spec.host.memory = 5000; // overcommitted, so the reclamation policy decides
    const without = runExperiment(parseExperiment(spec)).run.timeline.objects();
    const zero = runExperiment(parseExperiment({ ...spec, allocation: { taxRate: 0 } })).run.timeline.objects();
    expect(zero).toEqual(without);
  });

  it("names the JSON path of every bad allocation or sampling value", () => {
    expect(errorOf({ ...base(), allocation: { taxRate: 1.5 } })).toMatch(/^allocation\.taxRate: must be a tax rate from 0 up to, not including, 1 .*\(got 1\.5\)$/);
    expect(errorOf({ ...base(), allocation: { rate: 1 } })).toBe("allocation.rate: unknown field (valid fields: taxRate) (got 1)");
    expect(errorOf({ ...base(), allocation: 0.75 })).toMatch(/^allocation: must be an object/);
    expect(errorOf({ ...base(), reclamation: false, allocation: {} })).toMatch(/^allocation: needs a reclamation policy to act through/);
    expect(errorOf({ ...base(), reclamation: { allocation: { taxRate: 0.5 } } })).toMatch(/^reclamation\.allocation: belongs at the top level of the experiment/);
    const spec = base();
    spec.vms[1].sampling = { samplePages: 0 };
    expect(errorOf(spec)).toBe("vms[1].sampling.samplePages: must be a whole number, at least 1 (got 0)");
    spec.vms[1].sampling = { estimator: "lru" };
    expect(errorOf(spec)).toBe('vms[1].sampling.estimator: must be one of "sampling", "damon" (got "lru")');
    spec.vms[1].sampling = { estimator: "damon", samplePages: 10 };
    expect(errorOf(spec)).toMatch(/^vms\[1\]\.sampling\.samplePages: unknown field/);
    spec.vms[1].sampling = "yes";
    expect(errorOf(spec)).toMatch(/^vms\[1\]\.sampling: must be an object/);
    expect(errorOf({ ...base(), alocation: {} })).toMatch(/^alocation: unknown field \(valid fields: .*allocation/);
  });

  it("runs through `memvirt run`: the CSV has the estimate, the truth and the overhead; a bad key exits 2 naming its path", () => {
    const dir = tempDir("memvirt-sampling-");
    const file = path.join(dir, "exp.json");
    fs.writeFileSync(file, JSON.stringify({ ...base(), allocation: { taxRate: 0.75 } }));
    const out = path.join(dir, "out.csv");
    const ok = runCli(["run", file, "--out", out]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const [header, ...lines] = fs.readFileSync(out, "utf8").trim().split("\n");
    const cols = header.split(",");
    expect(cols.slice(-3)).toEqual(["estimatedActivePages", "trueActivePages", "samplingOverheadFraction"]);
    expect(lines).toHaveLength(8);
    const bad = base();
    bad.vms[0].sampling = { samplePages: 100, period: 30 };
    fs.writeFileSync(file, JSON.stringify(bad));
    const r = runCli(["run", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('memvirt: error: vms[0].sampling.period: unknown field for the "sampling" estimator (valid fields: estimator, samplePages, periodSeconds, slowGain, fastGain) (got 30)');
  });
});
