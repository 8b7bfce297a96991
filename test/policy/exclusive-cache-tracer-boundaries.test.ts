import { describe, expect, it } from "vitest";
import { ExclusiveCacheTracer } from "../../src/policy/exclusive-cache-tracer";
import { resolveTracing } from "../../src/host/host-config";
import type { HostControl, VmView } from "../../src/host/host-policy";

/** A tracer for one VM of v = 10 direct pages whose events the test sends one by one. */
function tracerWithHost(options: Record<string, unknown>) {
  const tracer = new ExclusiveCacheTracer();
  tracer.traceVm(0, resolveTracing({ exclusiveCache: options }, "tracing")!);
  const view = { index: 0, name: "vm", memoryPages: 10, directPages: 10, accesses: 0, cacheCapacityPages: 8 } as unknown as VmView & { accesses: number };
  const host = { nowSeconds: 0, vms: [view], setEstimatedNeedPages: () => {}, note: () => {} } as unknown as HostControl;
  const put = (key: number) => tracer.onCacheEvent(host, 0, key, "put");
  const probe = (key: number) => tracer.onCacheEvent(host, 0, key, "probe-miss");
  return { tracer, view, put, probe };
}

describe("ExclusiveCacheTracer at its boundaries", () => {
  it("keeps a hashed page (negative slot) and a direct one apart, though both map into the stack's whole numbers", () => {
    const { tracer, put } = tracerWithHost({ size: 8, ghosts: 8, decay: 1 });
    put(0);
    put(-1);
    put(1);
    put(-2);
    expect(tracer.trackedKeys(0)).toBe(4);
  });

  it("calls a target met exactly at v 'at most v' (≤, not <)", () => {
    const { tracer, view, probe } = tracerWithHost({ size: 8, ghosts: 8, decay: 1, targetMissRatio: 0.25 });
    view.accesses = 8;
    probe(98); // never put: misses at every size
    probe(99);
    expect(tracer.estimate(0)).toMatchObject({ needPages: 10, bound: "at-most", missRatio: 0.25 });
  });

  it("takes the smallest size whose miss ratio equals the target exactly", () => {
    const { tracer, view, put, probe } = tracerWithHost({ size: 8, ghosts: 8, decay: 1, targetMissRatio: 0.25 });
    view.accesses = 8;
    for (const k of [1, 2, 3]) put(k);
    probe(3); // depth 1 among evicted pages: v + 1 = 11
    probe(1); // depth 2 (2 is above it): 12
    probe(99); // untracked: a miss at every size
    // Misses: 3 of 8 at 10, 2 (0.25) at 11, 1 at 12.
    expect(Array.from(tracer.curve(0, [10, 11, 12]).array("missRatio") as ArrayLike<number>)).toEqual([3 / 8, 2 / 8, 1 / 8]);
    expect(tracer.estimate(0)).toMatchObject({ needPages: 11, bound: "exact", missRatio: 0.25 });
  });

  it("remembers a larger v seen only between two ticks (the balloon deflated, the VM read, the balloon inflated again)", () => {
    const { tracer, view, put, probe } = tracerWithHost({ size: 8, ghosts: 8, decay: 1, periodSeconds: 1 });
    const host = { nowSeconds: 0, vms: [view], setEstimatedNeedPages: () => {}, note: () => {} } as unknown as HostControl & { nowSeconds: number };
    tracer.tick(host);
    (view as { directPages: number }).directPages = 20;
    view.accesses = 100;
    put(1);
    probe(1); // depth 20 + 1: hits at depths 11..20 happened unseen
    (view as { directPages: number }).directPages = 10;
    host.nowSeconds = 1;
    tracer.tick(host);
    expect(tracer.curve(0).array("sizePages")[0]).toBe(20);
  });
});

describe("ExclusiveCacheTracer's notes", () => {
  /** Exact-LRU events of a VM of `v` pages over `trace`, into the tracer. */
  function feed(t: ReturnType<typeof tracerWithHost>, v: number, trace: readonly number[]): void {
    const lru: number[] = [];
    for (const page of trace) {
      t.view.accesses++;
      const at = lru.indexOf(page);
      if (at >= 0) {
        lru.splice(at, 1);
        lru.unshift(page);
        continue;
      }
      t.probe(page);
      if (lru.length === v) t.put(lru.pop()!);
      lru.unshift(page);
    }
  }

  it("note a new estimate when it moves by more than a tenth, not for smaller moves", () => {
    const t = tracerWithHost({ size: 64, ghosts: 64, decay: 0.01, periodSeconds: 1, targetMissRatio: 0.05 });
    const notes: string[] = [];
    const host = { nowSeconds: 0, vms: [t.view], setEstimatedNeedPages: () => {}, note: (x: string) => notes.push(x) } as unknown as HostControl & { nowSeconds: number };
    const period = (pages: number) => {
      feed(t, 10, Array.from({ length: 4000 }, (_, i) => i % pages));
      host.nowSeconds += 1;
      t.tracer.tick(host);
    };
    period(80); // need 80
    period(84); // 5% more: no note
    period(100); // 25% more than 80: a note
    expect(notes.map((n) => n.match(/need is ([\d,]+) pages/)?.[1])).toEqual(["80", "100"]);
  });
});
