import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { cliArgv, runCli } from "./run-cli";

describe("memvirt CLI skeleton", () => {
  it("prints help naming every command", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: memvirt");
    expect(r.stdout).toContain("info");
  });

  it("prints the package version", () => {
    const r = runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(require("../../package.json").version);
  });

  it("gives machine-readable output with --json", () => {
    const r = runCli(["info", "--json"]);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.name).toBe("memvirt");
    expect(data.commands).toContain("info");
  });

  it("gives human text without --json", () => {
    const r = runCli(["info"]);
    expect(r.stdout).toMatch(/^memvirt \d+\.\d+\.\d+ on Node\.js/);
  });

  it("rejects an unknown command with one line on stderr and exit code 2", () => {
    const r = runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("frobnicate");
    expect(r.stdout).toBe("");
  });

  it("rejects an unknown option naming it, exit code 2", () => {
    const r = runCli(["info", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--bogus");
  });

  it("ends quietly when the reader of stdout has gone (memvirt … | true)", () => {
    // `true` exits before memvirt starts, so its first write to stdout fails with EPIPE.
    const argv = cliArgv(["walk", "--json"]);
    const r = spawnSync("bash", ["-c", '"$0" "$@" | true; echo "status ${PIPESTATUS[0]}"', ...argv], { encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("status 0\n");
  });

  it("reports a full stdout (> /dev/full) as one line, exit 1", () => {
    const fd = fs.openSync("/dev/full", "w");
    try {
      const r = runCli(["walk", "--json"], undefined, undefined, { stdoutFd: fd });
      expect(r.stderr).toBe("memvirt: error: cannot write to stdout: no space left on device (ENOSPC)\n");
      expect(r.code).toBe(1);
    } finally {
      fs.closeSync(fd);
    }
  });
});
