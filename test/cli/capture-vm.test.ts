/**
 * `memvirt capture-vm` as a user runs it, against the fake QMP server in this process (so the
 * CLI child is spawned asynchronously: a blocking spawn would stop the server from answering).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { startFakeQemu, type FakeQemu } from "../qemu/qmp-fake-server";
import { cliArgv, removeTempDirs, runCliAsync, tempDir } from "./run-cli";

const PAGE = 4096;
const fakes: FakeQemu[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});
afterAll(removeTempDirs);

/** 40 pages: 10 zero, 20 of one content, 10 unique. */
async function fakeGuest(): Promise<FakeQemu> {
  const m = new Uint8Array(40 * PAGE);
  for (let i = 10; i < 30; i++) m.fill(7, i * PAGE, (i + 1) * PAGE);
  for (let i = 30; i < 40; i++) m[i * PAGE] = i;
  const f = await startFakeQemu({ memory: m });
  fakes.push(f);
  return f;
}

describe("memvirt capture-vm", () => {
  it("writes a snapshot that readSnapshot and `memvirt sharing` read, and a --json summary", async () => {
    const f = await fakeGuest();
    const out = path.join(tempDir("memvirt-capture-vm-"), "guest.mvpages.gz");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out, "--name", "idle-1", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ file: out, name: "idle-1", qmp: f.socketPath, memoryBytes: 40 * PAGE, pages: 40, zeroPages: 10, pageSizeBytes: 4096, keptBytes: false, ranges: [{ name: "pc.ram", startAddress: "0x0", pages: 40 }] });
    expect(data.fileBytes).toBe(fs.statSync(out).size);
    const snap = readSnapshot(out);
    expect(snap).toMatchObject({ pageCount: 40, zeroPages: 10 });
    expect(snap.info.source).toMatchObject({ kind: "guest", memoryBytes: 40 * PAGE });
    const s = await runCliAsync(["sharing", out, "--json"]);
    expect(s.code).toBe(0);
    // 40 pages, 12 distinct contents (zero, the repeated one, 10 unique): 28 savable, all within.
    expect(JSON.parse(s.stdout).overall).toMatchObject({ pages: 40, zeroPages: 10, savablePages: 28, withinPages: 28, acrossPages: 0 });
  });

  it("stores the page bytes with --keep-bytes, equal to the guest's memory", async () => {
    const m = new Uint8Array(8 * PAGE);
    for (let i = 0; i < m.length; i++) m[i] = (i * 7) & 0xff;
    const f = await startFakeQemu({ memory: m });
    fakes.push(f);
    const out = path.join(tempDir("memvirt-capture-vm-"), "kept.mvpages");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out, "--keep-bytes", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).keptBytes).toBe(true);
    expect(Buffer.from(readSnapshot(out).bytes!).equals(Buffer.from(m))).toBe(true);
  });

  it("prints a human summary", async () => {
    const f = await fakeGuest();
    const out = path.join(tempDir("memvirt-capture-vm-"), "guest.mvpages");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^guest at .*qmp\.sock \(QEMU 7\.2\.0 \(fake\)\): 40 pages \(160 KiB\), 10 of them zero pages, in [0-9.]+ s\nguest RAM: pc\.ram at 0x0 \(40 pages\)\nwritten to .*guest\.mvpages \(.*, hashes only\)\n$/);
  });

  it("checks --out before touching the guest: a missing folder is one line, exit 2, and no pmemsave", async () => {
    const f = await fakeGuest();
    const out = path.join(tempDir("memvirt-capture-vm-"), "no", "such", "dir.mvpages");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: --out: .*\n$/);
    expect(f.commands).toEqual([]);
  });

  it("keeps an existing --out file unchanged when QEMU refuses, passing QEMU's text through", async () => {
    const m = new Uint8Array(4 * PAGE);
    const f = await startFakeQemu({ memory: m, errors: { pmemsave: "Could not open '/tmp/x': Permission denied" } });
    fakes.push(f);
    const out = path.join(tempDir("memvirt-capture-vm-"), "old.mvpages");
    fs.writeFileSync(out, "old contents");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`memvirt: error: --qmp: QEMU refused pmemsave: Could not open '/tmp/x': Permission denied (got ${JSON.stringify(f.socketPath)})\n`);
    expect(fs.readFileSync(out, "utf8")).toBe("old contents");
    expect(fs.readdirSync(path.dirname(out))).toEqual(["old.mvpages"]);
  });

  it("pauses the guest by default; --no-pause lets it run and warns that the snapshot is no single instant", async () => {
    const f = await fakeGuest();
    const dir = tempDir("memvirt-capture-vm-");
    const a = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", path.join(dir, "a.mvpages"), "--json"]);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe("");
    expect(f.commands.map((c) => c.execute)).toContain("stop");
    expect(readSnapshot(path.join(dir, "a.mvpages")).info.source).toMatchObject({ paused: true, consistent: true });
    f.commands.length = 0;
    const b = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", path.join(dir, "b.mvpages"), "--no-pause", "--json"]);
    expect(b.code).toBe(0);
    expect(b.stderr).toBe("memvirt: warning: the guest ran during the dump (--no-pause): pages may have changed while they were read, so the snapshot is no single instant\n");
    expect(f.commands.map((c) => c.execute)).not.toContain("stop");
    expect(readSnapshot(path.join(dir, "b.mvpages")).info.source).toMatchObject({ paused: false, consistent: false });
  });

  it("on Ctrl-C during a dump resumes the guest, removes the temp dump and writes no --out: one line, exit 2", async () => {
    const m = new Uint8Array(64 * PAGE);
    const f = await startFakeQemu({ memory: m, delayMs: { pmemsave: 400 } });
    fakes.push(f);
    const out = path.join(tempDir("memvirt-capture-vm-"), "int.mvpages");
    const argv = cliArgv(["capture-vm", "--qmp", f.socketPath, "--out", out, "--chunk", "16KiB"]);
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const until = Date.now() + 30_000;
    while (!f.commands.some((c) => c.execute === "stop") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toMatch(/^memvirt: error: --qmp: capture interrupted; the guest runs as before and no temp dump is left \(got ".*"\)\n$/);
    expect(code).toBe(2);
    expect(f.commands.map((c) => c.execute).at(-1)).toBe("cont");
    expect(f.dumps.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.dirname(f.dumps[0]))).toBe(false);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("refuses --keep-bytes for a guest bigger than half the memory available, in one line naming the flag, before dumping", async () => {
    const f = await startFakeQemu({ memory: new Uint8Array(PAGE), baseMemoryBytes: 2 ** 50 });
    fakes.push(f);
    const out = path.join(tempDir("memvirt-capture-vm-"), "big.mvpages");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out, "--keep-bytes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt: error: --keep-bytes: keeping the bytes of a 1024 TiB guest takes about twice that in memory, more than the .+ available; capture hashes only \(without --keep-bytes\)\n$/);
    expect(f.commands.map((c) => c.execute)).not.toContain("pmemsave");
    expect(fs.existsSync(out)).toBe(false);
  });

  it("warns when other users can reach the guest's QMP socket (QMP reads all guest memory)", async () => {
    const f = await fakeGuest();
    fs.chmodSync(f.socketPath, 0o777);
    fs.chmodSync(path.dirname(f.socketPath), 0o755);
    const out = path.join(tempDir("memvirt-capture-vm-"), "w.mvpages");
    const r = await runCliAsync(["capture-vm", "--qmp", f.socketPath, "--out", out, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`memvirt: warning: other local users can reach this guest's QMP socket ${f.socketPath}: it is writable by every user (mode 0777) in a folder they can enter; QMP reads all guest memory (start QEMU under umask 077, or put the socket in a private folder)\n`);
  });

  it("refuses a --qmp that is not a socket, a missing --qmp or --out, and a bad --chunk, in one line each", async () => {
    const dir = tempDir("memvirt-capture-vm-");
    const plain = path.join(dir, "plain");
    fs.writeFileSync(plain, "");
    const out = path.join(dir, "o.mvpages");
    const cases: Array<[string[], RegExp]> = [
      [["--qmp", plain, "--out", out], /^memvirt: error: --qmp: is not a unix socket \(a regular file\).*\(got ".*plain"\)\n$/],
      [["--qmp", path.join(dir, "gone.sock"), "--out", out], /^memvirt: error: --qmp: no such socket; start QEMU with -qmp unix:PATH,server=on,wait=off \(got ".*gone\.sock"\)\n$/],
      [["--out", out], /^memvirt: error: --qmp: which QEMU\? give --qmp PATH/],
      [["--qmp", plain], /^memvirt: error: --out: where to write the snapshot\?/],
      [["--qmp", plain, "--out", out, "--chunk", "1000B"], /^memvirt: error: --chunk: must be a positive whole number of 4 KiB pages \(got "1000B"\)\n$/],
    ];
    for (const [args, expected] of cases) {
      const r = await runCliAsync(["capture-vm", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(expected);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
