import { describe, expect, it } from "vitest";
import { Host } from "../../src/host/host";
import type { Run } from "../../src/host/run";
import { ReclamationPolicy } from "../../src/policy/reclamation-policy";

/** Two VMs that outgrow a small host, so the reclamation policy moves it through its states. */
function overcommitted(periodSeconds: number): Host {
  const host = new Host({ memory: 6000, seed: 7, costs: { hitNs: 1000 }, policies: [new ReclamationPolicy({ periodSeconds })] });
  host.addVm({ name: "web", memory: 4000, workload: { kind: "uniform", pages: 3500 } });
  host.addVm({ name: "db", memory: 4000, balloon: false, workload: { kind: "uniform", pages: 3500 } });
  return host;
}

/** The state the run's events say the host is in at `t`: the last change at or before t. */
function stateAt(run: Run, t: number, initial: string): string {
  let state = initial;
  for (const c of run.summary.stateChanges) if (c.t <= t + 1e-9) state = c.to;
  return state;
}

function expectRowsAgreeWithEvents(run: Run): void {
  const changes = run.summary.stateChanges;
  expect(changes.length).toBeGreaterThan(1);
  // The events (and so explain()) tell the same changes at the same times.
  const told = run.events.filter((e) => /state \w+ → \w+/.test(e.text)).map((e) => ({ t: e.t, to: /→ (\w+)/.exec(e.text)![1] }));
  expect(told).toEqual(changes.map((c) => ({ t: c.t, to: c.to })));
  const hostRows = run.hostTimeline.objects() as Array<{ t: number; hostState: string }>;
  const vmRows = run.timeline.objects() as Array<{ t: number; hostState: string }>;
  const initial = changes[0].from;
  for (const r of [...hostRows, ...vmRows]) expect({ t: r.t, hostState: r.hostState }).toEqual({ t: r.t, hostState: stateAt(run, r.t, initial) });
  // Every change that falls on a sample time is in that sample's row, not the next one.
  const sampled = changes.filter((c) => hostRows.some((r) => r.t === c.t));
  expect(sampled.length).toBeGreaterThan(0);
  for (const c of sampled) expect(hostRows.find((r) => r.t === c.t)!.hostState).toBe(c.to);
}

describe("the timeline's hostState", () => {
  it("shows a state change in the row at the time the events give it, when samples fall on policy ticks", () => {
    expectRowsAgreeWithEvents(overcommitted(0.1).run({ seconds: 2, sampleEvery: 0.1 }));
  });

  it("agrees with the events when samples fall between ticks too", () => {
    expectRowsAgreeWithEvents(overcommitted(0.1).run({ seconds: 2, sampleEvery: 0.05 }));
  });

  it("agrees with the events over a run that continues an earlier one", () => {
    const host = overcommitted(0.1);
    host.run({ seconds: 0.5, sampleEvery: 0.1 });
    expectRowsAgreeWithEvents(host.run({ seconds: 1.5, sampleEvery: 0.1 }));
  });

  it("shows a limit set by a scheduled action in the row at that action's time", () => {
    const host = overcommitted(0.1);
    host.at(0.5, "cap web", () => host.setMax("web", 3000));
    const run = host.run({ seconds: 1, sampleEvery: 0.1 });
    const web = (run.timeline.objects() as Array<{ t: number; vm: string; maxPages: number }>).filter((r) => r.vm === "web");
    expect(run.events.find((e) => e.text === "cap web")?.t).toBe(0.5);
    expect(web.filter((r) => r.t < 0.5).every((r) => r.maxPages === 4000)).toBe(true);
    expect(web.filter((r) => r.t >= 0.5).every((r) => r.maxPages === 3000)).toBe(true);
  });

  it("keeps samples at the same times, one row per VM per sample, and the last at the run's end", () => {
    const run = overcommitted(0.1).run({ seconds: 1, sampleEvery: 0.3 });
    expect(run.hostTimeline.array("t")).toEqual([0.3, 0.6, 0.9, 1]);
    expect(run.timeline.numRows()).toBe(8);
  });
});
