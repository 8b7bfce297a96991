import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SETUP = path.resolve(__dirname, "..", "..", "src", "scripts", "setup.mjs");

/**
 * Run `setup.mjs --start` in its own process group, killed whole after `timeoutMs` (so that if
 * the check under test broke, the server it would start does not outlive the test).
 */
function start(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { MEMVIRT_TOKEN: _t, MEMVIRT_PORT: _p, ...rest } = process.env;
    // An unusual port: should a broken check let the server start, it stays off the usual 8888.
    const child = spawn(process.execPath, [SETUP, "--start"], { env: { ...rest, MEMVIRT_PORT: "28931", ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => process.kill(-(child.pid as number), "SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("setup.mjs --start", () => {
  it("refuses an empty MEMVIRT_TOKEN with one line and exit 2, before any setup step runs", async () => {
    const r = await start({ MEMVIRT_TOKEN: "" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt setup: MEMVIRT_TOKEN: empty; an empty token would turn Jupyter's authentication off \(.*\)\n$/);
    expect(r.stdout).toBe("");
  });

  it("refuses a short MEMVIRT_TOKEN the same way", async () => {
    const r = await start({ MEMVIRT_TOKEN: "password123" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^memvirt setup: MEMVIRT_TOKEN: too short \(11 characters\); a token must have at least 32 .*\n$/);
  });

  it("refuses a MEMVIRT_PORT that is not a port, before any setup step runs", async () => {
    const r = await start({ MEMVIRT_PORT: "eighty" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('memvirt setup: MEMVIRT_PORT: expected a port number 1-65535 (got "eighty")\n');
  });
});
