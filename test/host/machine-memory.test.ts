import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { MachineMemory } from "../../src/host/machine-memory";
import { SwapDevice } from "../../src/host/swap-device";

describe("MachineMemory", () => {
  it("hands out frames 0, 1, 2 ... and returns -1 when empty", () => {
    const m = new MachineMemory(3);
    expect([m.allocate(), m.allocate(), m.allocate(), m.allocate()]).toEqual([0, 1, 2, -1]);
    expect(m.freePages).toBe(0);
    m.release(1);
    expect(m.allocate()).toBe(1);
  });

  it("conserves frames: free + used = total under any sequence of allocations and releases", () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (ops) => {
      const m = new MachineMemory(50);
      const held: number[] = [];
      for (const alloc of ops) {
        if (alloc) { const f = m.allocate(); if (f >= 0) held.push(f); else expect(held.length).toBe(50); }
        else if (held.length) m.release(held.pop()!);
        expect(m.freePages + m.usedPages).toBe(50);
        expect(m.usedPages).toBe(held.length);
        expect(new Set(held).size).toBe(held.length);
      }
    }));
  });

  it("rejects a zero-page machine", () => {
    expect(() => new MachineMemory(0)).toThrow(/host.memory/);
  });
});

describe("SwapDevice", () => {
  it("refuses a slot when full and counts occupancy", () => {
    const s = new SwapDevice(2);
    expect(s.allocate()).toBe(true);
    expect(s.allocate()).toBe(true);
    expect(s.allocate()).toBe(false);
    s.free();
    expect(s.usedPages).toBe(1);
    expect(s.freePages).toBe(1);
  });
});
