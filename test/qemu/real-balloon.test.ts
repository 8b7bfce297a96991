/**
 * recordRealBalloon gives the guest its memory back however the run ends: a QMP error in the
 * middle, an abort (Ctrl-C in the CLI), or the end of the run (unless asked not to). Against
 * the fake QMP server.
 */
import { afterEach, describe, expect, it } from "vitest";
import { recordRealBalloon } from "../../src/qemu/real-balloon";
import { MemvirtError } from "../../src/util/errors";
import { startFakeQemu, type FakeQemu, rejection } from "./qmp-fake-server";

const MiB = 2 ** 20;
const fakes: FakeQemu[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function fake(options: Partial<Parameters<typeof startFakeQemu>[0]> = {}): Promise<FakeQemu> {
  const f = await startFakeQemu({ memory: new Uint8Array(256 * MiB), ...options });
  fakes.push(f);
  return f;
}

const balloonValues = (f: FakeQemu) => f.commands.filter((c) => c.execute === "balloon").map((c) => c.arguments!.value);

describe("recordRealBalloon puts the balloon back", () => {
  it("when QEMU fails a command in the middle of the run", async () => {
    const f = await fake({ failAfter: { command: "qom-get", after: 1, desc: "guest-stats: boom" } });
    const err = await rejection(recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "96MiB" }], durationSeconds: 0.2, sampleSeconds: 0.1 }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(/QEMU refused qom-get: guest-stats: boom/);
    expect(balloonValues(f)).toEqual([96 * MiB, 256 * MiB]);
    expect(f.balloonBytes).toBe(256 * MiB);
  });

  it("when aborted: stops within a sample, puts the balloon back and says so in one line", async () => {
    const f = await fake();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const t0 = Date.now();
    const err = await rejection(recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "96MiB" }], durationSeconds: 30, sampleSeconds: 5, signal: abort.signal }));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err.message).toMatch(/^--qmp: balloon run interrupted; the balloon was put back \(got ".*"\)$/);
    expect(balloonValues(f)).toEqual([96 * MiB, 256 * MiB]);
    expect(f.balloonBytes).toBe(256 * MiB);
  });

  it("when aborted while QEMU is answering a sample, does not then sleep until the next one", async () => {
    // query-balloon takes 0.8 s: the check, the first target, row 0 end by 2.4 s; the step's
    // sample runs from 2.4 to 3.2 s, and the next is due at 20 s.
    const f = await fake({ delayMs: { "query-balloon": 800 } });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 2800);
    const t0 = Date.now();
    const err = await rejection(recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "96MiB" }], durationSeconds: 60, sampleSeconds: 20, signal: abort.signal }));
    expect(err.message).toMatch(/balloon run interrupted/);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(f.balloonBytes).toBe(256 * MiB);
  });

  it("not with restore false: the balloon stays at its last target even when the run fails", async () => {
    const f = await fake({ failAfter: { command: "qom-get", after: 1, desc: "boom" } });
    await expect(recordRealBalloon({ qmpPath: f.socketPath, schedule: [{ atSeconds: 0, target: "96MiB" }], durationSeconds: 0.2, sampleSeconds: 0.1, restore: false })).rejects.toThrow(/boom/);
    expect(balloonValues(f)).toEqual([96 * MiB]);
  });

  it("refuses to start when already aborted, before connecting", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(recordRealBalloon({ qmpPath: "/nonexistent", schedule: [{ atSeconds: 0, target: "96MiB" }], signal: abort.signal })).rejects.toThrow(/^--qmp: balloon run interrupted/);
  });
});
