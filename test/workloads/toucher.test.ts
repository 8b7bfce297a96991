import { describe, expect, it } from "vitest";
import { Rng, ToucherWorkload } from "../../src";
import { take } from "./helpers";

describe("ToucherWorkload", () => {
  it("touches uniformly within its working set, and follows a resize at run time", () => {
    const w = new ToucherWorkload({ workingSetPages: 100 }, new Rng(1));
    const first = take(w, 10_000).pages;
    expect(new Set(first).size).toBe(100);
    expect(Math.max(...first)).toBe(99);

    w.setWorkingSetPages(10);
    expect(w.workingSetPages).toBe(10);
    const second = take(w, 10_000).pages;
    expect(new Set(second).size).toBe(10);
    expect(Math.max(...second)).toBe(9);

    w.setWorkingSetPages("1 MiB");
    const third = take(w, 10_000).pages;
    expect(Math.max(...third)).toBe(255);
    expect(w.name).toBe("toucher over a 256-page working set");
  });

  it("rejects an empty working set", () => {
    const w = new ToucherWorkload({ workingSetPages: 5 }, new Rng(1));
    expect(() => w.setWorkingSetPages(0)).toThrow("toucher.workingSetPages: must be at least 1 page (got 0)");
  });
});
