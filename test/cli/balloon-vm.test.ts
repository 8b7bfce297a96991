/**
 * `memvirt balloon-vm` against the fake QMP server in this process (spawned asynchronously so
 * the server can answer).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startFakeQemu, type FakeQemu } from "../qemu/qmp-fake-server";
import { cliArgv, removeTempDirs, runCliAsync, tempDir } from "./run-cli";

const MiB = 2 ** 20;
const fakes: FakeQemu[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});
afterAll(removeTempDirs);

async function fake(): Promise<FakeQemu> {
  const f = await startFakeQemu({ memory: new Uint8Array(256 * MiB) });
  fakes.push(f);
  return f;
}

describe("memvirt balloon-vm", () => {
  it("moves the balloon on the schedule, writes the samples as CSV and compares with the simulator", async () => {
    const f = await fake();
    const out = path.join(tempDir("memvirt-balloon-vm-"), "run.csv");
    const r = await runCliAsync(["balloon-vm", "--qmp", f.socketPath, "--schedule", "0.2:96MiB,0.4:128MiB", "--seconds", "0.5", "--sample", "0.1", "--out", out, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ memoryBytes: 256 * MiB, balloonPath: "/machine/peripheral/balloon0", schedule: [{ atSeconds: 0.2, targetBytes: 96 * MiB }, { atSeconds: 0.4, targetBytes: 128 * MiB }], samples: 6, file: out });
    expect(data.real.map((s: { targetBytes: number }) => s.targetBytes)).toEqual([96 * MiB, 128 * MiB]);
    expect(data.real[0].settleSeconds).toBe(0); // the fake obeys at once
    expect(data.simulated[0].targetBytes).toBe(96 * MiB);
    const lines = fs.readFileSync(out, "utf8").trim().split("\n");
    expect(lines[0]).toBe("t,targetBytes,actualBytes,guestTotalBytes,guestFreeBytes,guestAvailableBytes,guestCacheBytes,swapInBytes,swapOutBytes,majorFaults,minorFaults,statsUpdatedAt");
    expect(lines.length).toBe(7);
    expect(f.commands.filter((c) => c.execute === "balloon").map((c) => c.arguments!.value)).toEqual([96 * MiB, 128 * MiB, 256 * MiB]);
  });

  it("prints real against simulated per step, and writes both tables to JSON", async () => {
    const f = await fake();
    const out = path.join(tempDir("memvirt-balloon-vm-"), "run.json");
    const r = await runCliAsync(["balloon-vm", "--qmp", f.socketPath, "--target", "96MiB", "--seconds", "0.2", "--sample", "0.1", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^guest of 256 MiB: .*\n  at 0\.0 s, 256 MiB → 96 MiB: real 0\.0 s, simulated not reached in the run \(ended at 192 MiB\)\nsamples written to .*run\.json\n$/);
    const json = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(json.memoryBytes).toBe(256 * MiB);
    expect(json.real.length).toBe(4); // before the step, right after it, 0.1 s, 0.2 s
    expect(json.simulated[0]).toHaveProperty("balloonedBytes");
  });

  it("leaves the balloon at the last target with --no-restore", async () => {
    const f = await fake();
    const r = await runCliAsync(["balloon-vm", "--qmp", f.socketPath, "--target", "80MiB", "--seconds", "0.1", "--sample", "0.1", "--no-restore"]);
    expect(r.code).toBe(0);
    expect(f.commands.filter((c) => c.execute === "balloon").map((c) => c.arguments!.value)).toEqual([80 * MiB]);
    expect(f.balloonBytes).toBe(80 * MiB);
  });

  it("refuses bad flags in one line each, before touching the guest", async () => {
    const f = await fake();
    const cases: Array<[string[], RegExp]> = [
      [["--schedule", "1-96MiB"], /^memvirt: error: --schedule: expected SECONDS:SIZE pairs separated by commas, e\.g\. 1:96MiB,8:256MiB; "1-96MiB" is not one \(got "1-96MiB"\)\n$/],
      [["--target", "96MiB", "--schedule", "1:96MiB"], /^memvirt: error: --schedule: give either --target SIZE or --schedule SECONDS:SIZE,…\n$/],
      [[], /^memvirt: error: --target: give either --target SIZE or --schedule/],
      [["--target", "1GiB"], /^memvirt: error: --target: must be between 1 byte and the guest's memory \(268435456 bytes\) \(got "1GiB"\)\n$/],
      [["--target", "96MiB", "--sample", "0"], /^memvirt: error: --sample: expected a positive number of seconds \(got "0"\)\n$/],
      // An absolute path in a temp folder: were the check broken, the file must not land in the checkout.
      [["--target", "96MiB", "--out", path.join(tempDir("memvirt-balloon-vm-"), "x.txt")], /^memvirt: error: --out: must end in \.csv or \.json \(got ".*x\.txt"\)\n$/],
    ];
    for (const [args, expected] of cases) {
      const r = await runCliAsync(["balloon-vm", "--qmp", f.socketPath, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(expected);
    }
    expect(f.commands.map((c) => c.execute)).not.toContain("balloon");
  });
  it("on Ctrl-C puts the balloon back to the guest's full memory: one line, exit 2", async () => {
    const f = await fake();
    const argv = cliArgv(["balloon-vm", "--qmp", f.socketPath, "--target", "96MiB", "--seconds", "60", "--sample", "5"]);
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const until = Date.now() + 30_000;
    while (!f.commands.some((c) => c.execute === "balloon") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toMatch(/^memvirt: error: --qmp: balloon run interrupted; the balloon was put back \(got ".*"\)\n$/);
    expect(code).toBe(2);
    expect(f.commands.filter((c) => c.execute === "balloon").map((c) => c.arguments!.value)).toEqual([96 * MiB, 256 * MiB]);
    expect(f.balloonBytes).toBe(256 * MiB);
  });
});
