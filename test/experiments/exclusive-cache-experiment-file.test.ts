/**
 * The experiment file's per-VM `tracing.exclusiveCache` and top-level `cacheAllocation`, from JSON
 * to the timeline, and through `memvirt run`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildHost, parseExperiment, runExperiment } from "../../src/experiments/experiment-file";
import { ExclusiveCacheAllocation } from "../../src/policy/exclusive-cache-allocation";
import { ExclusiveCacheTracer } from "../../src/policy/exclusive-cache-tracer";
import { Host } from "../../src/host/host";
import { removeTempDirs, runCli, tempDir } from "../cli/run-cli";
import { experimentError } from "./experiment-error";

afterAll(removeTempDirs);

const base = (): Record<string, any> => ({
  name: "cached",
  seed: 3,
  host: { memory: "32 MiB", costs: { guestDiskReadNs: 20_000 } },
  reclamation: false,
  cacheAllocation: { budget: "4 MiB", periodSeconds: 1 },
  vms: [
    { name: "web", memory: 2048, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 2800 }, tracing: { exclusiveCache: { size: "1 MiB", targetMissRatio: 0.05 } } },
    { name: "db", memory: 2048, balloon: false, guest: { fileBackedFraction: 1 }, workload: { kind: "uniform", pages: 2100 }, tracing: { exclusiveCache: { size: 256, need: "knee" } } },
  ],
  run: { seconds: 3, sampleEvery: 1 },
});

const errorOf = (spec: unknown): string => experimentError(spec).message;

describe("experiment files with exclusive caches", () => {
  it("give each traced VM a cache and the tracer (first), then the allocation; the timeline has the cache columns", () => {
    const { host, run } = runExperiment(parseExperiment(base()));
    expect(host.policies.map((p) => p.constructor)).toEqual([ExclusiveCacheTracer, ExclusiveCacheAllocation]);
    const rows = run.timeline.objects() as Array<Record<string, unknown>>;
    expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(["cacheHits", "cachePuts", "cachePages", "cacheCapacityPages", "estimatedNeedPages"]));
    const web = rows.filter((r) => r.vm === "web");
    expect(web[web.length - 1].estimatedNeedPages).toBeGreaterThan(2016);
    expect(run.cacheNeed("db")!.rule).toBe("knee");
    expect(run.summary.vms[0].cache!.hits).toBeGreaterThan(0);
  });

  it("work the same from code: host.addVm with tracing, and the allocation passed as a policy", () => {
    const spec = base();
    const fromFile = runExperiment(parseExperiment(spec)).run;
    const host = new Host({ memory: "32 MiB", seed: 3, costs: { guestDiskReadNs: 20_000 }, policies: [new ExclusiveCacheAllocation({ budget: "4 MiB", periodSeconds: 1 })] });
    for (const vm of spec.vms) host.addVm(vm);
    const inCode = host.run({ seconds: 3, sampleEvery: 1 });
    expect(inCode.timeline.objects()).toEqual(fromFile.timeline.objects());
    expect(inCode.cacheCurve("web").objects()).toEqual(fromFile.cacheCurve("web").objects());
  });

  it("name the JSON path of every bad tracing or cacheAllocation value, in one line", () => {
    const withCache = (cache: unknown) => {
      const spec = base();
      spec.vms[1].tracing = { exclusiveCache: cache };
      return errorOf(spec);
    };
    expect(withCache({ size: "64" })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.size: a size string needs a unit/);
    expect(withCache({ size: -1 })).toBe("vms[1].tracing.exclusiveCache.size: size must not be negative (got -1)");
    expect(withCache({})).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.size: is required/);
    expect(withCache({ size: 64, targetMissRatio: 1 })).toBe("vms[1].tracing.exclusiveCache.targetMissRatio: must be a number strictly between 0 and 1 (got 1)");
    expect(withCache({ size: 64, targetMissRatio: 0 })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.targetMissRatio: must be a number strictly between 0 and 1/);
    expect(withCache({ size: 64, need: "elbow" })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.need: must be "target"/);
    expect(withCache({ size: 64, decay: 0 })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.decay: must be a number in \(0, 1\]/);
    expect(withCache({ size: 64, ghosts: "1 KiB" })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.ghosts: size is not a whole number of 4 KiB pages/);
    expect(withCache({ size: 64, periodSeconds: -1 })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.periodSeconds: must be a positive number/);
    expect(withCache({ size: 64, colour: 1 })).toMatch(/^vms\[1\]\.tracing\.exclusiveCache\.colour: unknown field \(valid fields: size, /);
    const spec = base();
    spec.vms[0].tracing = { lru: true };
    expect(errorOf(spec)).toMatch(/^vms\[0\]\.tracing\.lru: unknown field \(valid fields: exclusiveCache\)/);
    expect(errorOf({ ...base(), cacheAllocation: { budget: "4" } })).toMatch(/^cacheAllocation\.budget: a size string needs a unit/);
    expect(errorOf({ ...base(), cacheAllocation: { budget: "4 MiB", period: 1 } })).toMatch(/^cacheAllocation\.period: unknown field/);
    const untraced = base();
    for (const v of untraced.vms) delete v.tracing;
    expect(errorOf(untraced)).toMatch(/^cacheAllocation: needs at least one VM with "tracing"/);
    for (const message of [withCache({ size: "64" }), errorOf(untraced)]) expect(message).not.toContain("\n");
  });

  it("runs through `memvirt run`: the summary names the cache and the need, --json carries the curve; a bad key exits 2 naming its path", () => {
    const dir = tempDir("memvirt-cache-");
    const file = path.join(dir, "exp.json");
    fs.writeFileSync(file, JSON.stringify(base()));
    const ok = runCli(["run", file]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/web's exclusive cache \(.*\): [\d,]+ hits of [\d,]+ disk reads, [\d,]+ puts; saved .* s of disk time, spent .* s in puts; need .*the hypervisor is blind below v/);
    const json = JSON.parse(runCli(["run", file, "--json"]).stdout);
    expect(json.caches.web.need.directPages).toBe(2016);
    expect(json.caches.web.curve[0]).toEqual({ sizePages: 2016, missRatio: expect.any(Number) });
    expect(json.summary.vms[0].cache.puts).toBeGreaterThan(0);
    const bad = base();
    bad.vms[0].tracing.exclusiveCache.targetMissRatio = 5;
    fs.writeFileSync(file, JSON.stringify(bad));
    const r = runCli(["run", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("memvirt: error: vms[0].tracing.exclusiveCache.targetMissRatio: must be a number strictly between 0 and 1 (got 5)");
  });
});
