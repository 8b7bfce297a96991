import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { missRatioCurve } from "../../src/analysis/miss-ratio-curve";
import { ExclusiveCacheTracer } from "../../src/policy/exclusive-cache-tracer";
import { resolveTracing } from "../../src/host/host-config";
import type { HostControl, VmView } from "../../src/host/host-policy";

/** A host as the tracer sees it: one VM of v direct pages, with notes and published needs kept. */
function fakeHost(v: number, capacityPages = 0) {
  const view = { index: 0, name: "vm", memoryPages: v, directPages: v, accesses: 0, cacheCapacityPages: capacityPages } as unknown as VmView & { accesses: number };
  const needs: Array<number | null> = [];
  const notes: string[] = [];
  const host = {
    nowSeconds: 0,
    vms: [view],
    setEstimatedNeedPages: (_vm: number, pages: number | null) => needs.push(pages),
    note: (text: string) => notes.push(text),
  } as unknown as HostControl & { nowSeconds: number };
  return { host, view, needs, notes };
}

function tracerFor(options: Record<string, unknown>): ExclusiveCacheTracer {
  const tracer = new ExclusiveCacheTracer();
  tracer.traceVm(0, resolveTracing({ exclusiveCache: options }, "tracing")!);
  return tracer;
}

/**
 * An exact-LRU VM of v pages in front of the tracer: a plain array, most recent first. A miss
 * probes (before the eviction that makes room, as the guest does), an eviction puts.
 */
function feedExactLru(tracer: ExclusiveCacheTracer, host: HostControl, view: { accesses: number }, v: number, trace: readonly number[]): void {
  const lru: number[] = [];
  for (const page of trace) {
    view.accesses++;
    const at = lru.indexOf(page);
    if (at >= 0) {
      lru.splice(at, 1);
      lru.unshift(page);
      continue;
    }
    tracer.onCacheEvent(host, 0, page, "probe-miss");
    if (lru.length === v) tracer.onCacheEvent(host, 0, lru.pop()!, "put");
    lru.unshift(page);
  }
}

describe("ExclusiveCacheTracer", () => {
  it("sees exactly the exact LRU curve at every size ≥ v on the events of an exact-LRU VM of v pages", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 300 }),
      (v, trace) => {
        const tracer = tracerFor({ size: 8, ghosts: 64, decay: 1 });
        const { host, view } = fakeHost(v);
        feedExactLru(tracer, host, view, v, trace);
        const end = tracer.maxSizePages(0);
        expect(end).toBe(v + 8 + 64);
        const sizes = Array.from({ length: end - v + 1 }, (_, i) => v + i);
        const seen = tracer.curve(0, sizes);
        const exact = missRatioCurve(trace, { method: "exact", sizes });
        expect(Array.from(seen.array("missRatio") as ArrayLike<number>)).toEqual(Array.from(exact.array("missRatio") as ArrayLike<number>));
      },
    ));
  });

  it("refuses sizes below v with a one-line error saying the hypervisor is blind there, and sizes past the tracked range", () => {
    const tracer = tracerFor({ size: 4, ghosts: 4, decay: 1 });
    const { host, view } = fakeHost(10);
    feedExactLru(tracer, host, view, 10, [1, 2, 3, 1, 2, 3]);
    expect(() => tracer.curve(0, [12, 9])).toThrow(/^sizes\[1\]: is below v = 10 pages.*blind below v.*\(got 9\)$/);
    expect(() => tracer.curve(0, [19])).toThrow(/^sizes\[0\]: is beyond v \+ tracked pages = 18/);
    expect(tracer.curve(0).array("sizePages")[0]).toBe(10);
  });

  it("drops the deepest keys beyond capacity + ghosts, so a probe of one counts as a miss at every size", () => {
    const tracer = tracerFor({ size: 1, ghosts: 1, decay: 1 });
    const { host, view } = fakeHost(1);
    // Pages 0..3 in turn, then 0 again: its depth 4 is beyond v + 2 = 3.
    feedExactLru(tracer, host, view, 1, [0, 1, 2, 3, 0, 3]);
    const ratios = tracer.curve(0, [1, 2, 3]).array("missRatio") as ArrayLike<number>;
    // Misses: 4 cold + page 0 (untracked) at every size; page 3 (depth 2) misses at size 1 only.
    expect(Array.from(ratios)).toEqual([6 / 6, 5 / 6, 5 / 6]);
  });

  it("holds at most capacity + ghosts keys, however many pages the VM evicts", () => {
    const tracer = tracerFor({ size: 100, ghosts: 50 });
    const { host, view } = fakeHost(10);
    feedExactLru(tracer, host, view, 10, Array.from({ length: 5000 }, (_, i) => i % 1000));
    expect(tracer.eventsSeen(0).puts).toBe(5000 - 10);
    expect(tracer.trackedKeys(0)).toBe(150);
  });

  it("estimates the need as the smallest size meeting the target, 'at most v' when v already meets it, 'more than' past the range", () => {
    // A loop over 30 pages: misses at every size below 30, hits (after the first pass) from 30 up.
    const loop = Array.from({ length: 3000 }, (_, i) => i % 30);
    const run = (v: number, size: number) => {
      const tracer = tracerFor({ size, ghosts: 0, decay: 1, targetMissRatio: 0.05 });
      const { host, view } = fakeHost(v);
      feedExactLru(tracer, host, view, v, loop);
      return tracer.estimate(0)!;
    };
    expect(run(20, 20)).toMatchObject({ needPages: 30, bound: "exact", directPages: 20 });
    expect(run(40, 8)).toMatchObject({ needPages: 40, bound: "at-most" });
    expect(run(10, 8)).toMatchObject({ needPages: 18, bound: "more-than" });
  });

  it("finds the knee: the end of the last window whose slope is at least a fraction of the average", () => {
    const loop = Array.from({ length: 3000 }, (_, i) => i % 30);
    const tracer = tracerFor({ size: 40, ghosts: 24, decay: 1, need: "knee" });
    const { host, view } = fakeHost(10);
    feedExactLru(tracer, host, view, 10, loop);
    // The cliff is at 30 pages; the range is [10, 74], windows of 1 page.
    expect(tracer.estimate(0)).toMatchObject({ needPages: 30, bound: "exact", rule: "knee" });
  });

  it("ages its counts every period, so after a phase change the need follows the new working set", () => {
    const tracer = tracerFor({ size: 64, ghosts: 64, decay: 0.5, periodSeconds: 1, targetMissRatio: 0.05 });
    const { host, view, needs } = fakeHost(10);
    const phase = (pages: number, seconds: number) => {
      for (let s = 0; s < seconds; s++) {
        feedExactLru(tracer, host, view, 10, Array.from({ length: 2000 }, (_, i) => i % pages));
        (host as { nowSeconds: number }).nowSeconds += 1;
        tracer.tick(host);
      }
    };
    phase(80, 5);
    expect(needs[needs.length - 1]).toBe(80);
    phase(30, 10);
    expect(needs[needs.length - 1]).toBe(30);
  });

  it("with decay 1, never forgets: the same phase change leaves the old working set in the curve", () => {
    const tracer = tracerFor({ size: 64, ghosts: 64, decay: 1, periodSeconds: 1, targetMissRatio: 0.05 });
    const { host, view, needs } = fakeHost(10);
    for (const pages of [80, 80, 30, 30]) {
      feedExactLru(tracer, host, view, 10, Array.from({ length: 2000 }, (_, i) => i % pages));
      (host as { nowSeconds: number }).nowSeconds += 1;
      tracer.tick(host);
    }
    expect(needs[needs.length - 1]).toBe(80);
  });

  it("refuses a curve before any access instead of a table of zeros (0/0 is not 'no misses'), and has no estimate", () => {
    const tracer = tracerFor({ size: 8 });
    const { host } = fakeHost(10);
    tracer.tick(host);
    expect(() => tracer.curve(0)).toThrow(/^vm: VM vm has made no accesses in the tracer's window yet, so there is no miss-ratio curve/);
    expect(() => tracer.freeze(0).curve()).toThrow(/no accesses/);
    expect(tracer.estimate(0)).toBeNull();
  });

  it("after a balloon shrinks v, starts the curve at the v its counts were gathered with, until decay forgets them", () => {
    // A loop over 15 pages in a VM of v = 20: every access after the first pass hits VM memory,
    // where the hypervisor sees no depth. At size 10 the true miss ratio is 1, not the cold 15/N.
    const tracer = tracerFor({ size: 8, ghosts: 8, decay: 0.5, periodSeconds: 1 });
    const { host, view } = fakeHost(20);
    const loop = Array.from({ length: 1500 }, (_, i) => i % 15);
    feedExactLru(tracer, host, view, 20, loop);
    tracer.tick(host);
    (view as { directPages: number }).directPages = 10; // the balloon takes 10 pages
    expect(() => tracer.curve(0, [10])).toThrow(/^sizes\[0\]: is below 20 pages, the VM's direct memory earlier in the tracer's window \(v is 10 now/);
    expect(tracer.curve(0).array("sizePages")[0]).toBe(20);
    expect(tracer.estimate(0)).toMatchObject({ needPages: 20, bound: "at-most", directPages: 10 });
    expect(tracer.freeze(0)).toMatchObject({ directPages: 10, startPages: 20 });
    // The allocation's marginal misses below the start are those at the start, never a made-up drop.
    expect(tracer.missesAt(0, 10)).toBe(tracer.missesAt(0, 20));
    // decay 0.5: counts aged 10 times weigh 0.5^10 < 0.1%, 9 times still more. The last period
    // at v = 20 ended at t = 1 (v was 20 when it began), so it is forgotten at t = 10, not t = 9.
    for (let s = 1; s <= 9; s++) {
      (host as { nowSeconds: number }).nowSeconds = s;
      tracer.tick(host);
    }
    expect(tracer.curve(0).array("sizePages")[0]).toBe(20);
    (host as { nowSeconds: number }).nowSeconds = 10;
    tracer.tick(host);
    expect(tracer.curve(0).array("sizePages")[0]).toBe(10);
  });

  it("with decay 1, the curve starts at the largest v of the whole run", () => {
    const tracer = tracerFor({ size: 8, ghosts: 8, decay: 1, periodSeconds: 1 });
    const { host, view } = fakeHost(20);
    feedExactLru(tracer, host, view, 20, [1, 2, 3, 1, 2, 3]);
    tracer.tick(host);
    (view as { directPages: number }).directPages = 12;
    for (let s = 1; s <= 50; s++) {
      (host as { nowSeconds: number }).nowSeconds = s;
      tracer.tick(host);
    }
    expect(tracer.curve(0).array("sizePages")[0]).toBe(20);
  });

  it("says what a 'more than' estimate cannot tell (misses of unknown depth), and when an estimate rests on few accesses", () => {
    const tracer = tracerFor({ size: 8, ghosts: 8, decay: 1, targetMissRatio: 0.05 });
    const { host, view, notes } = fakeHost(10);
    // Every access is a first read: a miss at every size.
    feedExactLru(tracer, host, view, 10, Array.from({ length: 200 }, (_, i) => i));
    tracer.tick(host);
    expect(tracer.estimate(0)).toMatchObject({ bound: "more-than", floorMissRatio: 1, windowAccesses: 200 });
    expect(notes[0]).toMatch(/^vm: by the hypervisor's curve, its memory need is more than 26 pages .*; misses of unknown depth \(first reads, and pages evicted deeper than the tracer sees\) give 1\.000 at every size, so more ghosts would show how much more, if any size helps; from only 200 accesses, so a rough figure$/);
  });

  it("does not flag an estimate from many accesses as rough, nor an at-most one as unreachable", () => {
    const tracer = tracerFor({ size: 8, ghosts: 8, decay: 1, targetMissRatio: 0.05 });
    const { host, view, notes } = fakeHost(40);
    feedExactLru(tracer, host, view, 40, Array.from({ length: 3000 }, (_, i) => i % 30));
    tracer.tick(host);
    expect(notes[0]).toMatch(/^vm: by the hypervisor's curve, its memory need is at most 40 pages .*\(miss ratio 0\.010\)$/);
  });

  it("names each VM's own period for explain (it ticks every quantum only to check them), and prints in a few lines", () => {
    const tracer = new ExclusiveCacheTracer();
    expect(tracer.describePeriod()).toBe("every 0.01 s");
    tracer.traceVm(0, resolveTracing({ exclusiveCache: { size: 8 } }, "tracing")!);
    expect(tracer.describePeriod()).toBe("every 1 s");
    tracer.traceVm(1, resolveTracing({ exclusiveCache: { size: 8, periodSeconds: 0.5 } }, "tracing")!);
    expect(tracer.describePeriod()).toBe("every 1 s (VM 0), 0.5 s (VM 1)");
    const { host, view } = fakeHost(10);
    feedExactLru(tracer, host, view, 10, Array.from({ length: 100 }, (_, i) => i % 20));
    const text = inspect(tracer);
    expect(text.split("\n")).toHaveLength(3);
    expect(text).toMatch(/^ExclusiveCacheTracer \(every 1 s \(vm\), 0\.5 s \(VM 1\)\): 2 VMs traced\n  vm: [\d,]+ puts, [\d,]+ probes seen, [\d,]+ keys on the stack; need /);
  });
});
