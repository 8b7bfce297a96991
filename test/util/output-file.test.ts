import { afterAll, describe, expect, it, vi } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { checkOutputFile, describeFsError, openOutputFile, resolveOutputTarget } from "../../src/util/output-file";
import { MemvirtError } from "../../src/util/errors";

const root = path.resolve(__dirname, "..", "..");
const fixture = path.join(__dirname, "fixtures", "write-output.ts");
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memvirt-out-"));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run the fixture, optionally under a file-size limit (writes past it fail with EFBIG). */
function runFixture(args: string[], fileSizeLimitKiB?: number) {
  const cmd = [process.execPath, "--import", "tsx", fixture, ...args].map((a) => `'${a}'`).join(" ");
  // bash counts `ulimit -f` in 1024-byte blocks.
  const script = `${fileSizeLimitKiB === undefined ? "" : `ulimit -f ${fileSizeLimitKiB}; `}exec ${cmd}`;
  return spawnSync("bash", ["-c", script], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
}

const listDir = (dir: string) => fs.readdirSync(dir).sort();

describe("openOutputFile", () => {
  it("replaces the target only on commit, with everything written", () => {
    const dir = tempDir();
    const target = path.join(dir, "r.csv");
    fs.writeFileSync(target, "old\n");
    const out = openOutputFile(target);
    out.write("t,vm\n");
    out.write("0,web\n");
    expect(fs.readFileSync(target, "utf8")).toBe("old\n");
    out.commit();
    expect(fs.readFileSync(target, "utf8")).toBe("t,vm\n0,web\n");
    expect(listDir(dir)).toEqual(["r.csv"]);
  });

  it("makes the file durable before the rename, and the rename after it", () => {
    const dir = tempDir();
    const target = path.join(dir, "r.csv");
    // Spy on the CommonJS fs object and push the spies into the ESM view the module uses.
    const cjs = require("node:fs") as typeof fs;
    const calls: string[] = [];
    const fsync = vi.spyOn(cjs, "fsyncSync").mockImplementation((fd) => { calls.push(`fsync ${fs.fstatSync(fd).isDirectory() ? "dir" : "file"}`); });
    const rename = vi.spyOn(cjs, "renameSync");
    rename.mockImplementation((from, to) => { calls.push("rename"); rename.mockRestore(); syncBuiltinESMExports(); cjs.renameSync(from, to); });
    syncBuiltinESMExports();
    try {
      const out = openOutputFile(target);
      out.write("x\n");
      out.commit();
    } finally {
      fsync.mockRestore();
      rename.mockRestore();
      syncBuiltinESMExports();
    }
    expect(calls).toEqual(["fsync file", "rename", "fsync dir"]);
    expect(fs.readFileSync(target, "utf8")).toBe("x\n");
  });

  it("writes to disk as the text grows, not all at the end", () => {
    const dir = tempDir();
    const target = path.join(dir, "big.json");
    const out = openOutputFile(target, { bufferBytes: 64 * 1024 });
    const line = `${"y".repeat(1023)}\n`;
    for (let i = 0; i < 1024; i++) out.write(line); // 1 MiB
    const tmp = listDir(dir).filter((f) => f.endsWith(".tmp"));
    expect(tmp).toHaveLength(1);
    expect(fs.statSync(path.join(dir, tmp[0])).size).toBeGreaterThanOrEqual(1024 * 1024 - 64 * 1024);
    expect(fs.existsSync(target)).toBe(false);
    out.commit();
    expect(fs.statSync(target).size).toBe(1024 * 1024);
  });

  it("abort removes the temp file and leaves the old file", () => {
    const dir = tempDir();
    const target = path.join(dir, "r.csv");
    fs.writeFileSync(target, "old\n");
    const out = openOutputFile(target);
    out.write("new\n");
    out.abort();
    out.abort();
    expect(listDir(dir)).toEqual(["r.csv"]);
    expect(fs.readFileSync(target, "utf8")).toBe("old\n");
    expect(() => out.write("more")).toThrow(/already closed/);
  });

  it("writes through a symlink: the link stays, its file gets the results, with its permissions", () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "real"));
    const real = path.join(dir, "real", "r.csv");
    fs.writeFileSync(real, "old\n", { mode: 0o600 });
    fs.chmodSync(real, 0o600);
    const link = path.join(dir, "link.csv");
    fs.symlinkSync(path.join("real", "r.csv"), link);
    expect(resolveOutputTarget(link)).toEqual({ target: real, kind: "file" });
    const out = openOutputFile(link);
    out.write("new\n");
    out.commit();
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, "utf8")).toBe("new\n");
    expect(fs.statSync(real).mode & 0o777).toBe(0o600);
  });

  it("writes a device in place (renaming over it would replace the device node)", () => {
    const out = openOutputFile("/dev/null");
    out.write("anything");
    out.commit();
    expect(fs.statSync("/dev/null").isCharacterDevice()).toBe(true);
  });

  it("reports a full disk as one line naming the file", () => {
    const dir = tempDir();
    const link = path.join(dir, "full.csv");
    fs.symlinkSync("/dev/full", link);
    const out = openOutputFile(link);
    out.write("x".repeat(10));
    let err: unknown;
    try {
      out.commit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemvirtError);
    expect((err as MemvirtError).message).toBe(`--out: cannot write ${link}: no space left on device (ENOSPC)`);
    expect((err as MemvirtError).exitCode).toBe(1);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  });

  // The failure comes from the kernel part-way through the write: a file-size limit (EFBIG)
  // lets the first 64 KiB through and refuses the rest. A plain (non-atomic) write would leave
  // the target truncated to 64 KiB.
  it.each([["stream"], ["whole"]])("a write that fails part-way (%s) leaves the old file and no temp file", (mode) => {
    const dir = tempDir();
    const target = path.join(dir, "r.json");
    fs.writeFileSync(target, "old results\n");
    const r = runFixture([mode, target, String(1 << 20)], 64);
    expect(r.stderr).toBe(`--out: cannot write ${target}: file too large (EFBIG); the old file is unchanged\n`);
    expect(r.status).toBe(1);
    expect(fs.readFileSync(target, "utf8")).toBe("old results\n");
    expect(listDir(dir)).toEqual(["r.json"]);
    // Without the limit the same write succeeds.
    const ok = runFixture([mode, target, String(1 << 20)]);
    expect(ok.status).toBe(0);
    expect(fs.statSync(target).size).toBeGreaterThanOrEqual(1 << 20);
  }, 60_000);

  it.each([["SIGTERM"], ["SIGINT"], ["SIGHUP"]])("a %s during the write removes the temp file, keeps the old file, and still kills", (signal) => {
    const dir = tempDir();
    const target = path.join(dir, "r.csv");
    fs.writeFileSync(target, "old\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", fixture, "signal", target, signal], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.stdout).toBe("writing\n");
    expect(r.signal).toBe(signal);
    expect(listDir(dir)).toEqual(["r.csv"]);
    expect(fs.readFileSync(target, "utf8")).toBe("old\n");
  }, 60_000);
});

describe("checkOutputFile", () => {
  it("refuses a missing directory, a directory, and a folder that takes no files, before any work", (ctx) => {
    const dir = tempDir();
    expect(() => checkOutputFile(path.join(dir, "missing", "r.csv"))).toThrow(/^--out: output directory .*missing does not exist \(got /);
    fs.mkdirSync(path.join(dir, "sub.csv"));
    expect(() => checkOutputFile(path.join(dir, "sub.csv"))).toThrow(/^--out: is a directory; give a file name/);
    expect(() => checkOutputFile(`${path.join(dir, "x.csv")}/`)).toThrow(/is a directory/);
    expect(checkOutputFile(path.join(dir, "r.csv"))).toEqual({ target: path.join(fs.realpathSync(dir), "r.csv"), kind: "new" });
    expect(listDir(dir)).toEqual(["sub.csv"]); // the probe file is gone
    // A folder that refuses new files: read-only for a normal user; root ignores modes, so use /sys.
    const locked = path.join(dir, "locked");
    fs.mkdirSync(locked, { mode: 0o555 });
    fs.chmodSync(locked, 0o555);
    let refusing = locked;
    try {
      fs.writeFileSync(path.join(locked, "probe"), "");
      fs.unlinkSync(path.join(locked, "probe"));
      refusing = "/sys";
      try {
        fs.writeFileSync(path.join(refusing, "memvirt-probe"), "");
        fs.unlinkSync(path.join(refusing, "memvirt-probe"));
        ctx.skip("no directory here refuses new files (running as root, /sys writable)");
      } catch { /* /sys refuses: use it */ }
    } catch { /* the locked folder refuses: use it */ }
    expect(() => checkOutputFile(path.join(refusing, "r.csv"))).toThrow(/^--out: cannot create files in .*: (permission denied \(EACCES\)|read-only file system \(EROFS\)|operation not permitted \(EPERM\))/);
  });
});

describe("describeFsError", () => {
  it("gives the reason and the code", () => {
    const err = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    expect(describeFsError(err)).toBe("no space left on device (ENOSPC)");
    expect(describeFsError(Object.assign(new Error("EXYZ: something odd, open '/x'"), { code: "EXYZ" }))).toBe("something odd (EXYZ)");
  });
});
