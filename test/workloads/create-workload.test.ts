import { describe, expect, it, onTestFinished } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createWorkload, HotColdWorkload, LoopWorkload, PhasesWorkload, Rng, ScanWorkload, ToucherWorkload,
  TraceReplayWorkload, UniformWorkload, ZipfWorkload, FETCH, WRITE,
} from "../../src";
import { take } from "./helpers";

const rng = () => new Rng(1);

describe("createWorkload", () => {
  it("builds each kind from a plain spec, with sizes as page counts or strings", () => {
    expect(createWorkload({ kind: "uniform", pages: "64 MiB" }, rng())).toBeInstanceOf(UniformWorkload);
    const z = createWorkload({ kind: "zipf", pages: 4096, exponent: 1.1, writeFraction: 0.3 }, rng());
    expect(z).toBeInstanceOf(ZipfWorkload);
    expect(z.name).toBe("zipf(1.1) over 4,096 pages, 30% writes");
    expect(createWorkload({ kind: "hot-cold", pages: 100, hotFraction: 0.2, hotAccessFraction: 0.8 }, rng())).toBeInstanceOf(HotColdWorkload);
    expect(createWorkload({ kind: "scan", pages: 10 }, rng())).toBeInstanceOf(ScanWorkload);
    expect(createWorkload({ kind: "loop", pages: 10 }, rng())).toBeInstanceOf(LoopWorkload);
    expect(createWorkload({ kind: "toucher", workingSetPages: "4 MiB" }, rng())).toBeInstanceOf(ToucherWorkload);
    const p = createWorkload({ kind: "phases", phases: [{ accesses: 5, workload: { kind: "uniform", pages: 4 } }] }, rng());
    expect(p).toBeInstanceOf(PhasesWorkload);
    expect(take(p, 100).pages.length).toBe(5);
  });

  it("the spec is JSON: parsing it back builds the same stream", () => {
    const spec = { kind: "zipf", pages: 512, exponent: 0.9, scatter: true, writeFraction: 0.2 };
    const a = take(createWorkload(spec, new Rng(4)), 1000);
    const b = take(createWorkload(JSON.parse(JSON.stringify(spec)), new Rng(4)), 1000);
    expect(a).toEqual(b);
  });

  it("rejects an unknown kind, naming the path and listing the valid kinds", () => {
    expect(() => createWorkload({ kind: "zipff", pages: 10 }, rng(), "vms[1].workload")).toThrow(
      'vms[1].workload.kind: unknown workload kind (valid kinds: uniform, zipf, hot-cold, scan, loop, toucher, phases, trace) (got "zipff")',
    );
    expect(() => createWorkload({ pages: 10 }, rng(), "vms[1].workload")).toThrow("vms[1].workload.kind: unknown workload kind");
    expect(() => createWorkload("zipf", rng(), "vms[1].workload")).toThrow(/^vms\[1\]\.workload: must be a workload object/);
  });

  it("rejects unknown fields, so a typo is never ignored", () => {
    expect(() => createWorkload({ kind: "zipf", pages: 10, exponent: 1, writefraction: 0.3 }, rng(), "w")).toThrow(
      "w.writefraction: unknown field (valid fields: kind, writeFraction, basePage, accesses, pages, exponent, scatter, method) (got 0.3)",
    );
  });

  it("rejects bad values with the full path, also inside phases", () => {
    expect(() => createWorkload({ kind: "uniform", pages: "lots" }, rng(), "vms[0].workload")).toThrow(/^vms\[0\]\.workload\.pages: /);
    expect(() => createWorkload({ kind: "uniform", pages: -4 }, rng(), "w")).toThrow("w.pages: size must not be negative (got -4)");
    expect(() => createWorkload({ kind: "uniform" }, rng(), "w")).toThrow("w.pages: is required");
    expect(() => createWorkload({ kind: "uniform", pages: 10, writeFraction: 2 }, rng(), "w")).toThrow("w.writeFraction: must be a number between 0 and 1 (got 2)");
    expect(() =>
      createWorkload({ kind: "phases", phases: [{ accesses: 1, workload: { kind: "uniform", pages: 1 } }, { accesses: 0, workload: { kind: "uniform", pages: 1 } }] }, rng(), "vms[2].workload"),
    ).toThrow("vms[2].workload.phases[1].accesses: must be a whole number of at least 1 (got 0)");
    expect(() => createWorkload({ kind: "phases", phases: [{ workload: { kind: "nope" } }] }, rng(), "w")).toThrow(/^w\.phases\[0\]\.workload\.kind: unknown workload kind/);
    expect(() => createWorkload({ kind: "phases", phases: [] }, rng(), "w")).toThrow(/^w\.phases: must be a non-empty array/);
  });

  it("replays a Lackey trace file, resolving relative paths against baseDir", () => {
    const dir = mkdtempSync(join(tmpdir(), "memvirt-wl-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "t.lackey"), "==1== banner\nI  0400d7d4,8\n M 7ff0005b8,8\n");
    const w = createWorkload({ kind: "trace", file: "t.lackey", loop: true }, rng(), "w", { baseDir: dir });
    expect(w).toBeInstanceOf(TraceReplayWorkload);
    const { pages, kinds } = take(w, 4);
    expect(pages).toEqual([0x400d, 0x7ff000, 0x400d, 0x7ff000]);
    expect(kinds).toEqual([FETCH, WRITE, FETCH, WRITE]);
    expect(() => createWorkload({ kind: "trace", file: "missing.lackey" }, rng(), "vms[0].workload", { baseDir: dir })).toThrow(
      /^vms\[0\]\.workload\.file: trace file not found at .*missing\.lackey \(got "missing\.lackey"\)/,
    );
  });
});
