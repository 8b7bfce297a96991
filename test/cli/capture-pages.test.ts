/**
 * `memvirt capture-pages` on a real process the test starts itself: a Node child that fills
 * pages with known contents (many identical pages and many zero pages) and prints "ready".
 * Reading another process's memory needs root, so these tests are skipped (visibly) otherwise.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readSnapshot } from "../../src/contents/snapshot-file";
import { XXH64_HASHER } from "../../src/contents/page-hash";
import { cliArgv, removeTempDirs, runCli, tempDir } from "./run-cli";

afterAll(removeTempDirs);

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync("sh", ["-c", "command -v setpriv"]).status === 0;
/** Say why in the test's name when it is skipped. */
const skipNote = (runs: boolean, why: string) => (runs ? "" : ` (skipped: ${why})`);
const IDENTICAL = 64;
const ZERO = 48;
/** 16 bytes that tile a page: every whole page inside the buffer holds the same bytes. */
const PATTERN = "memvirt:pg-test!";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A child holding IDENTICAL pages of PATTERN and ZERO resident zero pages (written, then zeroed). */
async function startFiller(): Promise<ChildProcess> {
  const script = `
    const same = Buffer.allocUnsafeSlow(${IDENTICAL} * 4096).fill(${JSON.stringify(PATTERN)});
    const zero = Buffer.allocUnsafeSlow(${ZERO} * 4096).fill(1).fill(0); // touched, so resident
    globalThis.keep = [same, zero];
    process.stdout.write("ready\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) resolve(); });
    child.on("exit", (code) => reject(new Error(`filler exited with ${code}`)));
  });
  return child;
}

describe("memvirt capture-pages", () => {
  it.skipIf(!isRoot)(`captures a live process: finds its identical pages and zero pages${skipNote(isRoot, "needs root to read another process's memory")}`, async () => {
    const child = await startFiller();
    const dir = tempDir("memvirt-capture-");
    const out = path.join(dir, "filler.mvpages.gz");
    const r = runCli(["capture-pages", "--pid", String(child.pid), "--out", out, "--keep-bytes", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ file: out, pid: child.pid, command: "node", keptBytes: true, pageSizeBytes: 4096 });
    expect(data.zeroPages).toBeGreaterThanOrEqual(ZERO - 1);
    const snap = readSnapshot(out);
    expect(snap.pageCount).toBe(data.pages);
    expect(snap.zeroPages).toBe(data.zeroPages);
    const patternHash = XXH64_HASHER.hash(Buffer.alloc(4096, PATTERN));
    const same = [...snap.hashes.keys()].filter((i) => snap.hash(i) === patternHash);
    // The buffer need not start on a page boundary: at least IDENTICAL − 1 whole pages lie inside it.
    expect(same.length).toBeGreaterThanOrEqual(IDENTICAL - 1);
    for (const i of same) {
      expect(Buffer.from(snap.page(i)!).equals(Buffer.alloc(4096, PATTERN))).toBe(true);
      expect(["anon", "heap"]).toContain(snap.kind(i));
    }
    for (let i = 0; i < snap.pageCount; i++) if (snap.isZero(i)) expect(snap.page(i)!.every((b) => b === 0)).toBe(true);
    // And `sharing` counts them: at least IDENTICAL − 2 pattern pages and ZERO − 2 zero pages are savable.
    const s = JSON.parse(runCli(["sharing", out, "--json"]).stdout);
    expect(s.overall.savablePages).toBeGreaterThanOrEqual(IDENTICAL - 2 + ZERO - 2);
    expect(s.contentsComparedBy).toBe("bytes");
  });

  it.skipIf(!isRoot)(`writes hashes only by default, and prints a summary${skipNote(isRoot, "needs root")}`, async () => {
    const child = await startFiller();
    const out = path.join(tempDir("memvirt-capture-"), "filler.mvpages");
    const r = runCli(["capture-pages", "--pid", String(child.pid), "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^pid ${child.pid} \\(node\\): [\\d,]+ resident pages \\([\\d.]+ MiB\\) in [\\d,]+ mappings, [\\d,]+ of them zero pages\\n`));
    expect(r.stdout).toMatch(/\nby mapping: anon [\d,]+, file [\d,]+, heap/);
    expect(r.stdout).toContain(`written to ${out} (`);
    expect(r.stdout).toContain("hashes only)");
    expect(readSnapshot(out).bytes).toBeUndefined();
  });

  it.skipIf(!(isRoot && hasSetpriv))(`says, as a user other than root, that reading another process's pages needs root${skipNote(isRoot && hasSetpriv, "needs root and setpriv to become nobody")}`, async () => {
    const child = await startFiller();
    const dir = tempDir("memvirt-capture-");
    fs.chmodSync(dir, 0o777);
    const argv = cliArgv(["capture-pages", "--pid", String(child.pid), "--out", path.join(dir, "x.mvpages")]);
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...argv], { encoding: "utf8", env: { ...process.env, HOME: dir, NODE_NO_WARNINGS: "1" }, timeout: 60_000 });
    expect(r.stderr).toBe(`memvirt: error: --pid: cannot read /proc/${child.pid}/maps: permission denied (EACCES); not root: reading another process's pages needs root, run capture-pages as root (got ${child.pid})\n`);
    expect(r.status).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses bad flags with one line naming the flag, before reading anything", () => {
    const dir = tempDir("memvirt-capture-");
    const out = path.join(dir, "x.mvpages");
    const cases: Array<[string[], string]> = [
      [["--out", out], "memvirt: error: --pid: which process? give --pid PID\n"],
      [["--pid", "1"], "memvirt: error: --out: where to write the snapshot? give --out FILE (e.g. p.mvpages.gz)\n"],
      [["--pid", "abc", "--out", out], 'memvirt: error: --pid: expected an integer (got "abc")\n'],
      [["--pid", "0", "--out", out], 'memvirt: error: --pid: a process id is a positive integer (got "0")\n'],
      // Above the largest pid_max Linux allows (2^22), so no such process can exist.
      [["--pid", "4194305", "--out", out], "memvirt: error: --pid: no such process (no /proc/4194305) (got 4194305)\n"],
      [["--pid", String(process.pid), "--out", path.join(dir, "no-dir", "x.mvpages")], `memvirt: error: --out: output directory ${path.join(dir, "no-dir")} does not exist (got ${JSON.stringify(path.join(dir, "no-dir", "x.mvpages"))})\n`],
      [["--pid", "1", "--pid", "2", "--out", out], "memvirt: error: --pid: given 2 times; give it once\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = runCli(["capture-pages", ...args]);
      expect(r.stderr).toBe(stderr);
      expect(r.code).toBe(2);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("has --help", () => {
    const r = runCli(["capture-pages", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--keep-bytes");
    expect(r.stdout).toContain("root only");
  });
});
