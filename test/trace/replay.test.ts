import { describe, expect, it } from "vitest";
import { FETCH, parseLackeyBuffer, READ, renumberPages, replayWorkload, WRITE } from "../../src";
import { take } from "../workloads/helpers";

const trace = parseLackeyBuffer("I  0400d7d4,8\n L 7ff0005b8,8\n M 0400e000,4\n S 7ff000000,8\n", "t.lackey");

describe("TraceReplayWorkload", () => {
  it("replays the records in order, then ends", () => {
    const w = replayWorkload(trace);
    const out = take(w, 100, 3);
    expect(out.pages).toEqual([0x400d, 0x7ff000, 0x400e, 0x7ff000]);
    expect(out.kinds).toEqual([FETCH, READ, WRITE, WRITE]);
    expect(w.fill(new Float64Array(2), new Uint8Array(2))).toBe(0);
  });

  it("without loop, ends with the trace even when more accesses are asked for", () => {
    const w = replayWorkload(trace, { accesses: 10 });
    expect(take(w, 100, 3).pages).toEqual([0x400d, 0x7ff000, 0x400e, 0x7ff000]);
    expect(w.produced).toBe(4);
    expect(w.name).toBe("lackey trace t.lackey (4 records, 3 pages), 10 accesses");
  });

  it("rejects a bad access count and a loop over an empty trace, naming them", () => {
    expect(() => replayWorkload(trace, { accesses: -1 })).toThrow(/^trace\.accesses: must be a whole number of at least 0 \(got -1\)$/);
    expect(() => replayWorkload(trace, { accesses: 2.5 })).toThrow(/trace\.accesses/);
    const empty = { ...trace, fileName: "e.lackey", pages: new Float64Array(0), kinds: new Uint8Array(0) };
    expect(() => replayWorkload(empty, { loop: true })).toThrow(/e\.lackey: cannot loop over a trace with no records/);
  });

  it("loop restarts at the first record; accesses bounds the length", () => {
    const w = replayWorkload(trace, { loop: true, accesses: 10 });
    expect(take(w, 100, 3).pages).toEqual([0x400d, 0x7ff000, 0x400e, 0x7ff000, 0x400d, 0x7ff000, 0x400e, 0x7ff000, 0x400d, 0x7ff000]);
    expect(w.name).toBe("lackey trace t.lackey (4 records, 3 pages), looped, 10 accesses");
  });

  it("renumber maps pages densely in first-touch order; basePage shifts them", () => {
    const w = replayWorkload(trace, { renumber: true, basePage: 100 });
    expect(take(w, 100).pages).toEqual([100, 101, 102, 101]);
    expect(w.distinctPages).toBe(3);
    expect(w.name).toBe("lackey trace t.lackey (4 records, 3 pages), renumbered, from page 100");
    expect(renumberPages(new Float64Array([5, 5, 9])).distinctPages).toBe(2);
  });

  it("replays each page of a record that crosses a page boundary, and names both counts", () => {
    const w = replayWorkload(parseLackeyBuffer(" L 1ffc,8\nI  3000,4\n", "x.lackey"));
    expect(take(w, 100).pages).toEqual([1, 2, 3]);
    expect(w.name).toBe("lackey trace x.lackey (2 records, 3 accesses, 3 pages)");
  });

  it("does not change the loaded trace", () => {
    replayWorkload(trace, { basePage: 7 });
    expect(trace.pages[0]).toBe(0x400d);
  });
});
