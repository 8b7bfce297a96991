import { describe, expect, it } from "vitest";
import { resolveTracing } from "../../src/host/host-config";

const where = "vms[0].tracing";

describe("tracing.exclusiveCache options", () => {
  it("takes decay in (0, 1]: 1 keeps every count, above 1 is refused naming the path", () => {
    expect(resolveTracing({ exclusiveCache: { size: 8, decay: 1 } }, where)!.decay).toBe(1);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, decay: 1.5 } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.decay: must be a number in \(0, 1\] \(1: never forget\) \(got 1\.5\)$/);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, decay: "0.5" } }, where)).toThrow(/exclusiveCache\.decay: must be a number in \(0, 1\]/);
  });

  it("refuses wrong types and unknown keys with one line naming the JSON path", () => {
    expect(() => resolveTracing({ exclusiveCache: { size: 8, need: "max" } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.need: must be "target"/);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, ghosts: 1.5 } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.ghosts: size must be a whole number/);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, periodSeconds: Number.NaN } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.periodSeconds: must be a positive number/);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, targetMissRatio: Number.NaN } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.targetMissRatio: must be a number strictly between 0 and 1/);
    expect(() => resolveTracing({ exclusiveCache: { size: 8, need: "knee", targetMissRatio: 0.1 } }, where)).toThrow(/targetMissRatio: applies to "need": "target" only/);
    expect(() => resolveTracing({ exclusiveCache: { sizes: 8 } }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache\.sizes: unknown field/);
    expect(() => resolveTracing({ exclusive: {} }, where)).toThrow(/^vms\[0\]\.tracing\.exclusive: unknown field/);
    expect(() => resolveTracing({ exclusiveCache: 8 }, where)).toThrow(/^vms\[0\]\.tracing\.exclusiveCache: must be an object/);
    for (const msg of [() => resolveTracing({ exclusiveCache: { size: 8, decay: 2 } }, where)]) expect(msg).toThrow(/^[^\n]+$/);
  });
});
