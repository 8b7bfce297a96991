import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Mmu, type MmuOptions } from "../../src/virt/mmu";
import type { Stc } from "../../src/mmu/stc";

/**
 * Nested mode with an STC takes a lean walker when no walk is being recorded (`accessPage`,
 * `run`) and the general one when it is (`access`). Both must do the same thing, step for step:
 * the same translations, counters, cache hits and cache contents.
 */
describe("nested STC fast path", () => {
  const shapes: MmuOptions[] = [
    { pwc: "stc", nestedTlb: true },
    { pwc: "stc" },
    { pwc: { design: "stc", entries: [4] }, nestedTlb: { entries: 4 } },
    { pwc: { design: "stc", entries: [8, 2], ways: [2, 2] }, guestPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", nestedTlb: true, guestPageSize: "2M", hostPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", guestLevels: 5, hostLevels: 5, hostPageSize: "2M", guestMemory: "256 MiB" },
    { pwc: "stc", nestedTlb: true, guestPageSize: "1G", guestMemory: "2 GiB" },
  ];
  for (const shape of shapes) {
    it(`takes the same steps as the recorded walk (${JSON.stringify(shape)})`, () => {
      fc.assert(fc.property(
        fc.array(fc.record({ page: fc.integer({ min: 0, max: 1 << 19 }), far: fc.boolean(), write: fc.boolean() }), { minLength: 20, maxLength: 200 }),
        (accesses) => {
          const options: MmuOptions = { mode: "nested", tlb: { entries: 4, ways: 2 }, guestMemory: "64 MiB", ...shape };
          const fast = new Mmu(options);
          const recorded = new Mmu(options);
          for (const a of accesses) {
            const page = (a.far ? 0x7f0000000 : 0x10000) + a.page;
            const frame = fast.accessPage(page, a.write ? 1 : 0);
            const r = recorded.access(page * 4096, a.write ? "write" : "read");
            if (frame * 4096 !== r.machineAddress) return false;
          }
          expect(fast.counts()).toEqual(recorded.counts());
          const [a, b] = [fast.pwc as Stc, recorded.pwc as Stc];
          expect([a.hits, a.misses]).toEqual([b.hits, b.misses]);
          for (let d = 0; d < 2; d++) {
            a.caches[d].forEach((cache, i) => expect([cache.hits, cache.misses, cache.occupancy()]).toEqual([b.caches[d][i].hits, b.caches[d][i].misses, b.caches[d][i].occupancy()]));
          }
          return true;
        },
      ), { numRuns: shape.guestPageSize === "1G" ? 5 : 25 });
    });
  }
});
