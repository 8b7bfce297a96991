import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { QmpClient, qmpSocketExposure, withQmp } from "../../src/qemu/qmp-client";
import { MemvirtError } from "../../src/util/errors";
import { guestMemory, startFakeQemu, type FakeQemu, rejection } from "./qmp-fake-server";
import { hasQemu, leftoverQemuPids, startQemu, stopAllQemu } from "./qmp-real-qemu";

const fakes: FakeQemu[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
  await stopAllQemu();
});
afterAll(async () => {
  await stopAllQemu();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  expect(leftoverQemuPids("memvirt-qemu-test-")).toEqual([]);
});

async function fake(options: Partial<Parameters<typeof startFakeQemu>[0]> = {}): Promise<FakeQemu> {
  const f = await startFakeQemu({ memory: guestMemory(16, (i) => i % 3), ...options });
  fakes.push(f);
  return f;
}

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-qmp-test-"));
  dirs.push(d);
  return d;
}

describe("QmpClient", () => {
  it("reads the greeting, leaves capabilities negotiation and returns each command's `return`", async () => {
    const f = await fake();
    const qmp = await QmpClient.connect(f.socketPath);
    try {
      expect(qmp.version).toMatchObject({ major: 7, minor: 2, package: "fake" });
      expect(await qmp.execute("query-memory-size-summary")).toEqual({ "base-memory": 16 * 4096, "plugged-memory": 0 });
      expect(await qmp.execute("balloon", { value: 8192 })).toEqual({});
      expect(await qmp.execute("query-balloon")).toEqual({ actual: 8192 });
      expect(f.commands.map((c) => c.execute)).toEqual(["qmp_capabilities", "query-memory-size-summary", "balloon", "query-balloon"]);
      expect(f.commands[2].arguments).toEqual({ value: 8192 });
    } finally {
      qmp.close();
    }
  });

  it("turns QEMU's error into one line naming the socket, the command and QEMU's description", async () => {
    const f = await fake({ errors: { pmemsave: "Could not open '/nope/x': No such file or directory" } });
    const err = await rejection(withQmp(f.socketPath, (q) => q.execute("pmemsave", { val: 0, size: 4096, filename: "/nope/x" })));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toBe(`--qmp: QEMU refused pmemsave: Could not open '/nope/x': No such file or directory (got ${JSON.stringify(f.socketPath)})`);
    expect(err.message).not.toContain("\n");
  });

  it("collects asynchronous events apart from answers", async () => {
    const f = await fake();
    await withQmp(f.socketPath, async (q) => {
      f.sendEvent("BALLOON_CHANGE", { actual: 4096 });
      expect(await q.execute("query-balloon")).toEqual({ actual: 16 * 4096 });
      expect(q.events.map((e) => e.event)).toEqual(["BALLOON_CHANGE"]);
      expect(q.takeEvents()[0].data).toEqual({ actual: 4096 });
      expect(q.events).toEqual([]);
    });
  });

  it("refuses a path that is missing, a regular file or a directory, naming it", async () => {
    const d = tmp();
    const file = path.join(d, "plain");
    fs.writeFileSync(file, "x");
    const missing = path.join(d, "missing.sock");
    expect((await rejection(QmpClient.connect(missing))).message).toBe(`--qmp: no such socket; start QEMU with -qmp unix:PATH,server=on,wait=off (got ${JSON.stringify(missing)})`);
    expect((await rejection(QmpClient.connect(file))).message).toMatch(new RegExp(`^--qmp: is not a unix socket \\(a regular file\\).*\\(got ${JSON.stringify(file).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\)$`));
    expect((await rejection(QmpClient.connect(d, { where: "qmpPath" }))).message).toMatch(/^qmpPath: is not a unix socket \(a directory\)/);
  });

  it("says nothing is listening on a stale socket (its process died)", async () => {
    const sock = path.join(tmp(), "stale.sock");
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(sock)}, () => console.log("up"))`], { stdio: ["ignore", "pipe", "ignore"] });
    await new Promise((r) => child.stdout!.once("data", r));
    child.kill("SIGKILL"); // dies without unlinking its socket
    await new Promise((r) => child.once("exit", r));
    expect(fs.statSync(sock).isSocket()).toBe(true);
    const err = await rejection(QmpClient.connect(sock));
    expect(err.message).toBe(`--qmp: nothing is listening on the socket (QEMU has exited, or the socket is stale) (got ${JSON.stringify(sock)})`);
  });

  it("times out, naming the path, when no greeting comes", async () => {
    const f = await fake({ silent: true });
    const t0 = Date.now();
    const err = await rejection(QmpClient.connect(f.socketPath, { timeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(/^--qmp: no QMP greeting within 0.3 s .*\(got ".*qmp\.sock"\)$/);
  });

  it("rejects a waiting command when the connection closes under it", async () => {
    const f = await fake({ silent: false });
    const qmp = await QmpClient.connect(f.socketPath);
    const pending = qmp.execute("no-such-command-ever", undefined, { timeoutMs: 5000 });
    qmp.close();
    expect((await rejection(pending)).message).toMatch(/^--qmp: the QMP connection closed during no-such-command-ever/);
    expect((await rejection(qmp.execute("query-status"))).message).toMatch(/^--qmp: cannot run query-status: the QMP connection is closed/);
  });

  it("skips lines that are not JSON and answers the commands after them", async () => {
    const f = await fake({ afterGreeting: "garbage\r\n{not json\r\n[1,2]\r\n" });
    const status = await withQmp(f.socketPath, (qmp) => qmp.execute("query-status"));
    expect(status).toMatchObject({ running: true });
  });

  it("drops a peer that sends an endless line, in one line naming the command it waited for", async () => {
    const f = await fake({ afterGreeting: "x".repeat(5000) });
    const err = await rejection(QmpClient.connect(f.socketPath, { maxLineBytes: 1000 }));
    expect(err).toBeInstanceOf(MemvirtError);
    expect(err.message).toMatch(/^--qmp: (cannot run qmp_capabilities: )?the socket sent a line of more than 1000 bytes, which no QMP answer is( \(during qmp_capabilities\))? \(got ".*qmp\.sock"\)$/);
  });

  it("refuses a socket whose first 64 KiB hold no line (not QMP) at once, not after the timeout", async () => {
    const f = await fake({ silent: true, afterGreeting: "y".repeat(70_000) });
    const t0 = Date.now();
    const err = await rejection(QmpClient.connect(f.socketPath, { timeoutMs: 20_000 }));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err.message).toMatch(/^--qmp: the socket does not speak QMP \(no greeting line\) \(got ".*qmp\.sock"\)$/);
  });

  it("gives up on an answer that does not come in time, naming the command", async () => {
    const f = await fake({ delayMs: { "query-status": 2000 } });
    const qmp = await QmpClient.connect(f.socketPath);
    try {
      const t0 = Date.now();
      const err = await rejection(qmp.execute("query-status", undefined, { timeoutMs: 200 }));
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(err.message).toMatch(/^--qmp: QEMU did not answer query-status within 0.2 s \(got ".*qmp\.sock"\)$/);
    } finally {
      qmp.close();
    }
  });

  it("puts QEMU's error of several lines on one line", async () => {
    const f = await fake({ errors: { "query-status": "first line\n  second line" } });
    const err = await rejection(withQmp(f.socketPath, (qmp) => qmp.execute("query-status")));
    expect(err.message).toMatch(/^--qmp: QEMU refused query-status: first line second line \(got/);
  });

  it("says when other users can reach a QMP socket (writable, in a folder they can enter), and not when its folder is private", async () => {
    const f = await fake();
    const dir = path.dirname(f.socketPath);
    fs.chmodSync(f.socketPath, 0o775);
    fs.chmodSync(dir, 0o700);
    expect(qmpSocketExposure(f.socketPath)).toBeUndefined();
    fs.chmodSync(dir, 0o755);
    expect(qmpSocketExposure(f.socketPath)).toBe("it is writable by its group (mode 0775) in a folder the group can enter");
    fs.chmodSync(f.socketPath, 0o777);
    expect(qmpSocketExposure(f.socketPath)).toBe("it is writable by every user (mode 0777) in a folder they can enter");
    fs.chmodSync(f.socketPath, 0o755);
    expect(qmpSocketExposure(f.socketPath)).toBeUndefined();
    expect(qmpSocketExposure(path.join(dir, "missing.sock"))).toBeUndefined();
  });

  it.skipIf(!hasQemu)(`talks to a real QEMU: version, memory size and its own error text${hasQemu ? "" : " (skipped: no qemu-system-x86_64)"}`, async () => {
    const q = await startQemu({ memory: "64M" });
    await withQmp(q.socketPath, async (qmp) => {
      expect(qmp.version.major).toBeGreaterThanOrEqual(7);
      expect(await qmp.execute("query-memory-size-summary")).toMatchObject({ "base-memory": 64 * 2 ** 20 });
      const err = await rejection(qmp.execute("query-balloon"));
      expect(err.message).toMatch(/^--qmp: QEMU refused query-balloon: No balloon device has been activated \(got/);
    });
  });
});
