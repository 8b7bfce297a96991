import { formatWithOptions, inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { Host, Mmu, ReclamationPolicy, simulateTranslation, walk } from "../../src";

/** What tslab prints for a bare last expression: console.log(value), i.e. util.inspect. */
function printed(value: unknown): string {
  return formatWithOptions({}, value);
}

function expectShort(text: string): string[] {
  const lines = text.split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(2);
  expect(lines.length).toBeLessThanOrEqual(10);
  return lines;
}

function smallHost(policies: ReclamationPolicy[] = []): Host {
  const host = new Host({ memory: "64 MiB", seed: 42, policies });
  host.addVm({ name: "web", memory: "32 MiB", max: "24 MiB", workload: { kind: "uniform", pages: "16 MiB" } });
  host.addVm({ name: "batch", memory: "32 MiB", workload: { kind: "loop", pages: "8 MiB" } });
  return host;
}

describe("inspect views (what a bare value at the end of a notebook cell prints)", () => {
  it("a host: machine memory, policies, each VM with sizes, and what to do next", () => {
    const host = smallHost([new ReclamationPolicy()]);
    const lines = expectShort(printed(host));
    expect(lines[0]).toMatch(/^Host: 16,384 pages \(64 MiB\) of machine memory, [\d,]+ pages free; hypervisor swap 0 of [\d,]+ pages used; seed 42; t = 0 s$/);
    expect(lines[1]).toBe("  policies: reclamation every 1 s");
    expect(lines[2]).toMatch(/^ {2}VM "web": 32 MiB configured \(max 24 MiB\); now [\d,]+ pages resident, 0 ballooned, 0 host-swapped; runs uniform over 4,096 pages$/);
    expect(lines[3]).toMatch(/^ {2}VM "batch": 32 MiB configured; now/);
    expect(lines[lines.length - 1]).toMatch(/host\.run\(\{ seconds, sampleEvery \}\).*show\(run\) or run\.explain\(\)/);
    expect(printed(host)).not.toMatch(/Int32Array|Uint8Array|Float64Array/);
  });

  it("a host without VMs says how to add one; many VMs are cut to five lines", () => {
    expect(expectShort(printed(new Host({ memory: "64 MiB" })))).toContain("  no VMs yet: host.addVm({ name, memory, workload })");
    const crowded = new Host({ memory: "1 GiB", seed: 1 });
    for (let i = 0; i < 40; i++) crowded.addVm({ name: `vm${i}`, memory: "16 MiB" });
    const lines = expectShort(printed(crowded));
    expect(lines.filter((l) => l.startsWith("  VM "))).toHaveLength(5);
    expect(lines).toContain("  ... and 35 more VMs (host.vms)");
  });

  it("an overcommitted host with no policy warns in its view too", () => {
    const host = new Host({ memory: 4000, seed: 1 });
    host.addVm({ name: "a", memory: 3000 });
    expect(printed(host)).toContain("  policies: none");
    host.addVm({ name: "b", memory: 3000 });
    expect(expectShort(printed(host))[1]).toMatch(/^ {2}policies: none; WARNING: overcommitted .* pass policies: \[new ReclamationPolicy\(\)\]$/);
  });

  it("what host.addVm returns: a VM's name, sizes, state and workload", () => {
    const host = smallHost();
    const lines = expectShort(printed(host.vm("web")));
    expect(lines[0]).toMatch(/^Vm "web": 32 MiB configured \(max 24 MiB\); now [\d,]+ pages resident, 0 ballooned, 0 host-swapped; runs uniform over 4,096 pages$/);
    expect(lines[1]).toMatch(/^ {2}0 accesses so far; host faults: [\d,]+ allocations, 0 swap-ins, 0 traps; 0 double-paging events; 0 pages in guest swap$/);
    expect(lines[2]).toContain('host.setMax("web", size)');
    expect(printed(host.vm("web"))).not.toMatch(/Int32Array|Uint8Array/);
  });

  it("a run: span, tables with their sizes, each VM's result, host states, warnings and the hint", () => {
    const run = smallHost([new ReclamationPolicy()]).run({ seconds: 2, sampleEvery: 0.5 });
    const lines = expectShort(printed(run));
    expect(lines[0]).toBe("Run from t = 0 s to 2 s, sampled every 0.5 s: 2 VMs; .timeline 8 rows (one per VM per sample), .hostTimeline 4 rows");
    expect(lines[1]).toMatch(/^ {2}web: [\d,]+ accesses\/s; ends with [\d,]+ pages resident, [\d,]+ ballooned, [\d,]+ host-swapped$/);
    expect(lines[2]).toMatch(/^ {2}batch: /);
    expect(lines[3]).toMatch(/^ {2}host states: high 2 s; \d+ events?; free memory fell to [\d.]+%$/);
    expect(lines[4]).toBe("  .explain() or show(run) tells the story");
    const bare = new Host({ memory: 4000, seed: 1 });
    bare.addVm({ name: "a", memory: 3000 });
    bare.addVm({ name: "b", memory: 3000 });
    const warned = expectShort(printed(bare.run({ seconds: 0.1 })));
    expect(warned).toContain("  host states: none reported (no policy); 0 events; free memory fell to 97.7%");
    expect(warned.find((l) => l.startsWith("  WARNING: the host is overcommitted"))).toContain("policies: [new ReclamationPolicy()]");
  });

  it("a run with many VMs stays within ten lines", () => {
    const host = new Host({ memory: "1 GiB", seed: 1 });
    for (let i = 0; i < 12; i++) host.addVm({ name: `vm${i}`, memory: "16 MiB", workload: { kind: "uniform", pages: "4 MiB" } });
    const lines = expectShort(printed(host.run({ seconds: 0.1 })));
    expect(lines).toContain("  ... and 8 more VMs (.summary.vms)");
  });

  it("a walk: settings, the translation chain, the reference count with its formula, the hint", () => {
    const lines = expectShort(printed(walk({ mode: "nested" })));
    expect(lines[0]).toBe("Walk (nested: guest 4-level 4K, host 4-level 4K; no page-walk cache; no nested TLB)");
    expect(lines[1]).toMatch(/^ {2}gVA 0x7f1234567abc → gPA 0x[0-9a-f]+ → hPA 0x[0-9a-f]+ in 24 memory references; a cold walk here: .*= 24$/);
    expect(lines[2]).toMatch(/\.toTable\(\).*\.explain\(\)/);
    expect(expectShort(printed(walk({ mode: "native" })))[1]).toMatch(/^ {2}VA 0x7f1234567abc → PA 0x[0-9a-f]+ in 4 memory references/);
  });

  it("a walk inside mmu.access's result prints as its view", () => {
    const mmu = new Mmu({ mode: "nested", pwc: "uptc", seed: 1 });
    const text = printed(mmu.access(0x7f1234567abc, "read"));
    expect(text).toMatch(/walk: Walk \(nested: guest 4-level 4K, host 4-level 4K; UPTC/);
    expect(text).not.toMatch(/references: \[/);
  });

  it("an Mmu: its settings in one line, its counters so far, and how to use it", () => {
    const mmu = new Mmu({ mode: "shadow", seed: 1 });
    expect(expectShort(printed(mmu))[1]).toBe("  so far: 0 accesses, 0 TLB misses, 0 walk references, 0 guest page faults, 0 traps, 0 cycles");
    mmu.access(0x7f0000001000, "write");
    const lines = expectShort(printed(mmu));
    expect(lines[0]).toBe(`Mmu: ${mmu.describe()}`);
    expect(lines[0]).toMatch(/^Mmu: shadow paging.*guest memory 1 GiB; TLB 1536 entries 12-way/);
    expect(lines[1]).toMatch(/^ {2}so far: 1 access, 1 TLB miss, [\d,]+ walk references, 1 guest page fault, [\d,]+ traps, [\d,]+ cycles$/);
    expect(lines[2]).toMatch(/\.access\(address, "read"\).*\.counts\(\)/);
  });

  it("a translation result: mode, input, headline numbers, tables, warnings, the hint", () => {
    const r = simulateTranslation({ mode: "shadow", seed: 1, workload: { kind: "uniform", pages: 512 }, accesses: 2000, warmupAccesses: 2000 });
    const lines = expectShort(printed(r));
    expect(lines[0]).toBe("TranslationResult: shadow paging on workload uniform over 512 pages");
    expect(lines[1]).toMatch(/^ {2}2,000 accesses: [\d.]+ cycles per access, [\d.]+% TLB misses at [\d.]+ references each, [\d,]+ traps?$/);
    expect(lines[2]).toMatch(/^ {2}\.intervals: \d+ rows?, one per interval/);
    expect(lines[lines.length - 1]).toBe("  .explain() or show(…) tells the story");
    const short = simulateTranslation({ mode: "nested", workload: { kind: "scan", pages: 10 }, accesses: 100, warmupAccesses: 50 });
    expect(expectShort(printed(short)).some((l) => /^ {2}WARNING: the input ended during the warm-up/.test(l))).toBe(true);
  });

  it("is what util.inspect gives at any depth, so nested values print the same way", () => {
    const host = smallHost();
    expect(inspect([host], { depth: 0 })).toContain("Host: 16,384 pages");
    expect(inspect({ host }, { depth: 5 })).toContain("Host: 16,384 pages");
  });
});
